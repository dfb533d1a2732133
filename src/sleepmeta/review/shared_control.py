"""Several arms of one study against one shared control group: the multilevel model.

With ``[analysis] shared_control = "multilevel"`` (the default), an outcome
in which a study contributes several arms against one control group is
pooled by :func:`sleepmeta.pooling.multilevel.meta_analysis_mv` with the
shared-control covariance of Gleser & Olkin (2009)
(:func:`~sleepmeta.pooling.multilevel.shared_control_vcov`) and random
effects for studies and arms within studies (``~ 1 | study/arm``). The
split-control analysis (Cochrane Handbook 23.3.4) is kept as a sensitivity
analysis; with ``shared_control = "split"`` it is the primary analysis.
When the covariance cannot be computed (a mean difference without the
control group's SD) or the model cannot be fitted, the split-control
analysis is used and a note says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import ConvergenceError, InputError

CHOICES = ("multilevel", "split")


def _control_sd(rows: pd.DataFrame) -> np.ndarray:
    sd = pd.to_numeric(rows.get("sd_ctrl"), errors="coerce") if "sd_ctrl" in rows else None
    se = pd.to_numeric(rows.get("se_ctrl"), errors="coerce") if "se_ctrl" in rows else None
    n = pd.to_numeric(rows["n_ctrl"], errors="coerce")
    out = np.full(len(rows), np.nan) if sd is None else sd.to_numpy(float)
    if se is not None:
        out = np.where(np.isfinite(out), out, se.to_numpy(float) * np.sqrt(n.to_numpy(float)))
    return out


def multilevel_fit(rows: pd.DataFrame, yi, vi, labels, measure: str, spec):
    """Fit the multilevel model to unsplit rows; returns ``(result or None, note)``."""
    from sleepmeta.pooling.multilevel import meta_analysis_mv, shared_control_vcov

    study = rows["study_id"].astype(str).to_numpy()
    if pd.Series(study).value_counts().max() < 2:
        return None, ""
    d = pd.DataFrame({"yi": yi, "vi": vi, "study": study,
                      "arm": np.arange(len(rows)), "label": labels})
    d["n_ctrl"] = pd.to_numeric(rows["n_ctrl"], errors="coerce").to_numpy(float)
    try:
        if measure == "RR":
            d["events_ctrl"] = rows["ci"].astype(float).to_numpy()
            d["n_ctrl"] = rows["n2i"].astype(float).to_numpy()
            V = shared_control_vcov("RR", d, study="study", vi="vi", events_ctrl="events_ctrl",
                                    n_ctrl="n_ctrl", labels="label")
        else:
            d["sd_ctrl"] = _control_sd(rows)
            shared = d["study"].map(d["study"].value_counts()).to_numpy() > 1
            # only arms that share a control have a covariance; the others' values are unused
            d.loc[~shared, ["sd_ctrl", "n_ctrl"]] = 1.0
            if not np.isfinite(d["sd_ctrl"]).all() or not np.isfinite(d["n_ctrl"]).all():
                return None, ("multilevel model not fitted: the shared control group's SD or n "
                              "is not printed, so its covariance is unknown; the split-control "
                              "analysis is the primary one")
            V = shared_control_vcov("MD", d, study="study", vi="vi", sd_ctrl="sd_ctrl",
                                    n_ctrl="n_ctrl", labels="label")
        method = spec.method if spec.method in ("REML", "ML") else "REML"
        res = meta_analysis_mv("yi", V, random="~ 1 | study/arm", data=d, method=method,
                               test="t" if spec.test == "knha" else "z", level=spec.level,
                               labels="label", measure=measure)
    except (InputError, ConvergenceError) as exc:
        return None, (f"multilevel model not fitted ({exc}); the split-control analysis is the "
                      "primary one")
    est = res.coefficients.iloc[0]
    tr = np.exp if measure == "RR" else (lambda x: x)
    note = (f"primary analysis: multilevel model (studies and arms, {method}) with the shared "
            f"control group's covariance (Gleser & Olkin 2009): {tr(est.estimate):.3g} "
            f"[{tr(est.ci_low):.3g}, {tr(est.ci_high):.3g}]; the split-control analysis "
            "(Cochrane Handbook 23.3.4) is shown as a sensitivity analysis")
    return res, note
