"""Trial-level estimators: regression tests for extreme but valid inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sleepmeta.trials.estimators import welch


@pytest.mark.parametrize("scale", [1.0, 1e-80, 1e-150, 1e-155, 1e100])
def test_welch_df_is_finite_and_scale_free_for_tiny_variances(scale):
    # issue 11: variances near 1e-160 made a^2 underflow and df (and the CI) NaN.
    # Welch-Satterthwaite df is invariant to a common scale of the data; by hand for
    # x1 = [1, 2, 3], x2 = [0, 2]: a = 1/3, b = 1, df = (4/3)^2 / ((1/3)^2/2 + 1^2/1)
    # = (16/9) / (19/18) = 32/19.
    r = welch(np.array([1.0, 2.0, 3.0]) * scale, np.array([0.0, 2.0]) * scale)
    assert math.isfinite(r["df"]) and r["df"] == pytest.approx(32 / 19, rel=1e-12)
    assert r["se"] == pytest.approx(math.sqrt(4 / 3) * scale, rel=1e-12)


def test_welch_overflowing_variance_is_a_typed_error():
    from sleepmeta.errors import InputError

    with pytest.raises(InputError, match="variance overflows"):
        welch([1e200, -1e200, 3e200], [0.0, 1.0])
