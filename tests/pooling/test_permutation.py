"""Tests for sleepmeta.pooling.permutation.

Expected numbers: metafor 3.8's ``permutest`` computed in the same run
through the ``metafor`` fixture: with ``exact=TRUE`` the p-values are
deterministic and must agree exactly (same enumeration of sign flips / row
permutations); approximate p-values are random in both programs and are
compared within a tolerance that follows from the binomial standard error
of a proportion over 1000 permutations. Counting arguments done by hand for
the checks without R.
"""

from __future__ import annotations

import math
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError
from sleepmeta.pooling import meta_analysis
from sleepmeta.pooling.permutation import _unique_perms, count_exact


def bcg() -> pd.DataFrame:
    d = pd.read_csv(files("sleepmeta").joinpath("data/bcg.csv"))
    # log risk ratio and its variance (escalc "RR"), written out by hand
    d["yi"] = np.log((d.tpos / (d.tpos + d.tneg)) / (d.cpos / (d.cpos + d.cneg)))
    d["vi"] = 1 / d.tpos - 1 / (d.tpos + d.tneg) + 1 / d.cpos - 1 / (d.cpos + d.cneg)
    d["rnd"] = (d.alloc == "random").astype(float)
    return d


def _tol(p: float, n: int = 1000) -> float:
    # difference of two independent Monte-Carlo proportions: 4.5 SE (+ one permutation's weight)
    return 4.5 * math.sqrt(2 * max(p * (1 - p), 0.01) / n) + 1 / n


def test_unique_permutations_of_a_multiset():
    perms = _unique_perms(np.array([1, 0, 1, 0]))
    assert len(perms) == math.comb(4, 2) == len({tuple(p) for p in perms})


def test_count_exact():
    d = bcg()
    assert count_exact(meta_analysis("yi", "vi", data=d.iloc[:6])) == 2**6
    res = meta_analysis("yi", "vi", data=d.iloc[:8], mods="~ rnd")
    n_rnd = int(d.rnd.iloc[:8].sum())
    assert count_exact(res) == math.comb(8, n_rnd)


def test_exact_sign_flip_by_hand():
    # all yi > 0 (FE): |z| is largest for the all-positive and the all-negative sign vector
    res = meta_analysis([0.2, 0.5, 0.3, 0.4, 0.6], [0.01, 0.02, 0.01, 0.03, 0.02], method="FE")
    perm = res.permutation_test()
    assert perm.exact and perm.n == 32
    assert perm.qm_pvalue == pytest.approx(2 / 32)
    assert perm.pvalues["intrcpt"] == pytest.approx(2 / 32)


def test_approximate_is_seeded_and_bounded():
    res = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat")
    a = res.permutation_test(n=200, seed=1)
    b = res.permutation_test(n=200, seed=1)
    assert not a.exact and a.n == 200 and a.qm_pvalue == b.qm_pvalue
    # the observed model is one of the n: p >= 1/n
    assert a.qm_pvalue >= 1 / 200 and (a.pvalues >= 1 / 200).all()
    assert list(a.pvalues.index) == ["intrcpt", "ablat"]
    with pytest.raises(InputError, match="n must be >= 2"):
        res.permutation_test(n=1)


def test_approximate_agrees_with_exact_within_monte_carlo_error():
    res = meta_analysis("yi", "vi", data=bcg().iloc[:10], method="DL")  # 2^10 = 1024 sign vectors
    exact = res.permutation_test(exact=True)
    approx = res.permutation_test(n=1000, seed=3)
    assert exact.exact and exact.n == 1024 and not approx.exact
    p = exact.qm_pvalue
    assert abs(approx.qm_pvalue - p) < 4.5 * math.sqrt(p * (1 - p) / 1000) + 1e-3


@pytest.fixture(scope="module")
def ref(metafor):
    code = """
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
dat$rnd <- as.numeric(dat$alloc == "random")
d8 <- dat[1:8, ]
a <- permutest(rma(yi, vi, data=d8), exact=TRUE, progbar=FALSE)
b <- permutest(rma(yi, vi, mods=~rnd, data=d8, method="DL"), exact=TRUE, progbar=FALSE)
c <- permutest(rma(yi, vi, mods=~ablat, data=dat[1:6, ], test="knha"), exact=TRUE, progbar=FALSE)
set.seed(42)
e <- permutest(rma(yi, vi, mods=~ablat, data=dat), iter=1000, progbar=FALSE)
out <- data.frame(case=c("a", "b", "b", "c", "c", "e", "e"),
  p=c(a$pval, b$pval, c$pval, e$pval), QMp=c(a$QMp, b$QMp, b$QMp, c$QMp, c$QMp, e$QMp, e$QMp),
  n=c(a$exact.iter, b$exact.iter, b$exact.iter, c$exact.iter, c$exact.iter, NA, NA))
write.csv(out, stdout(), row.names=FALSE)
"""
    return metafor(code)


@pytest.mark.r
@pytest.mark.parametrize("case,mods,method,test", [
    ("a", None, "REML", "z"), ("b", "~ rnd", "DL", "z"), ("c", "~ ablat", "REML", "knha")])
def test_exact_matches_permutest(ref, case, mods, method, test):
    d = bcg().iloc[:6] if case == "c" else bcg().iloc[:8]  # 6! = 720 orders of ablat
    res = meta_analysis("yi", "vi", data=d, mods=mods, method=method, test=test)
    perm = res.permutation_test(exact=True)
    r = ref[ref.case == case]
    assert perm.exact and perm.n == r["n"].iloc[0]
    np.testing.assert_allclose(perm.pvalues.to_numpy(), r["p"].to_numpy(), atol=1e-12)
    assert perm.qm_pvalue == pytest.approx(r["QMp"].iloc[0], abs=1e-12)


@pytest.mark.r
def test_approximate_matches_permutest_within_binomial_error(ref):
    res = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat")
    perm = res.permutation_test(n=1000, seed=7)
    r = ref[ref.case == "e"]
    assert abs(perm.qm_pvalue - r["QMp"].iloc[0]) < _tol(r["QMp"].iloc[0])
    for ours, theirs in zip(perm.pvalues, r["p"]):
        assert abs(ours - theirs) < _tol(theirs)


def test_permuted_models_that_never_fit_end_in_an_error_not_a_loop(monkeypatch):
    # issue 18 (bounded work): the approximate test redraws permuted models that fail; when
    # none can be fitted it must stop with ConvergenceError instead of drawing forever
    import sleepmeta.pooling.registry as est
    from sleepmeta.errors import ConvergenceError
    from sleepmeta.pooling.registry import Control
    from tests._bcg import bcg_frame

    d = bcg_frame()
    res = meta_analysis(d.yi.to_numpy(), d.vi.to_numpy(), mods="~ ablat", data=d)
    monkeypatch.setattr(est, "DEFAULT_CONTROL", Control(maxiter=0))
    monkeypatch.setattr(est, "FALLBACK_CONTROL", Control(maxiter=0))
    with pytest.raises(ConvergenceError, match="permuted models could be fitted"):
        res.permutation_test(n=50, seed=1)
