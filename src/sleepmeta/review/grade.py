"""GRADE certainty of the evidence per outcome, with one documented rule per domain.

Randomised trials start at **high** certainty (4). Each of the five domains
may rate down by 0 (not serious), 1 (serious) or 2 (very serious) levels
(GRADE Handbook, Schünemann et al. 2013, section 5; Cochrane Handbook v6.4,
chapter 14). The rules below are computed from the data; every one can be
overridden in the spec (``[grade.<outcome>] <domain> = {downgrade = n,
reason = "..."}``) and the report prints the reason.

risk of bias
    From the share of the analysis's weight contributed by results at each
    overall RoB 2 judgement (Cochrane Handbook 14.2.2; GRADE guidelines 4,
    Guyatt et al. 2011, J Clin Epidemiol 64:407): 2 when >= 50% of the weight
    is from results at high risk; else 1 when >= 50% is from results not at
    low risk (high, some concerns, or not assessed: a result whose risk could
    not be assessed is not taken to be at low risk); else 0.
inconsistency
    From I² (Cochrane Handbook 10.10.2) and the prediction interval (GRADE
    guidelines 7, Guyatt et al. 2011, J Clin Epidemiol 64:1294): not
    assessable with one study (0); 0 when I² < 50%; 1 when 50% <= I² < 75%;
    at I² >= 75%, 2 when the prediction interval (t, k - 2 df; k >= 3)
    includes effects on both sides of no effect, else 1.
indirectness
    From the claim's population and each pooled row's ``condition`` (GRADE
    guidelines 8, Guyatt et al. 2011, J Clin Epidemiol 64:1303): 1 when >= 50%
    of the weight comes from rows of another population than the claim's;
    else 0. A claim naming no population has no indirectness by population.
imprecision
    From the CI against the outcome's margin and the optimal information size
    (GRADE guidelines 6, Guyatt et al. 2011, J Clin Epidemiol 64:1283): the
    threshold of an appreciable effect T is the spec's ``margin`` (a ratio
    margin m means log m; with no margin, RR 1.25 for ratios, 0 for
    differences). A CI including no effect: 2 when it includes appreciable
    effects on both sides (beyond -T and T, T > 0), else 1. A CI excluding no
    effect (or lying within the margin): 1 when the optimal information size
    is not met (fewer than 300 events for a binary outcome; fewer than 400
    participants, or participants not printed, for a continuous one), else 0.
publication bias
    Egger's regression test when k >= the spec's ``small_study_min_k`` (10,
    Cochrane Handbook 13.3.5.4): 1 when p < 0.10, else 0; with fewer studies
    "not assessable" (0).

The certainty is ``4 - sum of downgrades`` (floored at 1): high, moderate,
low, very low.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from sleepmeta.errors import SpecError

__all__ = ["DOMAINS", "LEVELS", "DomainRating", "Grade", "certainty", "check_overrides",
           "grade_analysis", "rate_imprecision", "rate_inconsistency", "rate_indirectness",
           "rate_publication_bias", "rate_risk_of_bias"]

DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
_SEVERITY = {0: "not serious", 1: "serious", 2: "very serious"}
OIS_EVENTS = 300
OIS_PARTICIPANTS = 400
DEFAULT_RATIO_THRESHOLD = 1.25


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: levels rated down, the reason, and whether a reviewer overrode it."""

    domain: str
    downgrade: int
    reason: str
    assessable: bool = True
    overridden: bool = False

    @property
    def severity(self) -> str:
        """``not serious``, ``serious`` or ``very serious``."""
        return _SEVERITY[self.downgrade]

    def to_dict(self) -> dict:
        """JSON-safe dictionary."""
        return {"domain": self.domain, "downgrade": self.downgrade, "severity": self.severity,
                "reason": self.reason, "assessable": self.assessable,
                "overridden": self.overridden}


