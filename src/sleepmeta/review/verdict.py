"""The verdict rule: what the evidence in this review says about a claim.

For each outcome that tests a claim, from the pooled estimate's CI (with the
review's few-study inference), the number of distinct studies k (several
rows or dose arms of one source count once), the GRADE certainty of the
outcome, and the non-poolable rows (thresholds from the spec):

* ``supported`` -- the CI excludes no effect on the claimed side (both limits
  strictly beyond 0, or 1 for a ratio), k >= the spec's
  ``min_studies_supported`` (2), and the certainty is high or moderate;
* ``limited evidence`` -- the CI excludes no effect on the claimed side but
  k is below ``min_studies_supported`` or the certainty is low or very low;
* ``not supported`` -- the CI excludes the claimed side (its limit on the
  claimed side is at or beyond no effect on the other side), or the whole CI
  lies within the outcome's margin of no effect (``|limits| <= margin``; a
  ratio margin m means 1/m..m); checked before ``supported``;
* ``uncertain`` -- otherwise: the CI includes no effect; or there is no
  poolable row, only rows stating a direction (direction-only evidence is
  listed, with its sources counted once each, but never counts as support
  on its own);
* ``no data in this review`` -- no row at all.

Rows from another population than the claim's are used only when the
claim's population has no row; they are then indirect evidence, which the
GRADE indirectness domain rates down (see :mod:`sleepmeta.review.grade`).

A claim's verdict is that of its first listed outcome that has any row;
a dose claim uses the pooled dose curve when ``[dose_response]`` fits one for
the outcome (the risk ratio of the highest against the lowest reported dose),
else the slope of a meta-regression on daily dose, the same way
(``uncertain`` when rows exist but neither is possible; no GRADE rating
applies to it).
"""

from __future__ import annotations

import math

__all__ = ["VERDICTS", "claim_verdict", "claimed_sign", "verdict"]

VERDICTS = ("supported", "limited evidence", "not supported", "uncertain",
            "no data in this review")


def verdict(*, k: int, ci_low: float | None = None, ci_high: float | None = None,
            claimed: int, margin: float = 0.0, ratio: bool = False, directions=(),
            min_k: int = 2, certainty: str | None = None) -> tuple[str, str]:
    """Apply the verdict rule to one outcome.

    Parameters
    ----------
    k : int
        Number of studies pooled (0 when none).
    ci_low, ci_high : float
        The pooled CI on the analysis scale (log scale for ratios).
    claimed : {+1, -1}
        The claimed direction of the effect (treatment minus control).
    margin : float
        Margin of no effect in natural units (a ratio >= 1 for ratios; 0 = none).
    ratio : bool
        Whether the CI is a log ratio (then the margin is log-transformed).
    directions : sequence
        Directions of the non-poolable rows: ``(study, sign)`` pairs (rows of
        one study count once) or bare signs (+1, -1, 0, None = not stated).
    min_k : int
        Studies needed for ``supported``.
    certainty : {"high", "moderate", "low", "very low"}, optional
        The GRADE certainty of the outcome; low or very low caps the verdict
        at ``limited evidence``. None (e.g. a dose slope) applies no cap.

    Returns
    -------
    (verdict, reason) : tuple of str

    Examples
    --------
    >>> verdict(k=2, ci_low=-3.0, ci_high=-1.0, claimed=-1)[0]
    'supported'
    >>> verdict(k=1, ci_low=-3.0, ci_high=-1.0, claimed=-1)[0]
    'limited evidence'
    >>> verdict(k=3, ci_low=-1.0, ci_high=2.0, claimed=-1)[0]
    'uncertain'
    >>> verdict(k=2, ci_low=-3.0, ci_high=-1.0, claimed=-1, certainty="low")[0]
    'limited evidence'
    >>> verdict(k=0, directions=[("A", -1), ("B", -1)], claimed=-1)[0]
    'uncertain'
    """
    if claimed not in (1, -1):
        raise ValueError(f"claimed must be +1 or -1, got {claimed!r}")
    if k == 0:
        sources = _by_source(directions)
        if not sources:
            return "no data in this review", "no row reports this outcome"
        n_with = sum(1 for d in sources.values() if d == claimed)
        return "uncertain", (f"no poolable row; {n_with} of {len(sources)} source(s) state a "
                             "direction the claimed way (direction-only evidence is listed, "
                             "never counted as support on its own)")
    lo, hi = float(ci_low), float(ci_high)
    m = math.log(margin) if ratio and margin > 1 else (0.0 if ratio else float(margin))
    if m > 0 and -m <= lo and hi <= m:
        return "not supported", "the whole CI lies within the margin of no effect"
    near, far = (lo, hi) if claimed == 1 else (-hi, -lo)  # on the claimed axis
    if near > 0:
        if k < min_k:
            return "limited evidence", (f"the CI excludes no effect on the claimed side, but "
                                        f"k = {k} (< {min_k})")
        if certainty in ("low", "very low"):
            return "limited evidence", (f"the CI excludes no effect on the claimed side, k = {k}, "
                                        f"but the certainty of the evidence is {certainty}")
        extra = f", certainty {certainty}" if certainty else ""
        return "supported", f"the CI excludes no effect on the claimed side, k = {k}{extra}"
    if far <= 0:
        return "not supported", "the CI excludes the claimed side"
    return "uncertain", "the CI includes no effect"


