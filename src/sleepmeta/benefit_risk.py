"""Stage 5: benefit–risk -- numbers needed to treat or harm, and LHH.

* :func:`number_needed` -- NNT or NNH from a risk difference and its CI;
  when the CI of the risk difference crosses zero the interval is reported
  as "NNTB a to infinity to NNTH b" (Altman DG. Confidence intervals for the
  number needed to treat. BMJ 1998;317:1309-12).
* :func:`number_needed_from_ratio` -- the same from a pooled risk ratio or
  odds ratio and a baseline (control-group) risk: ``RD = p0 (RR - 1)`` or
  ``p1 = OR p0 / (1 - p0 + OR p0)`` (Cochrane Handbook v6.4, section 15.4.4);
  the CI of the RD comes from the CI of the ratio at the same baseline risk.
* :func:`number_needed_uncertain_baseline` -- the same, with a CI that also
  carries the uncertainty of the baseline risk (delta method).
* :func:`baseline_risk` -- the control-group risk pooled from the same
  studies: logit proportions (``effect_size("PLO")``) pooled with the one
  engine (:func:`sleepmeta.pooling.meta_analysis`), back-transformed.
* :func:`likelihood_helped_harmed` -- LHH = NNH / NNT (Citrome L, Ketter TA.
  When does a difference make a difference? Int J Clin Pract
  2013;67:407-11): above 1, a patient is more likely to be helped than
  harmed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from sleepmeta.errors import InputError, unknown_option
from sleepmeta.jsonsafe import clean

__all__ = ["BaselineRisk", "NumberNeeded", "baseline_risk", "likelihood_helped_harmed",
           "number_needed", "number_needed_from_ratio", "number_needed_uncertain_baseline"]


@dataclass(frozen=True)
class NumberNeeded:
    """A number needed to treat (benefit) or to harm, with Altman's CI.

    Attributes
    ----------
    rd, rd_ci_low, rd_ci_high : float
        Risk difference (treatment minus control) and its CI.
    events : str
        ``"harmful"`` (adverse events: a positive RD is harm) or
        ``"beneficial"`` (e.g. remission: a positive RD is benefit).
    kind : str
        ``"NNT"`` (the point estimate favours treatment), ``"NNH"`` or
        ``"none"`` (RD = 0: no difference, the number is infinite).
    value : float
        ``1 / |RD|`` (``inf`` when RD = 0).
    nntb_bound, nnth_bound : float or None
        The CI expressed as numbers needed: ``1 / |RD limit|`` for the
        limit on the benefit side (NNTB) and on the harm side (NNTH); None
        when the CI has no limit on that side.
    crosses_zero : bool
        The RD CI includes 0: the CI runs "NNTB a to infinity to NNTH b".
    baseline_risk : float or None
        The control-group risk used, when the RD came from a ratio.
    """

    rd: float
    rd_ci_low: float
    rd_ci_high: float
    events: str
    kind: str
    value: float
    nntb_bound: tuple
    nnth_bound: tuple
    crosses_zero: bool
    baseline_risk: float | None = None

    @property
    def text(self) -> str:
        """The number and its CI in words, e.g. ``"NNH 5 (95% CI: NNTH 4 to 8)"``."""
        head = "no difference (number needed is infinite)" if self.kind == "none" else \
            f"{self.kind} {_fmt(self.value)}"
        b, h = self.nntb_bound, self.nnth_bound
        if self.crosses_zero:
            ci = f"NNTB {_fmt(b[0])} to infinity to NNTH {_fmt(h[0])}"
        elif b:
            ci = f"NNTB {_fmt(b[0])} to {_fmt(b[1])}"
        else:
            ci = f"NNTH {_fmt(h[0])} to {_fmt(h[1])}"
        return f"{head} (CI: {ci})"

    def to_dict(self) -> dict:
        """JSON-safe dictionary (infinite numbers become ``None``)."""
        return clean({**asdict(self), "text": self.text})


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "infinity"
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def number_needed(rd: float, ci_low: float, ci_high: float, *, events: str = "harmful",
                  baseline: float | None = None) -> NumberNeeded:
    """Number needed to treat or harm from a risk difference and its CI.

    ``N = 1 / |RD|``; the CI limits are ``1 / |RD limit|``, named NNTB on the
    side where treatment helps and NNTH where it harms. When the RD CI
    includes 0 the CI is "NNTB a to infinity to NNTH b" (Altman 1998, BMJ
    317:1309). Numbers needed are usually rounded up for display; here they
    are kept exact and rounded only when shown.

    Parameters
    ----------
    rd, ci_low, ci_high : float
        Risk difference (treatment minus control) and its CI.
    events : {"harmful", "beneficial"}
        Whether the event counted is a harm (adverse event) or a benefit.
    baseline : float, optional
        The control-group risk, kept for the record.

    Examples
    --------
    Harm: RD = 0.25 (0.15 to 0.35) -> NNH 4 (NNTH 2.9 to 6.7):

    >>> nn = number_needed(0.25, 0.15, 0.35)
    >>> nn.kind, nn.value, [round(x, 2) for x in nn.nnth_bound]
    ('NNH', 4.0, [2.86, 6.67])

    A CI crossing zero (Altman 1998): RD = 0.05 (-0.05 to 0.15):

    >>> number_needed(0.05, -0.05, 0.15).text
    'NNH 20 (CI: NNTB 20 to infinity to NNTH 6.7)'
    """
    if events not in ("harmful", "beneficial"):
        raise unknown_option("events", events, ("harmful", "beneficial"))
    vals = [float(rd), float(ci_low), float(ci_high)]
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"risk difference and its CI must be finite, got {vals}")
    rd, lo, hi = vals
    if not (lo <= rd <= hi) or not all(-1 <= v <= 1 for v in vals):
        raise InputError(f"need -1 <= ci_low <= rd <= ci_high <= 1, got {lo}, {rd}, {hi}")
    sign = 1.0 if events == "harmful" else -1.0  # harm side has sign*RD > 0
    inv = lambda x: math.inf if x == 0 else 1.0 / abs(x)  # noqa: E731
    harm_lo, harm_hi = sorted((sign * lo, sign * hi))  # CI on the harm scale
    kind = "none" if rd == 0 else ("NNH" if sign * rd > 0 else "NNT")
    crosses = harm_lo <= 0 <= harm_hi
    if crosses:
        nntb, nnth = (inv(harm_lo),), (inv(harm_hi),)
    elif harm_lo > 0:  # all harm
        nntb, nnth = (), (inv(harm_hi), inv(harm_lo))
    else:  # all benefit
        nntb, nnth = (inv(harm_lo), inv(harm_hi)), ()
    return NumberNeeded(rd=rd, rd_ci_low=lo, rd_ci_high=hi, events=events, kind=kind,
                        value=inv(rd), nntb_bound=nntb, nnth_bound=nnth, crosses_zero=crosses,
                        baseline_risk=baseline)


def _risk_from_ratio(ratio: float, p0: float, measure: str) -> float:
    if measure == "RR":
        return p0 * ratio
    return ratio * p0 / (1 - p0 + ratio * p0)  # OR


def number_needed_from_ratio(ratio: float, ci_low: float, ci_high: float, baseline: float, *,
                             measure: str = "RR", events: str = "harmful") -> NumberNeeded:
    """NNT or NNH from a pooled risk ratio (or odds ratio) and a baseline risk.

    The treated risk is ``p1 = p0 RR`` (or ``OR p0 / (1 - p0 + OR p0)``), so
    ``RD = p1 - p0``; the RD CI is the same transformation of the ratio's CI
    at the same baseline risk (Cochrane Handbook v6.4, 15.4.4), and
    :func:`number_needed` turns it into NNT/NNH with Altman's (1998) CI.

    Parameters
    ----------
    ratio, ci_low, ci_high : float
        The pooled ratio and its CI, on the ratio scale (not the log scale).
    baseline : float
        Control-group risk ``p0`` in (0, 1).
    measure : {"RR", "OR"}
    events : {"harmful", "beneficial"}

    Examples
    --------
    RR 2.0 (1.5 to 3.0) at a baseline risk of 10%: RD = 0.1 (0.05 to 0.2),
    NNH = 10 (NNTH 5 to 20):

    >>> nn = number_needed_from_ratio(2.0, 1.5, 3.0, 0.10)
    >>> round(nn.rd, 10), [round(x, 6) for x in nn.nnth_bound]
    (0.1, [5.0, 20.0])
    """
    if measure not in ("RR", "OR"):
        raise unknown_option("measure", measure, ("RR", "OR"))
    if not 0 < baseline < 1:
        raise InputError(f"baseline risk must be in (0, 1), got {baseline!r}")
    if not 0 < ci_low <= ratio <= ci_high:
        raise InputError(f"need 0 < ci_low <= ratio <= ci_high, got {ci_low}, {ratio}, {ci_high}")
    p = [_risk_from_ratio(r, baseline, measure) for r in (ratio, ci_low, ci_high)]
    if measure == "RR" and p[2] > 1:
        p = [min(x, 1.0) for x in p]  # a risk cannot exceed 1; cap the upper limit
    rd = [x - baseline for x in p]
    return number_needed(rd[0], rd[1], rd[2], events=events, baseline=baseline)


def number_needed_uncertain_baseline(ratio: float, ci_low: float, ci_high: float,
                                     baseline: float, baseline_low: float, baseline_high: float,
                                     *, level: float = 0.95,
                                     events: str = "harmful") -> NumberNeeded:
    """NNT/NNH from a risk ratio and a baseline risk, both uncertain (delta method).

    ``RD = p0 (RR - 1)``. Its variance by the delta method (first-order Taylor
    expansion; Oehlert GW. A note on the delta method. Am Stat 1992;46:27-9),
    with the log RR and the logit baseline risk taken as independent::

        var(RD) = (p0 RR)^2 var(log RR) + ((RR - 1) p0 (1 - p0))^2 var(logit p0)

    where each variance is recovered from its CI, ``((upper - lower) / (2 z))^2``
    on the log / logit scale (so a t-based CI carries its width over). The CI
    ``RD ± z sqrt(var)`` (clipped to [-1, 1]) then gives NNT/NNH with Altman's
    (1998) CI. Ignoring the baseline's uncertainty (as
    :func:`number_needed_from_ratio` does) understates the NNH's uncertainty
    when the control risk is estimated from few studies; the need to carry it
    is discussed by Newcombe & Bender (Evid Based Med 2014;19:6-8).

    Examples
    --------
    RR 2 with var(log RR) = 0.1², p0 = 0.1 with var(logit p0) = 0.2² (hand
    calculation: var = 0.2² x 0.01 + 0.09² x 0.04 = 0.000724, SE = 0.02691):

    >>> import math
    >>> z = 1.959963984540054
    >>> lg = lambda p: math.log(p / (1 - p))
    >>> ex = lambda x: 1 / (1 + math.exp(-x))
    >>> nn = number_needed_uncertain_baseline(
    ...     2.0, math.exp(math.log(2) - 0.1 * z), math.exp(math.log(2) + 0.1 * z),
    ...     0.1, ex(lg(0.1) - 0.2 * z), ex(lg(0.1) + 0.2 * z))
    >>> round(nn.rd, 10), round((nn.rd_ci_high - nn.rd) / z, 5)
    (0.1, 0.02691)
    """
    from scipy import special

    if events not in ("harmful", "beneficial"):
        raise unknown_option("events", events, ("harmful", "beneficial"))
    if not 0 < baseline_low <= baseline <= baseline_high < 1:
        raise InputError("need 0 < baseline_low <= baseline <= baseline_high < 1, got "
                         f"{baseline_low}, {baseline}, {baseline_high}")
    if not 0 < ci_low <= ratio <= ci_high:
        raise InputError(f"need 0 < ci_low <= ratio <= ci_high, got {ci_low}, {ratio}, {ci_high}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")
    z = float(-special.ndtri((1 - level) / 2))
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    v_r = ((math.log(ci_high) - math.log(ci_low)) / (2 * z)) ** 2
    v_b = ((logit(baseline_high) - logit(baseline_low)) / (2 * z)) ** 2
    p0, rr = float(baseline), float(ratio)
    rd = p0 * (rr - 1)
    se = math.sqrt((p0 * rr) ** 2 * v_r + ((rr - 1) * p0 * (1 - p0)) ** 2 * v_b)
    lo, hi = max(-1.0, rd - z * se), min(1.0, rd + z * se)
    return number_needed(rd, lo, hi, events=events, baseline=baseline)


@dataclass(frozen=True)
class BaselineRisk:
    """A control-group risk pooled on the logit scale, back-transformed."""

    estimate: float
    ci_low: float
    ci_high: float
    k: int
    method: str
    notes: tuple = ()

    def to_dict(self) -> dict:
        """JSON-safe dictionary."""
        return clean({"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                      "k": self.k, "method": self.method, "notes": list(self.notes)})


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def baseline_risk(events, n, *, labels=None, method: str = "REML", test: str = "z",
                  level: float = 0.95) -> BaselineRisk:
    """The control-group risk pooled from the same studies.

    Logit-transformed proportions (``effect_size("PLO", events=, n=)``, with
    escalc's 1/2 correction for 0 or n events) are pooled by
    :func:`sleepmeta.pooling.meta_analysis` and back-transformed with the
    inverse logit. One study uses the common-effect model (its own risk).

    Examples
    --------
    One study with 10 of 100: the pooled risk is 10%:

    >>> round(baseline_risk([10], [100]).estimate, 10)
    0.1
    """
    from sleepmeta.effects import effect_size
    from sleepmeta.pooling import meta_analysis
    from sleepmeta.pooling.registry import COMMON_EFFECT

    events, n = np.atleast_1d(np.asarray(events, float)), np.atleast_1d(np.asarray(n, float))
    es = effect_size("PLO", events=events, n=n, labels=labels)
    use = COMMON_EFFECT if len(es) == 1 else method
    res = meta_analysis(es, method=use, test=test, level=level)
    return BaselineRisk(estimate=_expit(res.estimate), ci_low=_expit(res.ci_low),
                        ci_high=_expit(res.ci_high), k=res.k, method=use, notes=res.notes)


def likelihood_helped_harmed(nnt: float, nnh: float) -> float:
    """Likelihood of being helped or harmed, LHH = NNH / NNT.

    Citrome & Ketter (2013): LHH > 1 means a patient is more likely to be
    helped than harmed. Both numbers must refer to the same population.

    Examples
    --------
    >>> likelihood_helped_harmed(4.0, 12.0)
    3.0
    """
    if not (nnt > 0 and nnh > 0):
        raise InputError(f"NNT and NNH must be > 0, got {nnt!r}, {nnh!r}")
    return float(nnh) / float(nnt)
