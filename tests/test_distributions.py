"""Tests for sleepmeta.distributions: the same numbers as scipy.stats, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from sleepmeta import distributions

EDGE_X = [-np.inf, -40.0, -3.0, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.959963984540054, 3.0, 40.0,
          np.inf, np.nan]
EDGE_Q = [0.0, 1e-300, 1e-12, 0.025, 0.5, 0.975, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan]
EDGE_DF = [0.5, 1.0, 2.0, 3.5, 30.0, 1e6, 0.0, -1.0, np.nan]


def same(a, b) -> bool:
    """Equal to the last bit, NaN where NaN, and the same sign of zero."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(both_nan | ((a == b) & (np.signbit(a) == np.signbit(b)))))


def cases(name: str):
    """(our function, scipy's, argument grid) for each function of one distribution."""
    ours, theirs = getattr(distributions, name), getattr(scipy_stats, name)
    n_df = {"norm": 0, "t": 1, "chi2": 1, "f": 2}[name]
    methods = ("cdf", "sf") if name == "f" else ("cdf", "sf", "ppf", "isf")
    for m in methods:
        first = EDGE_Q if m in ("ppf", "isf") else EDGE_X
        yield m, getattr(ours, m), getattr(theirs, m), first, n_df


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", ["norm", "t", "chi2", "f"])
def test_edge_cases_match_scipy_stats(name):
    for method, ours, theirs, first, n_df in cases(name):
        grids = np.meshgrid(first, *([EDGE_DF] * n_df), indexing="ij")
        args = [g.ravel() for g in grids]
        assert same(ours(*args), theirs(*args)), (name, method)
        for row in zip(*args):  # scalars give scalars, as scipy.stats
            got, want = ours(*row), theirs(*row)
            assert np.ndim(got) == 0 and same(got, want), (name, method, row)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-60, 60, allow_nan=False), q=st.floats(0, 1),
       df=st.floats(0.05, 1e4), df2=st.floats(0.05, 1e4))
def test_random_arguments_match_scipy_stats(x, q, df, df2):
    assert same(distributions.norm.sf(x), scipy_stats.norm.sf(x))
    assert same(distributions.norm.isf(q), scipy_stats.norm.isf(q))
    assert same(distributions.t.sf(x, df), scipy_stats.t.sf(x, df))
    assert same(distributions.t.ppf(q, df), scipy_stats.t.ppf(q, df))
    assert same(distributions.t.isf(q, df), scipy_stats.t.isf(q, df))
    assert same(distributions.chi2.sf(abs(x), df), scipy_stats.chi2.sf(abs(x), df))
    assert same(distributions.chi2.ppf(q, df), scipy_stats.chi2.ppf(q, df))
    assert same(distributions.f.sf(abs(x), df, df2), scipy_stats.f.sf(abs(x), df, df2))


def test_zero_is_positive_zero_as_in_scipy_stats():
    # t.isf(0.5) is -stdtrit(df, 0.5) = -0.0 in scipy.special; scipy.stats gives +0.0
    assert np.signbit(scipy_stats.t.isf(0.5, 4)) == np.signbit(distributions.t.isf(0.5, 4))
    assert not np.signbit(distributions.t.isf(0.5, 4))


#: The modules ``sleepmeta pool``, ``report`` and ``simulate`` import (issue 12: scipy.stats and
#: scipy.optimize cost about 0.5 s of start-up; neither is needed to start a command).
COMMAND_MODULES = ["sleepmeta.distributions", "sleepmeta.cli", "sleepmeta.review.build",
                   "sleepmeta.review.analyse", "sleepmeta.review.certainty",
                   "sleepmeta.review.payload", "sleepmeta.review.dose_curves",
                   "sleepmeta.pooling.api", "sleepmeta.pooling.counts",
                   "sleepmeta.pooling.multilevel", "sleepmeta.dose", "sleepmeta.plots",
                   "sleepmeta.plots.dose_response", "sleepmeta.plots.rob",
                   "sleepmeta.scale.runner"]


def test_command_modules_do_not_import_scipy_stats_or_optimize():
    import subprocess
    import sys

    code = (f"import importlib, sys; [importlib.import_module(m) for m in {COMMAND_MODULES!r}]; "
            "print(sorted(m for m in ('scipy.stats', 'scipy.optimize') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
