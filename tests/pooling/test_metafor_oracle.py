"""Cross-check of the engine against R's metafor 3.8 on several metadat datasets.

Skipped cleanly where R with metafor is not installed. Tolerances are those of
the project: relative 1e-6 on closed-form quantities, 1e-5 on iterative ones,
absolute 1e-6 on p-values.
"""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling import meta_analysis

METHODS = ("FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM")
ITERATIVE = {"ML", "REML", "EB", "PM"}

# escalc calls giving yi and vi for a spread of real datasets (metadat).
DATASETS = {
    "bcg_RR": 'escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
    "bcg_OR": 'escalc(measure="OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
    "normand_SMD": 'escalc(measure="SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
    "molloy_ZCOR": 'escalc(measure="ZCOR", ri=ri, ni=ni, data=dat.molloy2014)',
    "hackshaw": "dat.hackshaw1998",
    "pritz_PLO": 'escalc(measure="PLO", xi=xi, ni=ni, data=dat.pritz1997)',
    "yusuf_PETO": 'escalc(measure="PETO", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985[dat.yusuf1985$table=="6",])',
}

R_CODE = """
dat <- {data}
dat <- dat[!is.na(dat$yi) & !is.na(dat$vi),]
out <- NULL
for (m in c({methods})) for (t in c("z", "knha")) {{
  r <- suppressWarnings(rma(yi, vi, data=dat, method=m, test=t))
  ci <- if (m == "FE") c(NA, NA, NA, NA) else confint(r)$random[c(1, 3), 2:3]
  pr <- predict(r)
  out <- rbind(out, data.frame(method=m, test=t, estimate=r$b[1], se=r$se, statistic=r$zval,
    pvalue=r$pval, ci_low=r$ci.lb, ci_high=r$ci.ub,
    pi_low=if (is.null(pr$pi.lb)) pr$ci.lb else pr$pi.lb,
    pi_high=if (is.null(pr$pi.ub)) pr$ci.ub else pr$pi.ub,
    tau2=r$tau2, tau2_se=if (length(r$se.tau2) == 0) NA else r$se.tau2, i2=r$I2, h2=r$H2,
    q=r$QE, q_pvalue=r$QEp, tau2_lo=ci[1], tau2_hi=ci[3], i2_lo=ci[2], i2_hi=ci[4]))
}}
out$yi <- paste(format(dat$yi, digits=17), collapse=";")
out$vi <- paste(format(dat$vi, digits=17), collapse=";")
write.csv(out, stdout(), row.names=FALSE)
"""


@pytest.mark.r
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_engine_matches_metafor(metafor, name):
    methods = ", ".join(f'"{m}"' for m in METHODS)
    ref = metafor(R_CODE.format(data=DATASETS[name], methods=methods))
    yi = np.array(ref["yi"][0].split(";"), float)
    vi = np.array(ref["vi"][0].split(";"), float)
    for row in ref.itertuples():
        res = meta_analysis(yi, vi, method=row.method, test=row.test)
        rel = 1e-5 if row.method in ITERATIVE else 1e-6
        where = f"{name} {row.method} {row.test}"
        for field in ("estimate", "se", "statistic", "ci_low", "ci_high", "pi_low", "pi_high",
                      "tau2", "i2", "h2", "q"):
            want = getattr(row, field)
            got = getattr(res, field)
            assert got == pytest.approx(want, rel=rel, abs=1e-10), f"{where} {field}"
        if not np.isnan(row.tau2_se):
            assert res.tau2_se == pytest.approx(row.tau2_se, rel=rel), f"{where} tau2_se"
        for field in ("pvalue", "q_pvalue"):
            assert getattr(res, field) == pytest.approx(getattr(row, field), abs=1e-6), where
        if row.method != "FE":
            ci = res.tau2_ci()
            assert ci.loc["tau2", "ci_low"] == pytest.approx(row.tau2_lo, rel=rel, abs=1e-10), where
            assert ci.loc["tau2", "ci_high"] == pytest.approx(row.tau2_hi, rel=rel, abs=1e-10), where
            assert ci.loc["i2", "ci_low"] == pytest.approx(row.i2_lo, rel=rel, abs=1e-8), where
            assert ci.loc["i2", "ci_high"] == pytest.approx(row.i2_hi, rel=rel, abs=1e-8), where


MODS_CODE = """
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
out <- NULL
for (m in c({methods})) for (t in c("z", "knha")) {{
  r <- suppressWarnings(rma(yi, vi, mods=~ablat + factor(alloc), data=dat, method=m, test=t))
  out <- rbind(out, data.frame(method=m, test=t, term=seq_along(r$b), estimate=r$b[,1], se=r$se,
    pvalue=r$pval, tau2=r$tau2, qe=r$QE, qm=r$QM, qmp=r$QMp, i2=r$I2, h2=r$H2))
}}
write.csv(out, stdout(), row.names=FALSE)
"""


@pytest.mark.r
def test_meta_regression_matches_metafor(metafor):
    from tests._bcg import bcg_frame

    methods = ", ".join(f'"{m}"' for m in METHODS)
    ref = metafor(MODS_CODE.format(methods=methods))
    data = bcg_frame()
    for (method, test), rows in ref.groupby(["method", "test"], sort=False):
        res = meta_analysis(data=data, mods="~ ablat + C(alloc)", method=method, test=test)
        rel = 1e-5 if method in ITERATIVE else 1e-6
        coef = res.coefficients
        assert coef["estimate"].to_numpy() == pytest.approx(rows["estimate"].to_numpy(), rel=rel)
        assert coef["se"].to_numpy() == pytest.approx(rows["se"].to_numpy(), rel=rel)
        assert coef["pvalue"].to_numpy() == pytest.approx(rows["pvalue"].to_numpy(), abs=1e-6)
        first = rows.iloc[0]
        assert res.tau2 == pytest.approx(first.tau2, rel=rel, abs=1e-10)
        assert res.q == pytest.approx(first.qe, rel=1e-6)
        assert res.qm == pytest.approx(first.qm, rel=rel)
        assert res.qm_pvalue == pytest.approx(first.qmp, abs=1e-6)
        assert res.i2 == pytest.approx(first.i2, rel=rel, abs=1e-8)
        assert res.h2 == pytest.approx(first.h2, rel=rel)
