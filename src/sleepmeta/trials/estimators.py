"""Mean differences of one trial from per-participant values.

Each function takes plain arrays (already validated by
:func:`sleepmeta.trials.contrast`) and returns a dict with the mean
difference ``md`` (treatment minus control), its standard error ``se`` and
degrees of freedom ``df``.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.effects import continuous
from sleepmeta.errors import InputError, ModelError


def welch(x1, x2) -> dict[str, float]:
    """Difference of two independent means, unequal variances (Welch 1947).

    ``se = sqrt(s1^2/n1 + s2^2/n2)``; ``df`` by the Welch-Satterthwaite
    formula. This ``se^2`` is also metafor's sampling variance of the raw
    mean difference (``escalc(measure="MD")``).

    >>> r = welch([1.0, 2.0, 3.0], [0.0, 2.0])
    >>> round(r["md"], 4), round(r["se"] ** 2, 4), round(r["df"], 4)
    (1.0, 1.3333, 1.6842)
    """
    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    n1, n2 = x1.size, x2.size
    with np.errstate(over="ignore", invalid="ignore"):
        a, b = x1.var(ddof=1) / n1, x2.var(ddof=1) / n2
    if not np.isfinite(a + b):
        raise InputError("values too large: their variance overflows float64 (rescale the endpoint)")
    # (a + b)^2 / (a^2/(n1-1) + b^2/(n2-1)) written with w = a / (a + b), so tiny
    # variances (a^2 underflowing to 0, e.g. variances near 1e-160) give the same df
    w = a / (a + b) if a + b > 0 else 0.5
    df = 1 / (w**2 / (n1 - 1) + (1 - w) ** 2 / (n2 - 1)) if a + b > 0 else float(n1 + n2 - 2)
    return {"md": float(x1.mean() - x2.mean()), "se": float(np.sqrt(a + b)), "df": float(df)}


def pooled(x1, x2) -> dict[str, float]:
    """Difference of two independent means, pooled variance (Student's t).

    ``se = s_p sqrt(1/n1 + 1/n2)``, ``df = n1 + n2 - 2``.

    >>> r = pooled([1.0, 2.0, 3.0], [0.0, 2.0])
    >>> round(r["se"] ** 2, 4), r["df"]
    (1.1111, 3.0)
    """
    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    n1, n2 = x1.size, x2.size
    sp2 = ((n1 - 1) * x1.var(ddof=1) + (n2 - 1) * x2.var(ddof=1)) / (n1 + n2 - 2)
    return {"md": float(x1.mean() - x2.mean()), "se": float(np.sqrt(sp2 * (1 / n1 + 1 / n2))),
            "df": float(n1 + n2 - 2)}


def paired(t, c) -> dict[str, float]:
    """Within-participant difference (crossover without period adjustment).

    ``d_i = t_i - c_i``; ``md = mean(d)``, ``se = sd(d)/sqrt(n)``, ``df = n - 1``.

    >>> r = paired([3.0, 5.0, 4.0], [1.0, 2.0, 3.0])
    >>> r["md"], r["df"]
    (2.0, 2.0)
    """
    d = np.asarray(t, float) - np.asarray(c, float)
    return {"md": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(d.size)), "df": float(d.size - 1)}


def senn(p_tc, p_ct) -> dict[str, float]:
    """Two-period two-sequence (AB/BA) crossover, period effect adjusted.

    ``p`` is each participant's period-1 minus period-2 value; ``p_tc`` for
    the participants given treatment first, ``p_ct`` for control first.
    The treatment effect is half the difference of the sequence means of
    ``p``, its SE half the two-sample (pooled-variance) SE, with
    ``df = n_tc + n_ct - 2`` (Senn 2002, *Cross-over Trials in Clinical
    Research*, 2nd ed., ch. 3; Jones & Kenward 2014, ch. 2).

    >>> r = senn([2.0, 4.0], [-2.0, 0.0])
    >>> r["md"], round(r["se"], 4), r["df"]
    (2.0, 0.7071, 2.0)
    """
    a, b = np.asarray(p_tc, float), np.asarray(p_ct, float)
    half = pooled(a, b)
    return {"md": half["md"] / 2, "se": half["se"] / 2, "df": half["df"]}


def ancova(y, treated, base) -> dict[str, float]:
    """Treatment effect adjusted for baseline by least squares (ANCOVA).

    Fits ``y = b0 + b1 treated + b2 base`` by ordinary least squares;
    ``md = b1`` with its usual SE ``sqrt(s^2 [(X'X)^-1]_11)``, ``s^2 =
    RSS/(n - 3)`` and ``df = n - 3`` (Senn 2006, *Stat Med* 25:4334;
    Vickers & Altman 2001, *BMJ* 323:1123).

    >>> r = ancova([2.0, 3.0, 5.0, 5.0, 7.0], [0, 0, 1, 0, 1], [1.0, 2.0, 2.0, 3.0, 4.0])
    >>> round(r["md"], 6), r["df"]
    (1.416667, 2.0)
    """
    y = np.asarray(y, float)
    x = np.column_stack([np.ones_like(y), np.asarray(treated, float), np.asarray(base, float)])
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < 3:
        raise ModelError("ANCOVA design is rank-deficient (baseline constant or collinear with arm)")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = resid @ resid / (y.size - 3)
    cov = s2 * np.linalg.inv(xtx)
    return {"md": float(coef[1]), "se": float(np.sqrt(cov[1, 1])), "df": float(y.size - 3)}


def hedges_g(md, sd1, sd2, n1, n2) -> tuple[float, float]:
    """Hedges' g for two independent groups and its variance, as metafor.

    ``g = J(n1 + n2 - 2) md / s_p``, ``v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``
    (metafor ``escalc(measure="SMD")``, default ``vtype="LS"``; Hedges 1981).
    NaN when the pooled SD is 0.

    >>> g, v = hedges_g(2.0, 2.0, 2.0, 10, 10)
    >>> round(g, 6), round(v, 6)
    (0.957646, 0.222927)
    """
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    if not sp > 0:  # no spread: the standardised difference is undefined
        return float("nan"), float("nan")
    g, v = continuous.smd(md, sd1, n1, 0.0, sd2, n2)  # the effect-size stage's Hedges' g
    return float(g), float(v)


def smcrp(md, sd1, sd2, n, r) -> tuple[float, float]:
    """Standardised mean change of paired values, pooled raw-score SD.

    ``g = J(m) md / sqrt((sd1^2 + sd2^2)/2)`` with ``m = 2(n - 1)/(1 + r^2)``
    and ``v = 2(1 - r)/n + g^2 (1 + r^2) / (4n)``, ``r`` the within-
    participant correlation (metafor >= 4.0 ``escalc(measure="SMCRP")``;
    Cousineau 2020, *Quant Meth Psych* 16:418). Used for crossover trials so
    the standardiser is the between-participant SD, as for parallel trials.
    NaN when both SDs are 0 or ``r`` is undefined.

    >>> g, v = smcrp(1.0, 2.0, 2.0, 10, 0.5)
    >>> round(g, 6), round(v, 6)
    (0.473419, 0.107004)
    """
    sdp = np.sqrt((sd1**2 + sd2**2) / 2)
    if not sdp > 0 or not np.isfinite(r):  # undefined without spread or correlation
        return float("nan"), float("nan")
    m = 2 * (n - 1) / (1 + r**2)
    if not m > 1:  # Hedges' correction is defined for m > 1
        return float("nan"), float("nan")
    g = float(continuous.hedges_c(m) * md / sdp)
    return g, 2 * (1 - r) / n + g**2 * (1 + r**2) / (4 * n)