def _by_source(directions) -> dict:
    """One direction per source: its rows' common sign, or None when they disagree."""
    out: dict = {}
    for i, d in enumerate(directions):
        study, sign = d if isinstance(d, tuple) else (i, d)
        sign = None if sign is None or sign != sign else int(sign)
        out[study] = sign if study not in out or out[study] == sign else None
    return out


def claimed_sign(outcome, expects: str) -> int:
    """+1 or -1: the claimed direction of treatment minus control (or of the dose slope).

    >>> from types import SimpleNamespace as NS
    >>> claimed_sign(NS(better="lower"), "benefit"), claimed_sign(NS(better="lower"), "harm")
    (-1, 1)
    """
    good = 1 if outcome.better == "higher" else -1
    if expects == "benefit":
        return good
    if expects == "harm":
        return -good
    # dose: harms (table "harms") are claimed to grow with dose, benefits likewise
    return -good if outcome.table == "harms" else good


def _directions(a, spec) -> list:
    rows = a.rows
    if rows is None or rows.empty:
        return []
    keep = rows["status"] == "reported, not poolable"
    if spec.count_published_summaries:
        keep |= rows["status"] == "published summary"
    return [(str(s), None if d is None or d != d else int(d))
            for s, d in zip(rows.loc[keep, "study_id"], rows.loc[keep, "direction"])]


def outcome_verdict(a, expects: str, spec, grade=None, indirect: bool = False) -> dict:
    """The verdict of one outcome analysis for a claim (a dict for the report).

    ``grade`` is the outcome's GRADE rating for the claim's population
    (:class:`~sleepmeta.review.grade.Grade`); ``indirect`` says the rows come
    from other populations than the claim's (none of its own had a row).
    """
    o = a.outcome
    cert = grade.label if grade is not None and expects != "dose" else None
    sign = claimed_sign(o, expects)
    ratio = o.measure == "RR"
    n_rows = 0 if a.rows is None else len(a.rows[a.rows["status"] != "other comparator"])
    curve = getattr(a, "dose_curve", None)
    if expects == "dose" and n_rows and curve is not None and curve.result is not None:
        v, why = _curve_verdict(curve, sign, spec)
    elif expects == "dose":
        if n_rows == 0:
            v, why = "no data in this review", "no row reports this outcome"
        elif a.dose_regression is None:
            v, why = "uncertain", f"no dose meta-regression possible: {a.dose_note}"
        else:
            row = a.dose_regression.coefficients.loc["dose_100mg"]
            v, why = verdict(k=a.studies, ci_low=row.ci_low, ci_high=row.ci_high, claimed=sign,
                             margin=0.0, ratio=ratio, min_k=spec.min_studies_supported)
    elif a.result is None:
        v, why = verdict(k=0, claimed=sign, directions=_directions(a, spec))
    else:
        primary = a.multilevel if getattr(a, "multilevel", None) is not None else a.result
        v, why = verdict(k=a.studies, ci_low=primary.ci_low, ci_high=primary.ci_high,
                         claimed=sign, margin=o.margin, ratio=ratio,
                         directions=_directions(a, spec), min_k=spec.min_studies_supported,
                         certainty=cert)
    if indirect and n_rows:
        why += ("; indirect evidence: no row in the claim's population, rows from other "
                "populations used")
    return {"outcome": o.key, "verdict": v, "reason": why, "claimed_sign": sign,
            "n_rows": n_rows, "certainty": cert, "indirect": bool(indirect),
            "grade": grade.to_dict() if grade is not None else None}


def _curve_verdict(curve, sign: int, spec) -> tuple:
    """A dose claim from a pooled dose curve: the effect of the highest reported dose
    against the lowest (``[dose_response].doses``), on the ratio scale, with k the
    curve's studies (a pooled table counts once)."""
    doses = sorted(spec.dose_response.doses)
    p = curve.result.predict([doses[-1]], reference=doses[0]).iloc[0]
    v, why = verdict(k=curve.k, ci_low=p["ci_low"], ci_high=p["ci_high"], claimed=sign,
                     margin=0.0, ratio=True, min_k=spec.min_studies_supported)
    return v, (f"dose curve ({curve.result.model}): risk ratio {doses[-1]:g} vs {doses[0]:g} "
               f"mg/day {p['estimate']:.2f} ({p['ci_low']:.2f} to {p['ci_high']:.2f}), "
               f"{curve.k} stud{'y' if curve.k == 1 else 'ies'}; {why}")


def claim_verdict(claim, analyses: list, spec, grades=None, indirect=None) -> dict:
    """Verdicts of a claim's outcomes and the claim's own verdict (first outcome with rows).

    ``grades`` and ``indirect`` run parallel to ``analyses`` (None: no GRADE
    rating, direct evidence).
    """
    grades = grades or [None] * len(analyses)
    indirect = indirect or [False] * len(analyses)
    per = [outcome_verdict(a, claim.expects, spec, g, ind)
           for a, g, ind in zip(analyses, grades, indirect)]
    chosen = next((p for p in per if p["verdict"] != "no data in this review"), None)
    if chosen is None:
        v = "no data in this review"
        why = "no row in this review reports " + (", ".join(claim.outcomes) or "this claim")
        primary = claim.outcomes[0] if claim.outcomes else None
    else:
        v, why, primary = chosen["verdict"], chosen["reason"], chosen["outcome"]
    return {"claim": claim, "analyses": analyses, "per_outcome": per, "verdict": v,
            "reason": why, "primary": primary, "grades": list(grades),
            "indirect": list(indirect)}
