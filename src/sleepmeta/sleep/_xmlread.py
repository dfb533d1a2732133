"""Parsing XML scoring files safely, shared by the NSRR, Profusion and Embla readers.

The file size is checked before parsing (a scoring file is kilobytes to a
few megabytes); Python's expat refuses external entities and bounds entity
expansion, so a hostile file cannot read other files or blow up memory.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sleepmeta.errors import HypnogramError

#: Largest XML scoring file read, in bytes.
MAX_XML_BYTES = 256 * 1024 * 1024


def parse_xml(path: Path, where: str) -> ET.Element:
    """Root element of an XML file; errors name the line and column."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    if size > MAX_XML_BYTES:
        raise HypnogramError(f"{where}: {size:,} bytes, more than the {MAX_XML_BYTES:,} an XML scoring may have")
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, col = exc.position
        raise HypnogramError(f"{where}: not well-formed XML at line {line}, column {col}") from None
    except OSError as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None


def number(text, field: str, label: str, where: str) -> float:
    """A finite number from an element's text, or an error naming the element."""
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        raise HypnogramError(f"{where}: {label}: {field} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise HypnogramError(f"{where}: {label}: {field} {text!r} is not finite")
    return value


def epoch_length(root: ET.Element, where: str, expected) -> float:
    """``EpochLength`` of the file; empty or absent means ``expected`` or 30 s."""
    text = root.findtext("EpochLength")
    if text is None or not text.strip():
        return float(expected) if expected is not None else 30.0
    try:
        epoch = float(text)
    except (ValueError, OverflowError):
        raise HypnogramError(f"{where}: <EpochLength> {text!r} is not a number") from None
    if not np.isfinite(epoch) or epoch <= 0:
        raise HypnogramError(f"{where}: <EpochLength> must be > 0, got {text!r}")
    if expected is not None and abs(epoch - expected) > 1e-6:
        raise HypnogramError(f"{where}: <EpochLength> is {epoch:g} s, but epoch_seconds={expected!r}")
    return epoch


def describe_root(root: ET.Element) -> str:
    """What an XML file holds, for the error of an unknown layout."""
    children = sorted({child.tag for child in root})[:8]
    inside = f" with children <{'>, <'.join(children)}>" if children else " with no children"
    return f"root element <{root.tag}>{inside}"
