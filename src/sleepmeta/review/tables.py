"""Read an extraction table and check every number in it against the data dictionary.

An extraction table is typed by hand from papers, so its cells carry what
people type: ``fifty``, ``30%``, ``-10,5``, ``150mg``, ``<0.001``, a negative
SD, a difference outside its own CI. Each is refused here, once, with a
:class:`~sleepmeta.errors.SpecError` naming the file, the line, the study,
the column and the rule -- never read as NaN, never a traceback. (A bound
such as ``<0.001`` belongs in ``p_value_text``, which is text.)

The rules (``sleepmeta/data/pregabalin/README.md`` documents the columns):

=================================================  ======================================
columns                                            rule
=================================================  ======================================
every numeric column below                         a finite number with ``|x| <= 1e12``
``n_treat``, ``n_ctrl``                            ``>= 1``, whole numbers
``sd_*``, ``se_*``, ``diff_se``                    ``>= 0``
``events_*``                                       whole, ``>= 0`` and ``<= n`` of the arm
``pct_*``                                          in ``[0, 100]``
``p_value``                                        in ``[0, 1]``
``diff_ci_low``, ``diff``, ``diff_ci_high``        ``low <= high`` and ``low <= diff <= high``
``dose_min_mg``, ``dose_max_mg``, ``weeks``        ``>= 0``, ``dose_min_mg <= dose_max_mg``
=================================================  ======================================
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from sleepmeta.errors import SpecError

__all__ = ["NUMERIC", "REQUIRED", "check_against_data", "check_numbers", "check_studies",
           "read_table"]

#: The numeric columns of the data dictionary (checked when present).
NUMERIC = ("weeks", "dose_min_mg", "dose_max_mg", "n_treat", "n_ctrl", "mean_treat", "sd_treat",
           "se_treat", "mean_ctrl", "sd_ctrl", "se_ctrl", "diff", "diff_ci_low", "diff_ci_high",
           "diff_se", "p_value", "events_treat", "events_ctrl", "pct_treat", "pct_ctrl")
#: The columns each table role must have.
REQUIRED = {
    "efficacy": ("study_id", "comparator", "outcome", "condition", "dose_min_mg", "dose_max_mg",
                 "n_treat", "n_ctrl", "notes", "url"),
    "harms": ("study_id", "comparator", "event", "condition", "dose_min_mg", "dose_max_mg",
              "events_treat", "n_treat", "events_ctrl", "n_ctrl", "pct_treat", "pct_ctrl",
              "notes", "url"),
}
#: Largest magnitude of a number in an extraction table.
CELL_MAX = 1e12

_RULES = (
    (("n_treat", "n_ctrl"), lambda x: x >= 1, ">= 1"),
    (("n_treat", "n_ctrl", "events_treat", "events_ctrl"), lambda x: x == np.floor(x),
     "a whole number (a count)"),
    (("sd_treat", "sd_ctrl", "se_treat", "se_ctrl", "diff_se", "events_treat", "events_ctrl",
      "weeks", "dose_min_mg", "dose_max_mg"), lambda x: x >= 0, ">= 0"),
    (("pct_treat", "pct_ctrl"), lambda x: (x >= 0) & (x <= 100), "in [0, 100] (a percent)"),
    (("p_value",), lambda x: (x >= 0) & (x <= 1), "in [0, 1]"),
)


def read_table(path: Path, where: str, reader) -> pd.DataFrame:
    """Read one CSV with ``reader(path)``; an unreadable file is a SpecError naming ``where``."""
    try:
        return reader(path)
    except UnicodeDecodeError as exc:
        raise SpecError(f"{where}: file {path.name!r} is not UTF-8 text (byte {exc.start}: "
                        f"{exc.reason}); save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise SpecError(f"{where}: file {path.name!r} is empty (no header row)") from None
    except (pd.errors.ParserError, csv.Error, ValueError, OverflowError) as exc:
        text = " ".join(str(exc).split())
        raise SpecError(f"{where}: file {path.name!r} is not a readable CSV table: "
                        f"{text}") from None
    except OSError as exc:
        raise SpecError(f"{where}: file {path.name!r} cannot be read: {exc.strerror}") from None


def _where(where: str, name: str, df: pd.DataFrame, i: int, col: str) -> str:
    study = df["study_id"].iloc[i] if "study_id" in df.columns else None
    who = f" (study {study!r})" if isinstance(study, str) else ""
    return f"{where}: file {name!r} line {i + 2}{who}: {col}"


def check_studies(df: pd.DataFrame, where: str, name: str) -> pd.DataFrame:
    """Refuse a row that names no study (an empty ``study_id``); return ``df``.

    >>> check_studies(pd.DataFrame({"study_id": ["A", " "]}), "data.efficacy[0]", "e.csv")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: data.efficacy[0]: file 'e.csv' line 3: study_id is empty; every row must name its study
    """
    if "study_id" in df.columns:
        ids = df["study_id"]
        blank = (ids.isna() | (ids.astype("string").str.strip() == "")).to_numpy(bool)
        if blank.any():
            j = int(np.flatnonzero(blank)[0])
            raise SpecError(f"{where}: file {name!r} line {j + 2}: study_id is empty; every row "
                            "must name its study")
    return df


def check_numbers(df: pd.DataFrame, where: str, name: str) -> pd.DataFrame:
    """Coerce the numeric columns of ``df`` to floats and check the rules above.

    Returns a copy with float columns. ``where`` names the spec key
    (``data.efficacy[0]``), ``name`` the file.

    Examples
    --------
    >>> df = pd.DataFrame({"study_id": ["A"], "sd_treat": ["fifty"]})
    >>> check_numbers(df, "data.efficacy[0]", "e.csv")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: data.efficacy[0]: file 'e.csv' line 2 (study 'A'): sd_treat must be a number, got 'fifty'
    """
    df = df.copy()
    for col in (c for c in NUMERIC if c in df.columns):
        raw = df[col]
        if raw.dtype == bool or raw.map(lambda v: isinstance(v, (bool, np.bool_))).any():
            i = int(np.flatnonzero(raw.map(lambda v: isinstance(v, (bool, np.bool_))))[0])
            raise SpecError(f"{_where(where, name, df, i, col)} must be a number, got "
                            f"{raw.iloc[i]!r}")
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        typed = raw.notna() & ~(raw.astype(str).str.strip() == "")
        bad = typed & values.isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SpecError(f"{_where(where, name, df, i, col)} must be a number, got "
                            f"{raw.iloc[i]!r}")
        big = values.notna() & ~(values.abs() <= CELL_MAX)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise SpecError(f"{_where(where, name, df, i, col)} must be a finite number with "
                            f"|x| <= {CELL_MAX:g}, got {values.iloc[i]!r}")
        df[col] = values
    for cols, ok, rule in _RULES:
        for col in (c for c in cols if c in df.columns):
            values = df[col]
            bad = values.notna() & ~ok(values)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise SpecError(f"{_where(where, name, df, i, col)} must be {rule}, got "
                                f"{values.iloc[i]:g}")
    _pairs(df, where, name)
    return df


def _pairs(df: pd.DataFrame, where: str, name: str) -> None:
    def first(mask) -> int | None:
        mask = mask.fillna(False).to_numpy(bool)
        return int(np.flatnonzero(mask)[0]) if mask.any() else None

    for arm in ("treat", "ctrl"):
        e, n = f"events_{arm}", f"n_{arm}"
        if e in df.columns and n in df.columns and (i := first(df[e] > df[n])) is not None:
            raise SpecError(f"{_where(where, name, df, i, e)} must be <= {n}, got "
                            f"{df[e].iloc[i]:g} > {df[n].iloc[i]:g}")
    if {"dose_min_mg", "dose_max_mg"} <= set(df.columns):
        if (i := first(df["dose_min_mg"] > df["dose_max_mg"])) is not None:
            raise SpecError(f"{_where(where, name, df, i, 'dose_min_mg')} must be <= "
                            f"dose_max_mg, got {df['dose_min_mg'].iloc[i]:g} > "
                            f"{df['dose_max_mg'].iloc[i]:g}")
    if {"diff_ci_low", "diff_ci_high"} <= set(df.columns):
        lo, hi = df["diff_ci_low"], df["diff_ci_high"]
        if (i := first(lo > hi)) is not None:
            raise SpecError(f"{_where(where, name, df, i, 'diff_ci_low')} must be <= "
                            f"diff_ci_high, got {lo.iloc[i]:g} > {hi.iloc[i]:g}")
        if "diff" in df.columns:
            d = df["diff"]
            if (i := first((d < lo) | (d > hi))) is not None:
                raise SpecError(f"{_where(where, name, df, i, 'diff')} must lie inside its own "
                                f"CI [{lo.iloc[i]:g}, {hi.iloc[i]:g}], got {d.iloc[i]:g}")


def check_against_data(spec, tables: dict) -> None:
    """Check the spec against the loaded tables: columns, values, rows.

    ``tables`` maps ``"efficacy"``/``"harms"`` to DataFrames. Raises
    :class:`SpecError` naming the key for an unknown column, an outcome
    that selects no rows, or a direction coding that matches no row.
    """
    for o in spec.outcomes.values():
        df = tables[o.table]
        mask = df["comparator"].notna()  # every row has a comparator
        for col, values in o.select.items():
            if col not in df.columns:
                raise SpecError(f"outcomes.{o.key}.select: unknown column {col!r} in the "
                                f"{o.table} table; columns: {', '.join(map(str, df.columns))}")
            mask &= df[col].astype("string").isin(values).fillna(False).astype(bool)
        if not mask.any():
            raise SpecError(f"outcomes.{o.key}: selects no rows of the {o.table} table "
                            f"({', '.join(f'{c} in {list(v)}' for c, v in o.select.items())})")
    for i, d in enumerate(spec.directions):
        hit = False
        for df in tables.values():
            col = "outcome" if "outcome" in df.columns else "event"
            hit |= bool(((df["study_id"] == d.study) & (df[col] == d.outcome)).any())
        if not hit:
            raise SpecError(f"directions[{i}]: no row with study {d.study!r} and outcome "
                            f"{d.outcome!r}")
