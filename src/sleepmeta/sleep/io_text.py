"""One stage per line: YASA/luna-style text files and Sleep-EDF digit files.

The layout YASA's ``Hypnogram`` and luna's ``.eannot`` files use: one stage
label per line (``W N1 N2 N3 R``, R&K ``S1``-``S4``, ``?``, ...). Lines
starting with ``#`` are headers; ``# epoch_seconds: 30`` (or ``epoch``) and
``# coding: rk`` set the epoch length and the digit coding. Blank lines are
skipped. luna's ``L`` marks epochs outside lights off..lights on: leading
``L`` lines put lights off after them and trailing ``L`` lines put lights on
at the first of them (an ``L`` between scored epochs is an error).

Digit files (Sleep-EDF's and NSRR's R&K digits, YASA's integers) must name
their coding, because ``4`` is R&K stage 4 in the former and REM in the
latter: ``coding="rk"`` (0 W, 1-4 stages 1-4, 5 REM, 6 movement, 9
unscored; ``W``/``R``/``M``/``?`` letters allowed beside the digits) or
``coding="yasa"`` (-2..4). A digit file without one is an error saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep._events import lights_from_file
from sleepmeta.sleep.labels import CODINGS, digit_codes, is_digit_stage, stage_code

FORMAT = "text, one stage per line"
_MAX_BYTES = 512 * 1024 * 1024
_RK_LETTERS = {"w": "0", "r": "5", "m": "6", "?": "9"}


def read_hypnogram_text(path, *, coding: str | None = None, epoch_seconds: float | None = None,
                        name: str | None = None) -> Hypnogram:
    """Read a one-stage-per-line text hypnogram.

    Parameters
    ----------
    path : str or Path
    coding : {"rk", "yasa"}, optional
        Meaning of digit stages (required when the file has any); a
        ``# coding:`` header may give it instead.
    epoch_seconds : float, optional
        Epoch length (default: the ``# epoch_seconds:`` header, else 30 s).
    name : str, optional
        Name of the night (default: the file name without suffix).

    Returns
    -------
    Hypnogram
        ``format`` is ``"text, one stage per line"`` (with the coding).

    Raises
    ------
    HypnogramError
        Digits without a coding, an unknown stage (naming the line), a bad
        header, an ``L`` between scored epochs, or no epochs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "SC4001.txt"
    >>> _ = p.write_text("# Sleep-EDF digits\\n0\\n1\\n4\\n5\\n")
    >>> read_hypnogram_text(p, coding="rk").labels.tolist()
    ['W', 'N1', 'N3', 'R']
    """
    path = Path(path)
    where = f"file '{path}'"
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise HypnogramError(f"{where}: larger than {_MAX_BYTES:,} bytes; not a hypnogram")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    headers, lines, values = {}, [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line.lstrip("#").partition(":")
            if not sep:
                key, sep, value = line.lstrip("#").partition("=")
            if sep:
                headers[key.strip().lower()] = (value.strip(), number)
            continue
        lines.append(number)
        values.append(line)
    if not values:
        raise HypnogramError(f"{where}: no epochs (only headers or blank lines)")
    if coding is None and "coding" in headers:
        coding = headers["coding"][0]
    epoch = _epoch(epoch_seconds, headers, where)
    kept, lead = _lights(values, lines, where)
    codes = stage_codes(kept, lines[lead: lead + len(kept)], coding, where)
    label = FORMAT if coding is None else f"{FORMAT}, coding {coding!r}"
    n_after = len(values) - lead - len(kept)
    if lead or n_after:  # luna's L epochs: outside the lights period, kept as unscored
        codes = np.concatenate([np.full(lead, -2, np.int8), codes, np.full(n_after, -2, np.int8)])
    h = Hypnogram._trusted(codes, epoch, None, name if name is not None else path.stem, None, label)
    if lead or n_after:
        return lights_from_file(h, lead * epoch, (lead + len(kept)) * epoch, where)
    return lights_from_file(h, None, None, where)


def _epoch(epoch_seconds, headers, where) -> float:
    if epoch_seconds is not None:
        return float(epoch_seconds)
    for key in ("epoch_seconds", "epoch", "epoch_length"):
        if key in headers:
            text, line = headers[key]
            try:
                value = float(text.split()[0])
            except (ValueError, IndexError, OverflowError):
                raise HypnogramError(f"{where}: line {line}: header {key} {text!r} is not a number") from None
            if not np.isfinite(value) or value <= 0:
                raise HypnogramError(f"{where}: line {line}: header {key} must be > 0, got {text!r}")
            return value
    return 30.0


_LIGHTS_ON = {"l", "lights", "lights_on"}  # luna's L and its aliases (luna HYPNO documentation)


def _lights(values, lines, where):
    """Drop luna's leading/trailing ``L`` epochs: ``(kept values, number of leading L)``."""
    is_l = [v.strip().lower() in _LIGHTS_ON for v in values]
    if not any(is_l):
        return values, 0
    lead = next((i for i, x in enumerate(is_l) if not x), len(values))
    trail = next((i for i, x in enumerate(reversed(is_l)) if not x), len(values))
    kept = values[lead: len(values) - trail]
    if not kept:
        raise HypnogramError(f"{where}: every epoch is L (lights on): nothing was scored")
    inner = [k for k, v in enumerate(kept) if v.strip().lower() in _LIGHTS_ON]
    if inner:
        raise HypnogramError(f"{where}: line {lines[lead + inner[0]]}: 'L' (lights on) between scored epochs")
    return kept, lead


def stage_codes(values, lines, coding, where) -> np.ndarray:
    """Codes of stage texts read from a file, each distinct text looked up once.

    Bare digits need ``coding`` (see the module docstring); an unknown
    stage is reported with its line number from ``lines``.

    >>> stage_codes(["W", "N2", "N2"], [2, 3, 5], None, "f").tolist()
    [0, 2, 2]
    """
    uniques, inverse = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    digit = np.array([is_digit_stage(u) for u in uniques], dtype=bool)
    if digit.any() and coding is None:
        line = lines[int(np.flatnonzero(digit[inverse])[0])]
        digit_codes(["0"], None, where=f"{where}: line {line}")  # raises, saying why
    table = None
    if coding is not None:
        table = CODINGS.get(str(coding).lower())
        if table is None:
            raise HypnogramError(f"{where}: unknown coding {coding!r}; valid: {', '.join(CODINGS)}")
    rk = table is CODINGS["rk"]
    lut = np.empty(uniques.size, dtype=np.int16)
    for u, text in enumerate(uniques):
        if rk and text.lower() in _RK_LETTERS:
            text = _RK_LETTERS[text.lower()]
        if is_digit_stage(text):
            code = table.get(int(text))
        else:
            code = stage_code(text)
        lut[u] = 99 if code is None else code
    out = lut[inverse]
    bad = np.flatnonzero(out == 99)
    if bad.size:
        i = int(bad[0])
        valid = f"digits {', '.join(map(str, table))} of coding {coding!r} or stage labels" if table else \
            "W, N1, N2, N3, R/REM, S1-S4, MT, ART, UNS, ?, S"
        raise HypnogramError(f"{where}: line {lines[i]}: unknown sleep stage {values[i]!r}; valid: {valid}")
    return out.astype(np.int8)
