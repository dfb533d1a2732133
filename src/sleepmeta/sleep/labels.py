"""Sleep-stage labels and their integer codes.

Every hypnogram is stored as YASA's integer codes (Vallat & Walker, 2021;
YASA documentation, ``yasa.sleep_statistics``):

====  ==========================================  ===============
code  stage                                       label we write
====  ==========================================  ===============
-2    unscored                                    ``UNS``
-1    artefact / movement time                    ``ART``
 0    wake                                        ``W``
 1    N1 (R&K stage 1)                            ``N1``
 2    N2 (R&K stage 2)                            ``N2``
 3    N3 (R&K stages 3 and 4)                     ``N3``
 4    REM                                         ``R``
 5    sleep, stage not scored (sleep/wake only)   ``S``
====  ==========================================  ===============

Code 5 is ours, not YASA's: it holds the "sleep" of a two-state sleep/wake
series (actigraphy, consumer devices; YASA's ``n_stages=2`` ``SLEEP``).

Accepted on input (case-insensitive, surrounding blanks ignored):

* AASM labels (AASM scoring manual, Iber et al. 2007): ``W``, ``N1``,
  ``N2``, ``N3``, ``R``; also ``WAKE`` and ``REM``.
* Rechtschaffen & Kales (1968) labels: ``S1``, ``S2``, ``S3``, ``S4``
  (S3 and S4 are both N3), ``MT`` (movement time, coded as artefact).
* Sleep-EDF annotation texts: ``Sleep stage W``, ``Sleep stage 1`` ... ``4``,
  ``Sleep stage R``, ``Sleep stage ?``, ``Movement time``.
* luna's and other plain names: ``NREM1`` ... ``NREM4``, ``N4``, ``Stage1``
  ... ``Stage4`` (stages 3 and 4 are N3), ``U`` (unscored), ``M`` (movement),
  and the aliases of luna's HYPNO documentation: ``NR`` (N2), ``missing``
  and ``unknown`` (unscored), the NSRR concepts
  (``Stage 2 sleep|2``, ``Wake|0``, ``REM sleep|5``) and the SDO/SRO names.
* YASA's integer codes ``-2 .. 4`` (as numbers, or as the same digits in a
  text column).
* Sleep/wake series: ``S``, ``SLEEP``, ``ASLEEP`` (code 5).
* Unscored and artefact labels: ``UNS``, ``UNSCORED``, ``?``, ``ND``,
  ``ART``, ``ARTEFACT``, ``ARTIFACT``, ``MOVEMENT``.

Anything else raises :class:`~sleepmeta.errors.HypnogramError` naming the
first offending epoch and its value. Beware: a bare ``4`` is YASA's REM, not
R&K stage 4; write R&K stages as ``S4``. Files of bare digits must say
which coding they use (:data:`CODINGS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError

UNS, ART, WAKE, N1, N2, N3, REM, SLEEP = -2, -1, 0, 1, 2, 3, 4, 5

#: Label written for each code (AASM letters; ART/UNS as in YASA).
CODE_TO_LABEL: dict[int, str] = {UNS: "UNS", ART: "ART", WAKE: "W", N1: "N1", N2: "N2", N3: "N3", REM: "R", SLEEP: "S"}

_ALIASES: dict[str, int] = {
    # AASM
    "w": WAKE, "wake": WAKE, "n1": N1, "n2": N2, "n3": N3, "r": REM, "rem": REM,
    # Rechtschaffen & Kales
    "s1": N1, "s2": N2, "s3": N3, "s4": N3, "mt": ART,
    # Sleep-EDF annotation texts
    "sleep stage w": WAKE, "sleep stage 1": N1, "sleep stage 2": N2,
    "sleep stage 3": N3, "sleep stage 4": N3, "sleep stage r": REM,
    "sleep stage n1": N1, "sleep stage n2": N2, "sleep stage n3": N3,
    "sleep stage ?": UNS, "movement time": ART, "sleep stage 3/4": N3, "sleep stage mt": ART,
    # luna / NSRR plain names, and the aliases luna's HYPNO documentation lists (NR is N2 there;
    # missing/unknown are '?'; its 'A' for artifact is left out: devices use A for awake)
    "nrem1": N1, "nrem2": N2, "nrem3": N3, "nrem4": N3, "n4": N3, "stage1": N1, "stage2": N2,
    "stage3": N3, "stage4": N3, "u": UNS, "m": ART, "nr": N2, "missing": UNS, "unknown": UNS,
    "stage 1 sleep|1": N1, "stage 2 sleep|2": N2, "stage 3 sleep|3": N3, "stage 4 sleep|4": N3,
    "rem sleep|5": REM, "wake|0": WAKE, "sdo:wakestate": WAKE, "sro:wake": WAKE,
    "sdo:nonrapideyemovementsleep-n1": N1, "sdo:nonrapideyemovementsleep-n2": N2,
    "sdo:nonrapideyemovementsleep-n3": N3, "sdo:nonrapideyemovementsleep-n4": N3,
    "sdo:rapideyemovementsleep": REM, "sro:stage1sleep": N1, "sro:stage2sleep": N2,
    "sro:stage3sleep": N3, "sro:stage4sleep": N3, "sro:rapideyemovement": REM,
    # unscored / artefact
    "uns": UNS, "unscored": UNS, "?": UNS, "nd": UNS,
    "art": ART, "artefact": ART, "artifact": ART, "movement": ART,
    # sleep/wake series
    "s": SLEEP, "sleep": SLEEP, "asleep": SLEEP,
}
_ALIASES.update({str(c): c for c in range(-2, 5)})

_VALID_TEXT = "W, N1, N2, N3, R/REM, S1-S4, MT, ART, UNS, ?, S (sleep) or YASA codes -2..4"

#: Digit codings of stage files. ``"rk"``: Rechtschaffen & Kales digits as
#: Sleep-EDF, NSRR and Compumedics Profusion store them (0 W, 1-4 stages 1-4,
#: 5 REM, 6 movement time, 9 unscored); ``"yasa"``: YASA's integers (-2
#: unscored, -1 artefact, 0 W, 1 N1, 2 N2, 3 N3, 4 REM).
CODINGS: dict[str, dict[int, int]] = {
    "rk": {0: WAKE, 1: N1, 2: N2, 3: N3, 4: N3, 5: REM, 6: ART, 7: UNS, 9: UNS},
    "yasa": {c: c for c in range(-2, 5)},
}


def _lookup(value: object) -> int | None:
    """Code of one label, or None when the label is not a sleep stage."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if -2 <= value <= 4 else None
    if isinstance(value, (float, np.floating)):
        if np.isfinite(value) and float(value).is_integer() and -2 <= value <= 4:
            return int(value)
        return None
    if isinstance(value, str):
        return _ALIASES.get(" ".join(value.split()).lower())
    return None


