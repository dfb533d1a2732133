"""`dose_response`: one- and two-stage dose–response meta-analysis.

* **One stage** (dosresmeta's ``proc = "1stage"``; Crippa A, Discacciati A,
  Bottai M, Spiegelman D, Orsini N. One-stage dose-response meta-analysis
  for aggregated data. Stat Methods Med Res 2019;28:1579-96): all
  contrasts at once, ``y_i = X_i beta + X_i b_i + e_i`` with random slopes
  ``b_i ~ N(0, Psi)`` (Psi unstructured) and ``e_i ~ N(0, S_i)``, by REML;
  metafor's ``rma.mv(y, V, mods = ~ 0 + X, random = ~ 0 + X | study,
  struct = "GEN")`` is the same model.
* **Two stages** (dosresmeta's default; Orsini N, Li R, Wolk A, Khudyakov P,
  Spiegelman D. Am J Epidemiol 2012;175:66-73): each study's curve by GLS,
  ``b_i = (X_i' S_i^-1 X_i)^-1 X_i' S_i^-1 y_i``, then a multivariate
  random-effects meta-analysis of the ``b_i`` (Psi unstructured, REML; as
  ``mixmeta``). Each study needs at least as many non-reference arms as the
  model has coefficients.

Both are fitted by :func:`sleepmeta.dose.engine.fit_random_slopes`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.dose.arms import StudyContrasts, se_from_ci, study_contrasts
from sleepmeta.dose.bases import make_basis
from sleepmeta.dose.engine import fit_random_slopes, pad_blocks
from sleepmeta.dose.result import DoseResponseResult
from sleepmeta.errors import InputError, ModelError, unknown_option

__all__ = ["dose_response", "arms_frame"]

METHODS = ("REML", "ML", "FE")
PROCS = ("1stage", "2stage")


def arms_frame(studies: list[StudyContrasts]) -> pd.DataFrame:
    """One row per non-reference arm: study, dose, reference dose, contrast and SE."""
    rows = [(s.study, d, s.reference_dose, y, se)
            for s in studies for d, y, se in zip(s.doses, s.y, s.se)]
    return pd.DataFrame(rows, columns=["study", "dose", "reference", "y", "se"])


def _stage_one(studies, Xs, names):
    bs, Vs = [], []
    for s, X in zip(studies, Xs):
        if len(s.y) < X.shape[1]:
            raise ModelError(f"study {s.study!r}: the two-stage {len(names)}-coefficient model "
                             f"needs at least {X.shape[1]} non-reference arms, got {len(s.y)}; "
                             "use proc='1stage'")
        Si = np.linalg.inv(s.S)
        info = X.T @ Si @ X
        if np.linalg.matrix_rank(info) < X.shape[1]:
            raise ModelError(f"study {s.study!r}: its doses do not identify the "
                             f"{len(names)}-coefficient curve; use proc='1stage'")
        V = np.linalg.inv(info)
        bs.append(V @ X.T @ Si @ s.y)
        Vs.append(V)
    return bs, Vs


def dose_response(data: pd.DataFrame, *, study: str, dose: str, measure: str = "RR",
                  events: str | None = None, n: str | None = None, mean: str | None = None,
                  sd: str | None = None, logrr: str | None = None, se: str | None = None,
                  lb: str | None = None, ub: str | None = None, type: str = "ci", covariance: str | None = None, model: str = "linear",
                  knots=None, percentiles=None, hill: float | None = 1.0,
                  reference: float | None = 0.0,
                  proc: str = "1stage", method: str = "REML", random: str | None = "slope",
                  level: float = 0.95) -> DoseResponseResult:
    """Pool arm-level dose–response data into one curve.

    Parameters
    ----------
    data : DataFrame
        One row per dose arm, the reference arm included; rows of a study
        in increasing order of dose.
    study, dose : str
        Columns with the study label and the daily dose.
    measure : {"RR", "OR", "MD", "SMD"}
        Log risk ratio or log odds ratio (``events``, ``n``; or adjusted
        ``logrr`` with ``se`` and the counts), mean difference or
        standardised mean difference (``mean``, ``sd``, ``n``).
    events, n, mean, sd, logrr, se : str, optional
        Column names.
    lb, ub : str, optional
        Instead of ``se``: columns with the 95% confidence limits of the
        adjusted ratios, ``se = (log ub - log lb) / (2 z_0.975)`` (as
        dosresmeta's ``lb``/``ub``; the reference arm's may be 1, 1 or empty).
    type : {"ci", "cc", "ir"}
        Design of adjusted ratio data (see :mod:`sleepmeta.dose.covariance`).
    covariance : {"gl", "hamling", "gleser-olkin"}, optional
        Covariance of the contrasts; default Greenland–Longnecker for ratios,
        Gleser–Olkin shared control for MD/SMD.
    model : {"linear", "quadratic", "spline", "emax"}
        ``"emax"``: ``Emax d^h / (ED50^h + d^h)`` with a random effect on Emax,
        by maximum likelihood (:mod:`sleepmeta.dose.emax`); ``proc`` is
        ignored (one stage).
    knots, percentiles : sequence of float, optional
        Spline knots as doses, or as percentiles of all doses (default
        10, 50, 90).
    hill : float or None
        Hill coefficient ``h`` of the Emax model: fixed (default 1), or None to
        estimate it (a third coefficient, ``log_hill``; where the doses do not
        identify it the fit falls back to ``h = 1`` and says so in ``notes``).
    reference : float or None
        The reference dose (default 0); None: each study's lowest dose.
    proc : {"1stage", "2stage"}
    method : {"REML", "ML", "FE"}
    random : {"slope", None}
        Random slopes (default) or none (a fixed-effect model).
    level : float
        Confidence level.

    Returns
    -------
    DoseResponseResult

    Examples
    --------
    Two three-arm trials, log RR linear in dose:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 150, 300] * 2,
    ...                    "events": [5, 10, 20, 4, 9, 15], "n": [100] * 6})
    >>> res = dose_response(df, study="id", dose="dose", events="events", n="n")
    >>> res.k, res.n_contrasts, res.names
    (2, 4, ('dose',))
    """
    if proc not in PROCS:
        raise unknown_option("proc", proc, PROCS)
    if random not in ("slope", None):
        raise unknown_option("random", random, ("slope", None))
    method = "FE" if random is None else method
    if method not in METHODS:
        raise unknown_option("method", method, METHODS)
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if lb is not None or ub is not None:
        if lb is None or ub is None or se is not None:
            raise InputError("give the SE of the adjusted log ratios either as se or as both lb "
                             "and ub (the 95% confidence limits of the ratios), not both")
        se = "__se_from_ci"
        data = data.assign(**{se: se_from_ci(data, study=study, lb=lb, ub=ub)})
    columns = {k: v for k, v in dict(events=events, n=n, mean=mean, sd=sd, logrr=logrr,
                                      se=se).items() if v is not None}
    studies = study_contrasts(data, study=study, dose=dose, measure=measure, columns=columns,
                              covariance=covariance, reference=reference, type=type)
    notes = []
    corrected = [s.study for s in studies if s.corrected]
    if corrected:
        notes.append("1/2 added to the cells of studies with an arm of 0 (or all) events: "
                     + ", ".join(map(str, corrected)))
    arms = arms_frame(studies)
    if len(studies) == 1 and model != "emax" and (method != "FE" or proc != "1stage"):
        # one study has no between-study variance to estimate (dosresmeta, too,
        # fits a single study by GLS whatever proc and method say)
        notes.append("one study: fitted by GLS (fixed effect, one stage)")
        method, proc = "FE", "1stage"
    if model == "emax":
        from sleepmeta.dose.emax import fit_emax_curve

        curve, coef, vcov, psi, ll, qe, conv, emax_notes = fit_emax_curve(
            studies, hill=hill, method="ML" if random is not None else "FE")
        notes.extend(emax_notes)
        if method == "REML":
            notes.append("Emax is fitted by ML (its design depends on ED50)")
        return DoseResponseResult(
            measure=measure, model="emax", proc="1stage", method="FE" if random is None else "ML",
            basis=curve, names=curve.names, coef=coef, vcov=vcov, psi=psi, loglik=ll, qe=qe,
            qe_df=len(arms) - len(coef), k=len(studies), n_contrasts=len(arms), arms=arms, level=level,
            converged=conv, notes=tuple(notes))
    all_doses = data[dose].to_numpy(dtype=float)
    basis = make_basis(model, knots=knots, percentiles=percentiles, doses=all_doses)
    Xs = [basis.contrast(s.doses, s.reference_dose) for s in studies]
    if proc == "2stage":
        bs, Vs = _stage_one(studies, Xs, basis.names)
        eye = np.eye(basis.p)
        y, S, X, mask = pad_blocks(bs, Vs, [eye] * len(bs))
    else:
        y, S, X, mask = pad_blocks([s.y for s in studies], [s.S for s in studies], Xs)
    fit = fit_random_slopes(y[None], S[None], X[None], mask[None], method=method)
    if not fit.converged[0]:
        notes.append(f"the {method} optimiser stopped after {int(fit.iterations[0])} iterations "
                     "without meeting its convergence rule (estimates are its last values)")
    return DoseResponseResult(
        measure=measure, model=model, proc=proc, method=method, basis=basis,
        names=basis.names, coef=fit.beta[0], vcov=fit.vcov[0], psi=fit.psi[0],
        loglik=float(fit.loglik[0]), qe=float(fit.qe[0]),
        qe_df=int(fit.n_obs[0]) - basis.p, k=len(studies), n_contrasts=len(arms), arms=arms,
        level=level, converged=bool(fit.converged[0]), notes=tuple(notes))
