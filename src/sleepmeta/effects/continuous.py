"""Two-group continuous outcomes: MD, SMD, SMDH and ROM.

Group 1 is the treatment group and group 2 the control group, so a positive
``MD`` means a larger mean under treatment. Definitions and defaults follow
metafor's ``escalc`` (Viechtbauer 2010, J Stat Softw 36(3)).

>>> import numpy as np
>>> yi, vi = _md(np.array([10.0]), np.array([2.0]), np.array([4.0]),
...              np.array([7.0]), np.array([3.0]), np.array([9.0]))
>>> float(yi[0]), float(vi[0])
(3.0, 2.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln

from sleepmeta.effects.columns import check, check_positive, study_error
from sleepmeta.effects._registry import Arrays, Family, Measure, no_correction

COLUMNS = ("mean1", "sd1", "n1", "mean2", "sd2", "n2")


def hedges_c(m: np.ndarray) -> np.ndarray:
    """Exact small-sample correction factor of Hedges (1981).

    ``c(m) = Gamma(m/2) / (sqrt(m/2) * Gamma((m-1)/2))`` with ``m`` the
    degrees of freedom (``n1 + n2 - 2`` for the SMD), evaluated on the log
    scale so that large ``m`` does not overflow. Defined for ``m > 1``.

    Hedges LV (1981). Distribution theory for Glass's estimator of effect
    size and related estimators. J Educ Stat 6(2):107-128, eq. 6e.

    It is close to Hedges' approximation ``1 - 3/(4m - 1)``:

    >>> bool(abs(hedges_c(np.array([18.0]))[0] - (1 - 3 / 71)) < 5e-4)
    True
    """
    m = np.asarray(m, dtype=float)
    return np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))


def _md(mean1, sd1, n1, mean2, sd2, n2):
    """Raw mean difference; ``vi = sd1^2/n1 + sd2^2/n2`` (metafor vtype "LS")."""
    return mean1 - mean2, sd1**2 / n1 + sd2**2 / n2


def smd(mean1, sd1, n1, mean2, sd2, n2):
    """Hedges' g (Hedges 1981): ``c(m) * (mean1 - mean2) / s_pooled``, ``m = n1 + n2 - 2``.

    ``vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``, the large-sample variance
    (metafor's default vtype "LS"; Hedges & Olkin 1985, eq. 5.15). The one
    Hedges' g of the package: ``effect_size("SMD")`` and the trial stage's
    contrasts use it. Inputs are trusted (validated by the caller).

    Examples
    --------
    >>> g, v = smd(2.0, 2.0, 10, 0.0, 2.0, 10)
    >>> round(float(g), 6), round(float(v), 6)
    (0.957646, 0.222927)
    """
    m = n1 + n2 - 2
    sd_pooled = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    yi = hedges_c(m) * (mean1 - mean2) / sd_pooled
    return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))


def _smdh(mean1, sd1, n1, mean2, sd2, n2):
    """SMD with heteroscedastic SDs (Bonett 2009, Psychol Methods 14(3):225-238).

    Standardised by ``sqrt((sd1^2 + sd2^2)/2)`` and multiplied by ``c(n1+n2-2)``;
    the variance is Bonett's eq. with the corrected ``yi`` plugged in, times
    ``c^2`` (as in metafor).
    """
    c = hedges_c(n1 + n2 - 2)
    v1, v2 = sd1**2, sd2**2
    yi = c * (mean1 - mean2) / np.sqrt((v1 + v2) / 2)
    vi = yi**2 * (v1**2 / (n1 - 1) + v2**2 / (n2 - 1)) / (2 * (v1 + v2) ** 2) + (
        v1 / (n1 - 1) + v2 / (n2 - 1)
    ) / ((v1 + v2) / 2)
    return yi, c**2 * vi


def _rom(mean1, sd1, n1, mean2, sd2, n2):
    """Log ratio of means (Hedges, Gurevitch & Curtis 1999, Ecology 80(4):1150-1156).

    ``yi = log(mean1/mean2)``, ``vi = sd1^2/(n1 mean1^2) + sd2^2/(n2 mean2^2)``.
    """
    return np.log(mean1 / mean2), sd1**2 / (n1 * mean1**2) + sd2**2 / (n2 * mean2**2)


def _validate(arrays: Arrays, labels: Sequence[str], measure: str) -> None:
    check_positive(arrays, ("sd1", "sd2"), labels)
    for n in ("n1", "n2"):
        check(arrays[n] < 1, arrays[n], labels, n, ">= 1")
    n1, n2 = arrays["n1"], arrays["n2"]
    if measure == "SMDH":
        for n in ("n1", "n2"):
            check(arrays[n] < 2, arrays[n], labels, n, f">= 2 for {measure}")
    if measure in ("SMD", "SMDH"):
        total = n1 + n2
        check(total <= 3, total, labels, "n1 + n2",
              f"> 3 for {measure} (Hedges' correction needs n1 + n2 - 2 > 1)")
    if measure == "ROM":
        ratio = arrays["mean1"] / np.where(arrays["mean2"] == 0, np.nan, arrays["mean2"])
        bad = ~(ratio > 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise study_error(
                labels[i],
                "mean1 and mean2 must be non-zero and of the same sign for ROM, "
                f"got {arrays['mean1'][i]:g} and {arrays['mean2'][i]:g}",
            )


FAMILY = Family("two-group continuous", COLUMNS, _validate, no_correction)

MEASURES = {
    "MD": Measure(_md, "raw mean difference", FAMILY, label="Mean difference"),
    "SMD": Measure(smd, "standardised mean difference (Hedges' g)", FAMILY,
                   label="Standardised mean difference"),
    "SMDH": Measure(_smdh, "standardised mean difference, heteroscedastic SDs", FAMILY,
                    label="Standardised mean difference"),
    "ROM": Measure(_rom, "log ratio of means", FAMILY, label="Ratio of means",
                   log_scale=True, null=1.0),
}