def stage_code(value: object) -> int | None:
    """Code of one stage label, or None when it is not a sleep stage.

    >>> stage_code("Sleep stage 4"), stage_code("REM"), stage_code("lights"), stage_code(True)
    (3, 4, None, None)
    """
    return _lookup(value)


def digit_codes(values, coding: str | None, *, where: str = "", unit: str = "line", first: int = 1) -> np.ndarray:
    """Codes of a column of digit stages under an explicit ``coding``.

    A bare ``4`` is R&K stage 4 in Sleep-EDF/NSRR/Profusion files and REM in
    YASA's; guessing would silently swap N3 and REM, so ``coding`` is
    required.

    >>> digit_codes(["0", "1", "4", "5"], "rk").tolist()
    [0, 1, 3, 4]
    >>> digit_codes(["0", "1", "4"], "yasa").tolist()
    [0, 1, 4]
    """
    prefix = f"{where}: " if where else ""
    if coding is None:
        raise HypnogramError(
            f"{prefix}stages are bare digits, which mean different stages in different codings "
            "(4 is R&K stage 4 in Sleep-EDF/NSRR files but REM in YASA's); pass coding='rk' "
            "(0 W, 1-4 stages 1-4, 5 REM, 6 MT, 9 unscored) or coding='yasa' (-2..4, 4 = REM)"
        )
    table = CODINGS.get(str(coding).lower())
    if table is None:
        raise HypnogramError(f"{prefix}unknown coding {coding!r}; valid: {', '.join(CODINGS)}")
    out = np.empty(len(values), dtype=np.int8)
    memo: dict[str, int] = {}
    for i, value in enumerate(values):
        code = memo.get(value)
        if code is None:
            text = str(value).strip()
            number = int(text) if _is_int(text) else None
            code = table.get(number, 99) if number is not None else 99
            if code == 99:
                raise HypnogramError(
                    f"{prefix}{unit} {first + i}: {text!r} is not a stage of coding {coding!r} "
                    f"(valid: {', '.join(map(str, table))})"
                )
            memo[value] = code
        out[i] = code
    return out


