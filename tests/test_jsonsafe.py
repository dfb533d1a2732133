"""Tests for sleepmeta.jsonsafe: the one JSON cleaner."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sleepmeta.jsonsafe import clean


def test_clean_makes_plain_json_values():
    got = clean({1: np.float32(0.5), "n": pd.NA, "t": (np.bool_(False), np.int8(3)),
                 "a": np.array([[1.0, np.inf]]), "s": "x", "o": object})
    assert got == {"1": 0.5, "n": None, "t": [False, 3], "a": [[1.0, None]], "s": "x",
                   "o": str(object)}
    json.dumps(got, allow_nan=False)
