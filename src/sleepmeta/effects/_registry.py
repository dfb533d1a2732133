"""The two small types behind the measure registry.

A :class:`Family` knows the column arguments a group of measures takes, the
rules they must obey, and how to prepare them (a continuity correction for
counts). A :class:`Measure` is one function ``yi, vi = compute(**prepared)``
with its family and its default continuity correction ``add`` (as in
metafor's ``escalc``). Adding a measure is one function and one line in the
``MEASURES`` dict of its family module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Arrays = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Family:
    """Columns, rules and preparation shared by a group of measures.

    ``validate(arrays, labels, measure)`` raises for the first bad study;
    ``prepare(arrays, add)`` returns the keyword arguments of the measure
    functions and a boolean array flagging the studies that were corrected.
    """

    name: str
    columns: tuple[str, ...]
    validate: Callable[[Arrays, Sequence[str], str], None]
    prepare: Callable[[Arrays, float], tuple[dict[str, np.ndarray], np.ndarray]]
    zero_rule: str = ""


@dataclass(frozen=True)
class Measure:
    """One effect-size measure: ``compute(**prepared) -> (yi, vi)``.

    ``label`` is its display name on the natural scale (a plot axis, a
    table); ``log_scale`` says that ``yi`` is a logarithm, shown
    back-transformed with ``exp``; ``null`` is the value of "no effect" on
    the natural scale (1 for ratios, 0 for differences, ``None`` where the
    measure has none, e.g. a single proportion).
    """

    compute: Callable[..., tuple[np.ndarray, np.ndarray]]
    description: str
    family: Family
    add: float = 0.0
    label: str = ""
    log_scale: bool = False
    null: float | None = 0.0

    @property
    def columns(self) -> tuple[str, ...]:
        """The column arguments the measure takes."""
        return self.family.columns


def no_correction(arrays: Arrays, add: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Preparation for measures without a continuity correction."""
    k = len(next(iter(arrays.values())))
    return dict(arrays), np.zeros(k, dtype=bool)