@dataclass(frozen=True)
class Grade:
    """The certainty of one outcome's evidence."""

    ratings: tuple
    score: int
    label: str
    start: str = "randomised trials: high"

    @property
    def reasons(self) -> list[str]:
        """One line per domain rated down."""
        return [f"{r.domain.replace('_', ' ')} ({r.severity}, -{r.downgrade}): {r.reason}"
                for r in self.ratings if r.downgrade]

    def to_dict(self) -> dict:
        """JSON-safe dictionary."""
        return {"certainty": self.label, "score": self.score, "start": self.start,
                "domains": [r.to_dict() for r in self.ratings], "reasons": self.reasons}


def certainty(ratings) -> Grade:
    """Combine five domain ratings: start at high (4), subtract, floor at very low (1).

    >>> g = certainty([DomainRating(d, 1 if d == "imprecision" else 0, "x") for d in DOMAINS])
    >>> g.label, g.score
    ('moderate', 3)
    """
    ratings = tuple(ratings)
    score = max(1, 4 - sum(r.downgrade for r in ratings))
    return Grade(ratings=ratings, score=score, label=LEVELS[score])


def _share(weights, flags) -> float:
    w = np.asarray(weights, float)
    return float(100 * w[np.asarray(flags, bool)].sum() / w.sum()) if w.sum() > 0 else 0.0


def rate_risk_of_bias(weights, judgements) -> DomainRating:
    """Risk of bias from the weight at each overall RoB 2 judgement (rule in the module doc).

    >>> rate_risk_of_bias([60, 40], ["high", "low"]).downgrade
    2
    >>> rate_risk_of_bias([40, 30, 30], ["high", "not assessed", "low"]).downgrade
    1
    >>> rate_risk_of_bias([49, 51], ["some concerns", "low"]).downgrade
    0
    """
    j = list(judgements)
    high = _share(weights, [x == "high" for x in j])
    not_low = _share(weights, [x != "low" for x in j])
    na = _share(weights, [x == "not assessed" for x in j])
    text = (f"{high:.0f}% of the weight from results at high risk of bias, {not_low:.0f}% not at "
            f"low risk ({na:.0f}% not assessed)")
    if high >= 50:
        return DomainRating("risk_of_bias", 2, text)
    if not_low >= 50:
        return DomainRating("risk_of_bias", 1, text)
    return DomainRating("risk_of_bias", 0, text)


def rate_inconsistency(k: int, i2: float, pi_low: float | None = None,
                       pi_high: float | None = None) -> DomainRating:
    """Inconsistency from I² and the prediction interval (analysis scale, no effect = 0).

    >>> rate_inconsistency(1, 0.0).assessable
    False
    >>> [rate_inconsistency(5, i2).downgrade for i2 in (49.9, 50.0, 74.9)]
    [0, 1, 1]
    >>> rate_inconsistency(5, 80.0, -0.5, 1.0).downgrade, rate_inconsistency(5, 80.0, 0.1, 1.0).downgrade
    (2, 1)
    """
    if k < 2:
        return DomainRating("inconsistency", 0, "one study: inconsistency not assessable",
                            assessable=False)
    text = f"I² = {i2:.0f}%"
    if i2 < 50:
        return DomainRating("inconsistency", 0, text + " (< 50%)")
    if i2 < 75:
        return DomainRating("inconsistency", 1, text + " (50% to 75%: substantial)")
    both = pi_low is not None and pi_high is not None and pi_low < 0 < pi_high
    if both:
        return DomainRating("inconsistency", 2, text + " (>= 75%) and the prediction interval "
                            "includes effects in both directions")
    return DomainRating("inconsistency", 1, text + " (>= 75%: considerable)")


