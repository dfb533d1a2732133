"""Fixtures of the review tests: small hand-made reviews written to a tmp folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

EFF_COLS = ["study_id", "citation", "pmid", "doi", "url", "condition", "design", "weeks",
            "dose_min_mg", "dose_max_mg", "comparator", "outcome", "instrument", "unit", "better",
            "timepoint", "analysis", "n_treat", "n_ctrl", "mean_treat", "sd_treat", "se_treat",
            "mean_ctrl", "sd_ctrl", "se_ctrl", "diff", "diff_ci_low", "diff_ci_high", "diff_se",
            "p_value", "p_value_text", "events_treat", "events_ctrl", "pct_treat", "pct_ctrl",
            "source_location", "notes"]
HARM_COLS = ["study_id", "citation", "pmid", "doi", "url", "condition", "design", "weeks",
             "dose_min_mg", "dose_max_mg", "comparator", "event", "events_treat", "n_treat",
             "events_ctrl", "n_ctrl", "pct_treat", "pct_ctrl", "source_location", "notes"]

BASE_ROW = {"url": "https://example.org/s", "condition": "fibromyalgia", "design": "parallel",
            "comparator": "placebo", "dose_min_mg": 300, "dose_max_mg": 300, "notes": "trial",
            "source_location": "abstract"}


def write_table(path: Path, rows: list, cols: list) -> None:
    df = pd.DataFrame([{**BASE_ROW, **r} for r in rows])
    for c in cols:
        if c not in df:
            df[c] = None
    df[cols].to_csv(path, index=False)


SPEC = """
[review]
title = "Test review"
drug = "drugx"

[data]
efficacy = ["eff.csv"]
harms = ["harm.csv"]

[analysis]
method = "REML"
test = "z"

[outcomes.WASO]
label = "WASO"
table = "efficacy"
select = {{ outcome = ["WASO"] }}
measure = "MD"
better = "lower"
unit = "minutes"

[outcomes.dizziness]
label = "Dizziness"
table = "harms"
select = {{ event = ["dizziness"] }}
measure = "RR"
better = "lower"

[[claims]]
id = "waso"
text = "drugx reduces WASO"
outcomes = ["WASO"]
expects = "benefit"

[[claims]]
id = "dizzy"
text = "drugx causes dizziness"
outcomes = ["dizziness"]
expects = "harm"
{extra}
"""

EFF_ROWS = [
    {"study_id": "A 2001", "outcome": "WASO", "unit": "minutes", "diff": -20.0,
     "diff_ci_low": -30.0, "diff_ci_high": -10.0, "n_treat": 50, "n_ctrl": 50},
    {"study_id": "B 2002", "outcome": "WASO", "unit": "minutes", "mean_treat": 40.0,
     "sd_treat": 12.0, "n_treat": 30, "mean_ctrl": 55.0, "sd_ctrl": 15.0, "n_ctrl": 32},
    {"study_id": "C 2003", "outcome": "WASO", "unit": "minutes", "diff": -8.0, "p_value": 0.04,
     "n_treat": 40, "n_ctrl": 41},
    {"study_id": "D 2004", "outcome": "WASO", "unit": "minutes", "diff": -25.0,
     "p_value_text": "<0.001"},
]
HARM_ROWS = [
    {"study_id": "A 2001", "event": "dizziness", "events_treat": 20, "n_treat": 100,
     "events_ctrl": 5, "n_ctrl": 100},
    {"study_id": "B 2002", "event": "dizziness", "pct_treat": 25.0, "n_treat": 62,
     "pct_ctrl": 8.0, "n_ctrl": 61},
    {"study_id": "E 2005", "event": "dizziness", "events_treat": 9, "n_treat": 40,
     "events_ctrl": 3, "n_ctrl": 38, "dose_min_mg": 150, "dose_max_mg": 150},
]


def make_review(folder: Path, eff_rows=None, harm_rows=None, extra: str = "",
                spec_text: str | None = None) -> Path:
    """Write eff.csv, harm.csv and review.toml into ``folder``; return the spec path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder / "eff.csv", EFF_ROWS if eff_rows is None else eff_rows, EFF_COLS)
    write_table(folder / "harm.csv", HARM_ROWS if harm_rows is None else harm_rows, HARM_COLS)
    spec = folder / "review.toml"
    spec.write_text(spec_text if spec_text is not None else
                    SPEC.format(extra=textwrap.dedent(extra)), encoding="utf-8")
    return spec


@pytest.fixture
def review(tmp_path):
    """A small review (4 WASO rows, 3 dizziness rows) in a tmp folder."""
    return make_review(tmp_path / "rev")
