"""Tests for sleepmeta.pooling.trimfill.

Expected numbers: metafor 3.8's ``trimfill`` computed in the same run through
the ``metafor`` fixture on dat.bcg, dat.hackshaw1998 and dat.molloy2014
(ZCOR) with L0 and R0 and several estimators; a constructed asymmetric
funnel whose mirror images are checked by hand without R.
"""

from __future__ import annotations


import numpy as np
import pytest

from sleepmeta.errors import ModelError, UnknownOptionError
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_frame as bcg

CASES = [("bcg", "REML", "L0"), ("bcg", "FE", "R0"), ("hack", "FE", "L0"),
         ("hack", "REML", "R0"), ("hack", "DL", "L0"), ("molloy", "PM", "L0"),
         ("molloy", "REML", "R0")]




def test_asymmetric_funnel_by_hand():
    yi = np.array([0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 1.1])
    vi = np.array([0.01, 0.02, 0.03, 0.05, 0.06, 0.09, 0.12])
    res = meta_analysis(yi, vi, method="FE")
    tf = res.trim_and_fill()
    assert tf.side == "left" and tf.k0 > 0
    # the filled studies mirror the k0 largest about the trimmed estimate: 2 beta - yi
    beta = meta_analysis(yi[: 7 - tf.k0], vi[: 7 - tf.k0], method="FE").estimate
    np.testing.assert_allclose(tf.filled["yi"], 2 * beta - yi[7 - tf.k0:], rtol=1e-12)
    np.testing.assert_allclose(tf.filled["vi"], vi[7 - tf.k0:])
    assert tf.adjusted.k == 7 + tf.k0 and tf.adjusted.estimate < res.estimate
    assert list(tf.filled.index) == [f"Filled {i + 1}" for i in range(tf.k0)]
    # as metafor's trimfill, the augmented model is refitted with test="z" and level 0.95
    knha = meta_analysis(yi, vi, method="FE", test="knha", level=0.9).trim_and_fill()
    assert knha.adjusted.test == "z" and knha.adjusted.level == 0.95
    # the mirror image of the data needs filling on the other side, with the mirrored fill
    tf2 = meta_analysis(-yi, vi, method="FE").trim_and_fill()
    assert tf2.side == "right" and tf2.k0 == tf.k0
    np.testing.assert_allclose(tf2.filled["yi"], -tf.filled["yi"], rtol=1e-12)


def test_errors():
    with pytest.raises(ModelError, match="without moderators"):
        meta_analysis("yi", "vi", data=bcg(), mods="~ ablat").trim_and_fill()
    with pytest.raises(UnknownOptionError, match="estimator"):
        meta_analysis("yi", "vi", data=bcg()).trim_and_fill(estimator="Q9")
    with pytest.raises(ModelError, match="at least 3"):
        meta_analysis([0.1, 0.2], [0.01, 0.02], method="FE").trim_and_fill()


@pytest.fixture(scope="module")
def ref(metafor):
    sets = ", ".join(f'"{s}"' for s, _, _ in CASES)
    ms = ", ".join(f'"{m}"' for _, m, _ in CASES)
    es = ", ".join(f'"{e}"' for _, _, e in CASES)
    code = f"""
dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
dm <- escalc("ZCOR", ri=ri, ni=ni, data=dat.molloy2014)
D <- list(bcg=dat, hack=dat.hackshaw1998, molloy=dm)
ss <- c({sets}); ms <- c({ms}); es <- c({es})
L <- lapply(seq_along(ss), function(i) {{
  tf <- trimfill(rma(yi, vi, data=D[[ss[i]]], method=ms[i]), estimator=es[i])
  f <- tf$fill
  data.frame(case=i - 1, k0=tf$k0, side=tf$side, se_k0=tf$se.k0,
             p_k0=if (is.null(tf$p.k0)) NA else tf$p.k0, est=c(tf$beta), se=tf$se,
             lb=tf$ci.lb, ub=tf$ci.ub, tau2=tf$tau2, Q=tf$QE,
             yi=c(c(tf$yi)[f], NA)[1:max(1, sum(f))],
             vi=c(tf$vi[f], NA)[1:max(1, sum(f))])
}})
E <- do.call(rbind, lapply(names(D), function(n) data.frame(case=-1, k0=NA, side=n, se_k0=NA,
  p_k0=NA, est=NA, se=NA, lb=NA, ub=NA, tau2=NA, Q=NA, yi=c(D[[n]]$yi), vi=D[[n]]$vi)))
write.csv(rbind(do.call(rbind, L), E), stdout(), row.names=FALSE)
"""
    return metafor(code)


@pytest.mark.r
@pytest.mark.parametrize("case", range(len(CASES)))
def test_trim_and_fill_matches_metafor(ref, case):
    name, method, estimator = CASES[case]
    if name == "bcg":
        d = bcg()
    else:
        d = ref[(ref.case == -1) & (ref.side == name)]
    res = meta_analysis(d["yi"].to_numpy(), d["vi"].to_numpy(), method=method)
    tf = res.trim_and_fill(estimator=estimator)
    r = ref[ref.case == case].reset_index(drop=True)
    assert tf.k0 == r.k0[0] and tf.side == r.side[0]
    assert tf.se_k0 == pytest.approx(r.se_k0[0], rel=1e-10)
    if estimator == "R0":
        assert tf.p_k0 == pytest.approx(r.p_k0[0], rel=1e-10)
    tol = 1e-6 if method in ("FE", "DL") else 1e-5
    a = tf.adjusted
    for ours, theirs in [(a.estimate, "est"), (a.se, "se"), (a.ci_low, "lb"), (a.ci_high, "ub"),
                         (a.tau2, "tau2"), (a.q, "Q")]:
        assert ours == pytest.approx(r[theirs][0], rel=tol, abs=1e-10), theirs
    if tf.k0:
        np.testing.assert_allclose(tf.filled["yi"], r["yi"], rtol=1e-6)
        np.testing.assert_allclose(tf.filled["vi"], r["vi"], rtol=1e-12)
