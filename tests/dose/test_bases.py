"""Dose bases against Harrell's definition and rms::rcs."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from sleepmeta.dose.bases import DoseBasis, make_basis, rcs_basis
from sleepmeta.errors import InputError, UnknownOptionError


def test_rcs_by_hand_four_knots():
    # knots 0, 10, 20, 40; x = 30. (t_k - t_1)^2 = 1600.
    # col j=1: (30^3 - (30-20)^3 * (40-0)/(40-20) + 0) / 1600 = (27000 - 2000) / 1600 = 15.625
    # col j=2: ((30-10)^3 - 10^3 * (40-10)/20) / 1600 = (8000 - 1500) / 1600 = 4.0625
    out = rcs_basis([30.0], [0, 10, 20, 40])
    assert out.tolist() == [[30.0, 15.625, 4.0625]]


def test_rcs_linear_beyond_last_knot():
    x = np.array([50.0, 60.0, 70.0])
    out = rcs_basis(x, [0, 10, 20, 40])
    assert np.allclose(np.diff(out, n=2, axis=0), 0, atol=1e-9)


def test_percentile_knots_are_r_type7():
    # R: quantile(c(0, 0, 75, 150, 300, 600), c(.1, .5, .9)) = 0, 112.5, 450
    b = make_basis("spline", doses=[0, 0, 75, 150, 300, 600])
    assert b.knots == pytest.approx((0.0, 112.5, 450.0))


def test_basis_errors():
    with pytest.raises(InputError, match="at least 3 increasing"):
        rcs_basis([1.0], [0, 10])
    with pytest.raises(UnknownOptionError):
        make_basis("cubic")
    with pytest.raises(InputError, match="only used by the spline"):
        make_basis("linear", knots=[1, 2, 3])


def test_contrast_is_centred_at_reference():
    b = DoseBasis("quadratic")
    assert b.contrast([3.0], 1.0).tolist() == [[2.0, 8.0]]


@pytest.mark.r
def test_rcs_matches_rms():
    if shutil.which("Rscript") is None or os.environ.get("SLEEPMETA_NO_R", "") not in ("", "0"):
        pytest.skip("R is not installed (or SLEEPMETA_NO_R is set)")
    code = ("if (!requireNamespace('rms', quietly=TRUE)) quit(status=3);"
            "x <- c(0, 40, 75, 120, 300, 450, 600, 800);"
            "m <- unclass(rms::rcs(x, c(75, 150, 300, 600)));"
            "write.csv(matrix(as.numeric(m), length(x)), stdout(), row.names=FALSE)")
    res = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True)
    if res.returncode == 3:
        pytest.skip("R package rms is not installed")
    ref = np.loadtxt(res.stdout.splitlines()[1:], delimiter=",")
    ours = rcs_basis([0, 40, 75, 120, 300, 450, 600, 800], [75, 150, 300, 600])
    assert ours == pytest.approx(ref, rel=1e-12)
