"""Fuzz the pooling API with extreme but finite numbers (issue 18 campaign).

Invariant: finite numbers inside the documented range, or a sleepmeta error
(InputError naming the study outside the range, ModelError/ConvergenceError for
a fit that cannot be computed), within 20 s -- never NaN/inf, never another
exception, never a hang.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sleepmeta.effects import effect_size
from sleepmeta.pooling import meta_analysis, meta_analysis_batch
from sleepmeta.pooling.counts import mantel_haenszel, peto

from tests.fuzz._limits import finite_or_typed, fuzz_settings

FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "h2", "q", "pi_low", "pi_high")
CLOSED_FORM = ["FE", "DL", "HE", "HS", "HSk", "SJ"]
ITERATIVE = ["ML", "REML", "EB", "PM"]
FUZZ = fuzz_settings(60)

# magnitudes spanning the whole double range, as the campaign drew them (1e-300..1e300)
magnitude = st.builds(lambda s, e: s * 10.0 ** e, st.sampled_from([-1.0, 1.0]),
                      st.floats(-300, 300))
extreme = st.one_of(magnitude, st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0.0, 5e-324, 1.7976931348623157e308, 1e-50, 1e50]))
positive = st.one_of(magnitude.map(abs), st.floats(min_value=5e-324, max_value=1e308))


@st.composite
def studies(draw):
    k = draw(st.integers(2, 6))
    return (np.array(draw(st.lists(extreme, min_size=k, max_size=k))),
            np.array(draw(st.lists(positive, min_size=k, max_size=k))))


@FUZZ
@given(studies(), st.sampled_from(CLOSED_FORM), st.sampled_from(["z", "knha"]))
def test_closed_form_estimators_give_finite_numbers_or_typed_errors(data, method, test):
    yi, vi = data
    finite_or_typed(lambda: meta_analysis(yi, vi, method=method, test=test), FIELDS)


@pytest.mark.xfail(reason="REML/ML/EB/PM loops can spin on some extreme inputs (issue 18): "
                          "bounded by the engine's loops rewrite (speed helper)", strict=False)
@fuzz_settings(30)
@given(studies(), st.sampled_from(ITERATIVE))
def test_iterative_estimators_give_finite_numbers_or_typed_errors(data, method):
    yi, vi = data
    finite_or_typed(lambda: meta_analysis(yi, vi, method=method), FIELDS, seconds=10)


@FUZZ
@given(st.lists(studies(), min_size=1, max_size=4), st.sampled_from(CLOSED_FORM))
def test_batches_flag_or_refuse_never_return_nan_for_converged_members(batch, method):
    k = max(y.size for y, _ in batch)
    yi = np.full((len(batch), k), np.nan)
    vi = np.full((len(batch), k), np.nan)
    for b, (y, v) in enumerate(batch):
        yi[b, : y.size], vi[b, : v.size] = y, v
    fit = finite_or_typed(lambda: meta_analysis_batch(yi, vi, ~np.isnan(yi), method=method,
                                                      errors="flag"), ())
    if fit is not None:
        ok = fit.converged
        for name in ("estimate", "se", "ci_low", "ci_high", "tau2"):
            assert np.isfinite(getattr(fit, name)[ok]).all()


cell = st.one_of(extreme, st.integers(-10**30, 10**30), st.booleans(), st.none(),
                 st.sampled_from(["fifty", "30%", "-10,5", "150mg", "<0.001", "", "nan", "1e400"]))


@FUZZ
@given(st.lists(st.tuples(*[cell] * 6), min_size=1, max_size=4))
def test_effect_size_md_from_any_cells(rows):
    cols = list(zip(*rows))
    finite_or_typed(lambda: effect_size("MD", mean1=list(cols[0]), sd1=list(cols[1]),
                                        n1=list(cols[2]), mean2=list(cols[3]),
                                        sd2=list(cols[4]), n2=list(cols[5])), ("yi", "vi"))


count = st.one_of(st.integers(0, 10**6), st.integers(0, 10**40), st.floats(0, 1e300),
                  st.sampled_from([0, 1, 10**12, 10**400]))


@FUZZ
@given(st.lists(st.tuples(count, count, count, count), min_size=1, max_size=4),
       st.sampled_from(["peto", "mh"]))
def test_count_pooling_from_any_counts(tables, how):
    e1, n1, e2, n2 = (list(c) for c in zip(*tables))
    fn = peto if how == "peto" else mantel_haenszel
    finite_or_typed(lambda: fn(e1, n1, e2, n2), ("estimate", "se", "ci_low", "ci_high"))


@FUZZ
@given(st.one_of(st.floats(), st.text(max_size=5), st.none(), st.booleans(), st.integers()))
def test_level_of_any_type(level):
    finite_or_typed(lambda: meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], level=level),
                    FIELDS)