def rate_indirectness(weights, conditions, population) -> DomainRating:
    """Indirectness by population: the weight from rows of another population.

    >>> rate_indirectness([50, 50], ["healthy", "insomnia"], ["insomnia"]).downgrade
    1
    >>> rate_indirectness([51, 49], ["insomnia", "healthy"], ["insomnia"]).downgrade
    0
    >>> rate_indirectness([1], ["healthy"], []).downgrade
    0
    """
    population = list(population or [])
    if not population:
        return DomainRating("indirectness", 0, "the claim names no population")
    other = [str(c) not in population for c in conditions]
    share = _share(weights, other)
    names = sorted({str(c) for c, o in zip(conditions, other) if o})
    text = (f"{share:.0f}% of the weight from other populations than "
            f"{', '.join(population)}" + (f" ({', '.join(names)})" if names else ""))
    return DomainRating("indirectness", 1 if share >= 50 else 0, text)


def rate_imprecision(ci_low: float, ci_high: float, *, ratio: bool, margin: float = 0.0,
                     events: float | None = None, participants: float | None = None
                     ) -> DomainRating:
    """Imprecision from the CI against the margin and the optimal information size.

    ``ci_low``, ``ci_high`` on the analysis scale (log scale for ratios);
    ``events`` for binary outcomes (both arms), ``participants`` for continuous.

    >>> import math
    >>> rate_imprecision(math.log(0.9), math.log(1.6), ratio=True, events=400).downgrade
    1
    >>> rate_imprecision(math.log(0.7), math.log(1.6), ratio=True, events=400).downgrade
    2
    >>> rate_imprecision(math.log(1.5), math.log(2.6), ratio=True, events=299).downgrade
    1
    >>> rate_imprecision(math.log(1.5), math.log(2.6), ratio=True, events=300).downgrade
    0
    """
    if ratio:
        t = math.log(margin) if margin > 1 else math.log(DEFAULT_RATIO_THRESHOLD)
        tname = f"RR {math.exp(t):g}"
    else:
        t = float(margin)
        tname = f"{t:g}" if t > 0 else "no margin"
    lo, hi = float(ci_low), float(ci_high)
    if lo <= 0 <= hi:
        if t > 0 and lo < -t and hi > t:
            return DomainRating("imprecision", 2, "the CI includes no effect and appreciable "
                                f"effects in both directions (threshold {tname})")
        return DomainRating("imprecision", 1, "the CI includes no effect")
    if events is not None:
        ok, what = events >= OIS_EVENTS, f"{events:g} events (< {OIS_EVENTS})"
    elif participants:
        ok, what = participants >= OIS_PARTICIPANTS, \
            f"{participants:g} participants (< {OIS_PARTICIPANTS})"
    else:
        ok, what = False, "participants not printed"
    if not ok:
        return DomainRating("imprecision", 1, "the CI excludes no effect but the optimal "
                            f"information size is not met: {what}")
    return DomainRating("imprecision", 0, "the CI excludes no effect and the optimal "
                        "information size is met")


def rate_publication_bias(k: int, min_k: int, egger_p: float | None = None) -> DomainRating:
    """Publication bias from Egger's test where k >= ``min_k``; else not assessable.

    >>> rate_publication_bias(3, 10).assessable, rate_publication_bias(12, 10, 0.04).downgrade
    (False, 1)
    """
    if k < min_k or egger_p is None:
        return DomainRating("publication_bias", 0, f"k = {k} < {min_k}: small-study tests not "
                            "done, publication bias not assessable", assessable=False)
    if egger_p < 0.10:
        return DomainRating("publication_bias", 1, f"Egger's test p = {egger_p:.3g} (< 0.10)")
    return DomainRating("publication_bias", 0, f"Egger's test p = {egger_p:.3g} (>= 0.10)")


