"""The pinned metafor references (tests/data/metafor_references.json) and their maker.

Without R, every cross-check against metafor reads its table from the pinned
file (see tests/conftest.py). These tests check that each pinned entry
records its R call, metafor's version and the date, that it is keyed by its
call, and -- where R is installed -- that tests/data/make_references.R run
now reproduces every pinned table.
"""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.conftest import CALLS, DATA, REFERENCES, call_key


def _doc() -> dict:
    return json.loads(REFERENCES.read_text(encoding="utf-8"))


def test_every_entry_records_its_call_version_and_date():
    doc = _doc()
    assert doc["entries"], "no pinned references"
    for key, entry in doc["entries"].items():
        assert set(entry) == {"call", "metafor", "date", "output"}
        assert call_key(entry["call"]) == key
        assert entry["metafor"].startswith("3.8") and len(entry["date"]) == 10
        assert "write.csv" in entry["call"] and entry["output"].strip()


def test_the_calls_to_pin_and_the_pinned_entries_agree():
    calls = json.loads(CALLS.read_text(encoding="utf-8"))
    assert set(calls) == set(_doc()["entries"])


def _frames_equal(a: str, b: str) -> None:
    fa, fb = (pd.read_csv(io.StringIO(t)) for t in (a, b))
    assert list(fa.columns) == list(fb.columns) and fa.shape == fb.shape
    for col in fa.columns:
        x, y = fa[col].to_numpy(), fb[col].to_numpy()
        if x.dtype.kind in "fi" and y.dtype.kind in "fi":
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=0, equal_nan=True)
        else:
            assert x.tolist() == y.tolist()


@pytest.mark.r
def test_make_references_reproduces_the_pinned_tables(metafor_live, tmp_path):
    out = tmp_path / "refs.json"
    res = subprocess.run(["Rscript", "--vanilla", str(DATA / "make_references.R"), str(CALLS),
                          str(out)], capture_output=True, text=True, timeout=900,
                         cwd=DATA.parent.parent)
    assert res.returncode == 0, res.stderr
    live = json.loads(out.read_text(encoding="utf-8"))["entries"]
    pinned = _doc()["entries"]
    assert set(live) == set(pinned)
    for key in pinned:
        _frames_equal(live[key]["output"], pinned[key]["output"])