def _is_int(text: str) -> bool:
    """ASCII integer, optionally signed (a superscript digit is not one)."""
    body = text[1:] if text[:1] in "+-" else text
    return body.isascii() and body.isdigit()


def is_digit_stage(text: str) -> bool:
    """True for an ASCII integer such as ``"4"`` or ``"-1"``.

    >>> is_digit_stage("4"), is_digit_stage("N2"), is_digit_stage("\u00b2")
    (True, False, False)
    """
    return _is_int(str(text).strip())


def to_codes(stages, *, where: str = "", unit: str = "epoch", first: int = 0) -> np.ndarray:
    """Convert sleep-stage labels to YASA's integer codes.

    Parameters
    ----------
    stages : array_like
        One label per epoch (see the module docstring for what is accepted).
    where : str, optional
        Context put in front of an error message, e.g. ``"file 'a.csv'"``.
    unit, first : str, int
        How an error names the position: ``f"{unit} {first + i}"`` (default
        ``epoch i``, 0-based); a reader passes e.g. ``"line", 2``.

    Returns
    -------
    numpy.ndarray
        ``int8`` codes, one per epoch.

    Raises
    ------
    HypnogramError
        For the first epoch whose label is not a sleep stage, naming the
        epoch index (0-based) and the value.

    Examples
    --------
    >>> to_codes(["W", "S1", "n2", "S4", "REM", "MT", "?"]).tolist()
    [0, 1, 2, 3, 4, -1, -2]
    >>> to_codes([0, 2, 4]).tolist()
    [0, 2, 4]
    """
    prefix = f"{where}: " if where else ""
    arr = np.asarray(stages)
    if arr.dtype.kind in "US" and not isinstance(stages, np.ndarray):
        arr = np.asarray(stages, dtype=object)  # keep e.g. True or 5 as given in a mixed list
    if arr.ndim != 1:
        arr = np.asarray(stages, dtype=object)
        if arr.ndim != 1:
            raise HypnogramError(f"{prefix}stages must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "iuf":
        return _numeric_codes(arr, prefix, unit, first)
    codes, uniques = pd.factorize(arr.astype(object), use_na_sentinel=True)
    lut = np.empty(len(uniques) + 1, dtype=np.int16)
    lut[-1] = 99  # the NA sentinel (-1) indexes the last slot
    for i, value in enumerate(uniques):
        code = _lookup(value)
        lut[i] = 99 if code is None else code
    out = lut[codes]
    bad = np.flatnonzero(out == 99)
    if bad.size:
        i = int(bad[0])
        value = arr[i].item() if isinstance(arr[i], np.generic) else arr[i]
        raise HypnogramError(
            f"{prefix}{unit} {first + i}: unknown sleep stage {value!r}; valid: {_VALID_TEXT}"
        )
    return out.astype(np.int8)


def _numeric_codes(arr: np.ndarray, prefix: str, unit: str, first: int) -> np.ndarray:
    """Validate a numeric array of YASA codes."""
    if arr.dtype.kind == "f":
        ok = np.isfinite(arr) & (arr == np.round(arr)) & (arr >= -2) & (arr <= 4)
    else:
        ok = (arr >= -2) & (arr <= 4)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise HypnogramError(
            f"{prefix}{unit} {first + i}: unknown sleep stage {arr[i].item()!r}; valid: {_VALID_TEXT}"
        )
    return arr.astype(np.int8)


def to_labels(codes) -> np.ndarray:
    """Convert integer codes back to the labels this package writes.

    Examples
    --------
    >>> to_labels([0, 1, 2, 3, 4, -1, -2]).tolist()
    ['W', 'N1', 'N2', 'N3', 'R', 'ART', 'UNS']
    """
    table = np.array([CODE_TO_LABEL[c] for c in range(-2, 6)], dtype=object)
    return table[np.asarray(codes, dtype=np.int64) + 2]