def check_overrides(raw, outcomes) -> dict:
    """Validate the spec's ``[grade]`` table: ``{outcome: {domain: {downgrade, reason}}}``.

    Raises
    ------
    SpecError
        An unknown outcome or domain, a downgrade not in 0..2, or no reason.

    Examples
    --------
    >>> check_overrides({"SOL": {"imprecision": {"downgrade": 2, "reason": "tiny"}}}, ["SOL"])
    {'SOL': {'imprecision': (2, 'tiny')}}
    >>> check_overrides({"SOL": {"imprecision": {"downgrade": 2}}}, ["SOL"])
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: grade.SOL.imprecision.reason: an override needs a reason (printed in the report)
    """
    out: dict = {}
    if not isinstance(raw, dict):
        raise SpecError("grade: must be a table of outcomes")
    for key, doms in raw.items():
        if key not in outcomes:
            raise SpecError(f"grade.{key}: unknown outcome {key!r}")
        if not isinstance(doms, dict):
            raise SpecError(f"grade.{key}: must be a table of domains")
        for dom, val in doms.items():
            where = f"grade.{key}.{dom}"
            if dom not in DOMAINS:
                raise SpecError(f"{where}: unknown domain {dom!r}; valid: {', '.join(DOMAINS)}")
            if not isinstance(val, dict):
                raise SpecError(f"{where}: must be {{downgrade = 0|1|2, reason = \"...\"}}")
            extra = sorted(set(val) - {"downgrade", "reason"})
            if extra:
                raise SpecError(f"{where}: unknown key {extra[0]!r}; valid: downgrade, reason")
            n = val.get("downgrade")
            if isinstance(n, bool) or n not in (0, 1, 2):
                raise SpecError(f"{where}.downgrade: must be 0, 1 or 2, got {n!r}")
            reason = val.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise SpecError(f"{where}.reason: an override needs a reason (printed in the "
                                "report)")
            out.setdefault(key, {})[dom] = (int(n), reason.strip())
    return out


def _override(rating: DomainRating, given) -> DomainRating:
    if given is None:
        return rating
    n, reason = given
    return replace(rating, downgrade=n, overridden=True,
                   reason=f"reviewer's judgement: {reason} (rule: {rating.severity}; "
                          f"{rating.reason})")


def grade_analysis(a, rob, *, population=(), overrides=None, small_study_min_k: int = 10,
                   pi: tuple | None = None) -> Grade | None:
    """GRADE one outcome analysis (an :class:`~sleepmeta.review.analyse.OutcomeAnalysis`).

    ``rob`` is a :class:`~sleepmeta.review.rob.RiskOfBias` (or None: every
    result not assessed); ``pi`` the review's prediction interval on the
    analysis scale. Returns None when nothing was pooled.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> from sleepmeta.review.analyse import analyse_outcome, load_tables
    >>> from sleepmeta.review.spec import load_spec
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> a = analyse_outcome(spec, spec.outcomes["WASO"], load_tables(spec))
    >>> g = grade_analysis(a, None)
    >>> g.label, [r.domain for r in g.ratings if r.downgrade]
    ('low', ['risk_of_bias', 'imprecision'])
    """
    res = a.result
    if res is None:
        return None
    pr = a.pooled_rows
    w = np.asarray(res.weights, float)
    col = a.outcome.column
    judg = [("not assessed" if rob is None else rob.judgement(str(s), "overall", str(o)))
            for s, o in zip(pr["study_id"], pr[col] if col in pr else [""] * len(pr))]
    ratio = a.outcome.measure == "RR"
    events = None
    if ratio:
        events = float(np.nansum(pr["ai"].astype(float)) + np.nansum(pr["ci"].astype(float)))
    parts = None if a.participants_unknown else a.participants
    pi_lo, pi_hi = pi if pi is not None else (None, None)
    ratings = [
        rate_risk_of_bias(w, judg),
        rate_inconsistency(res.k, float(res.i2), pi_lo, pi_hi),
        rate_indirectness(w, list(pr["condition"]), population),
        rate_imprecision(res.ci_low, res.ci_high, ratio=ratio, margin=a.outcome.margin,
                         events=events, participants=parts),
        rate_publication_bias(res.k, small_study_min_k,
                              (a.small_study.get("egger") or {}).get("pvalue")
                              if a.small_study.get("done") else None),
    ]
    given = (overrides or {}).get(a.outcome.key, {})
    return certainty([_override(r, given.get(r.domain)) for r in ratings])
