"""Two-group estimators of trial contrasts."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.errors import InputError
from sleepmeta.trials.estimators import welch


def test_welch_df_is_finite_for_tiny_variances():
    # issue 11: tiny values (1e-150 here; squares stay normal floats) made a**2 underflow to 0 and df = 0/0 = NaN.
    # Scaling every value by c scales both variances by c^2 and leaves Welch's df unchanged,
    # so the df of the tiny data equals the df of the same data at unit scale.
    x1, x2 = np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0])
    tiny = welch(x1 * 1e-150, x2 * 1e-150)
    assert np.isfinite(tiny["df"]) and tiny["df"] == pytest.approx(welch(x1, x2)["df"], rel=1e-12)
    # the doctest's hand value: a = 1/3, b = 1; df = (4/3)^2 / ((1/3)^2/2 + 1) = 1.6842...
    assert welch(x1, x2)["df"] == pytest.approx((4 / 3) ** 2 / ((1 / 3) ** 2 / 2 + 1), rel=1e-12)


def test_welch_overflowing_variance_is_a_typed_error():
    with pytest.raises(InputError, match="variance overflows"):
        welch([1e200, -1e200, 3e200], [0.0, 1.0])
