"""Tests for sleepmeta.effects.columns via the public effect_size boundary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.effects import effect_size
from sleepmeta.errors import ColumnError, InputError, UnknownOptionError

FRAME = pd.DataFrame(
    {
        "study": ["Roth 2012", "Holsboer 2005", "Lee 2019"],
        "m_t": [10.0, 12.0, np.nan],
        "sd_t": [2.0, 3.0, 2.5],
        "n_t": [20, 30, 25],
        "m_c": [8.0, 11.0, 9.0],
        "sd_c": [2.0, 2.5, 2.0],
        "n_c": [21, 29, 24],
    }
)
NAMES = dict(mean1="m_t", sd1="sd_t", n1="n_t", mean2="m_c", sd2="sd_c", n2="n_c")


def test_column_missing_from_data_names_it_and_lists_available():
    with pytest.raises(ColumnError, match=r"'sd_x'.*available: study, m_t, sd_t"):
        effect_size("MD", FRAME, **dict(NAMES, sd1="sd_x"))


def test_column_error_is_value_error_and_key_error():
    with pytest.raises(ValueError):
        effect_size("MD", FRAME, **dict(NAMES, sd1="sd_x"))
    with pytest.raises(KeyError):
        effect_size("MD", FRAME, **dict(NAMES, sd1="sd_x"))


def test_missing_required_argument_is_named():
    cols = dict(NAMES)
    del cols["sd2"]
    with pytest.raises(InputError, match=r"needs column argument\(s\) sd2"):
        effect_size("MD", FRAME, **cols)


def test_unexpected_argument_is_named():
    with pytest.raises(InputError, match=r"does not take r"):
        effect_size("MD", FRAME, r="m_t", **NAMES)


def test_unknown_measure_lists_valid_ones():
    with pytest.raises(UnknownOptionError, match=r"unknown measure 'HR'; valid: MD, SMD"):
        effect_size("HR", r=[0.1], n=[10])


def test_unknown_missing_policy():
    with pytest.raises(UnknownOptionError, match=r"missing policy 'skip'"):
        effect_size("COR", r=[0.1], n=[10], missing="skip")


def test_unequal_lengths():
    with pytest.raises(InputError, match=r"same length, got r=2, n=3"):
        effect_size("COR", r=[0.1, 0.2], n=[10, 20, 30])


def test_missing_value_raises_naming_study_and_field():
    with pytest.raises(InputError, match=r"study 'Lee 2019': mean1 is missing"):
        effect_size("MD", FRAME, labels="study", **NAMES)


def test_missing_drop_reports_dropped_labels():
    es = effect_size("MD", FRAME, labels="study", missing="drop", **NAMES)
    assert es.labels == ["Roth 2012", "Holsboer 2005"]
    assert es.dropped == ["Lee 2019"]
    np.testing.assert_allclose(es.yi, [2.0, 1.0])


def test_none_counts_as_missing():
    es = effect_size("COR", r=[0.1, None, 0.3], n=[10, 20, 30], missing="drop")
    assert es.labels == ["1", "3"] and es.dropped == ["2"]


def test_infinite_value_is_an_error_even_with_drop():
    with pytest.raises(InputError, match=r"study '2': n must be finite, got inf"):
        effect_size("COR", r=[0.1, 0.2], n=[10, np.inf], missing="drop")


def test_non_numeric_value():
    with pytest.raises(InputError, match=r"r must be numeric, got 'high'"):
        effect_size("COR", r=[0.1, "high"], n=[10, 20])


def test_labels_default_from_non_range_index():
    frame = FRAME.dropna().set_index("study")
    es = effect_size("MD", frame, **NAMES)
    assert es.labels == ["Roth 2012", "Holsboer 2005"]


def test_labels_default_one_to_k():
    assert effect_size("COR", r=[0.1, 0.2], n=[10, 20]).labels == ["1", "2"]


def test_labels_as_sequence_and_wrong_length():
    assert effect_size("COR", r=[0.1], n=[10], labels=["X"]).labels == ["X"]
    with pytest.raises(InputError, match=r"labels must have one entry per study \(1\), got 2"):
        effect_size("COR", r=[0.1], n=[10], labels=["X", "Y"])


def test_name_without_data():
    with pytest.raises(InputError, match=r"names a column, but no data= was given"):
        effect_size("COR", r="r", n=[10])


def test_arrays_and_names_can_mix_with_data():
    es = effect_size("MD", FRAME.dropna(), **dict(NAMES, sd1=np.array([2.0, 3.0])))
    assert len(es) == 2
