"""Covariance of contrasts that share one reference arm.

Every non-reference dose arm of a study is compared with the same reference
arm, so the contrasts are correlated: they share the reference arm's
sampling error. Each function returns the contrasts ``y`` (non-reference
arms, in the order given) and their covariance matrix ``S``.

* :func:`greenland_longnecker` -- log relative risks, odds ratios or rate
  ratios (adjusted or crude) with the number of cases and subjects (or
  person-time) per level: Greenland S, Longnecker MP. Methods for trend
  estimation from summarized dose-response data, with applications to
  meta-analysis. Am J Epidemiol 1992;135:1301-9. The fitted ("effective")
  cells reproduce the given ratios while keeping the observed totals of
  cases and subjects; the covariance of two log ratios is the reference
  cells' variance term, scaled to the given variances (Orsini N, Bellocco
  R, Greenland S. Stata J 2006;6:40-57, eq. 4).
* :func:`hamling` -- the same correlations from effective counts fitted
  after Hamling J, Lee P, Weitkunat R, Ambühl M. Stat Med 2008;27:954-70:
  the effective counts reproduce the given ratios *and* their variances and
  keep the observed share of the reference level and the ratio of
  non-cases (or subjects) to cases.
* :func:`crude_ratio_contrasts` -- log RR or log OR straight from arm counts
  (randomised dose arms): the Greenland–Longnecker covariance with the
  observed cells, ``Cov = 1/a0 - 1/n0`` (RR) or ``1/a0 + 1/b0`` (OR).
* :func:`shared_control_md` and :func:`shared_control_smd` -- mean
  differences and standardised mean differences against a shared control
  (Gleser LJ, Olkin I. Stochastically dependent effect sizes. In: Cooper,
  Hedges, Valentine (eds), The Handbook of Research Synthesis and
  Meta-Analysis, 2nd ed. 2009, ch. 19, the multiple-treatment case).

The reference arm is the first element of every input array.
"""

from __future__ import annotations

import math

import numpy as np

from sleepmeta.errors import ConvergenceError, InputError, unknown_option

__all__ = ["TYPES", "crude_ratio_contrasts", "greenland_longnecker", "hamling",
           "shared_control_md", "shared_control_smd"]

#: Study designs of ratio data: case-control (odds ratios), cumulative
#: incidence (risk ratios), incidence rate (rate ratios, ``n`` = person-time).
TYPES = ("cc", "ci", "ir")


def _check_type(kind: str) -> None:
    if kind not in TYPES:
        raise unknown_option("type", kind, TYPES)


def _cell_terms(a, n, kind):
    """Variance term of one level's log risk (odds, rate) from its cells."""
    if kind == "cc":
        return 1.0 / a + 1.0 / (n - a)
    if kind == "ci":
        return 1.0 / a - 1.0 / n
    return 1.0 / a


def _scaled_cov(c0: float, cj: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Correlation ``c0 / sqrt((c0 + cj)(c0 + cl))`` times ``sqrt(vj vl)``."""
    tot = c0 + cj
    corr = c0 / np.sqrt(np.outer(tot, tot))
    np.fill_diagonal(corr, 1.0)
    sd = np.sqrt(v)
    return corr * np.outer(sd, sd)


def _log_ratio(a, n, a0, n0, kind):
    if kind == "cc":
        return np.log(a / (n - a)) - math.log(a0 / (n0 - a0))
    return np.log(a / n) - math.log(a0 / n0)


def _as_arrays(y, v, cases, n, study):
    y, v, cases, n = (np.asarray(x, dtype=float) for x in (y, v, cases, n))
    if not (len(y) == len(v) == len(cases) == len(n)) or len(y) < 2:
        raise InputError(f"study {study!r}: need the reference and at least one other level "
                         f"with equal lengths, got {len(y)}, {len(v)}, {len(cases)}, {len(n)}")
    return y[1:], v[1:], cases, n


def greenland_longnecker(y, v, cases, n, *, type: str = "ci", study: object = None,
                         tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """Covariance of log ratios against one reference level (Greenland & Longnecker 1992).

    The effective cases ``A_j`` solve ``log(A_j / B_j) - log(A_0 / B_0) = y_j``
    with ``B = n - A`` (``cc`` and ``ci``, as Greenland & Longnecker and
    Stata's ``glst`` / dosresmeta's ``grl`` fit them) or ``log(A_j / n_j) -
    log(A_0 / n_0) = y_j`` (``ir``, ``n`` = person-time), for every
    non-reference level, with ``sum(A) = sum(cases)`` and ``n`` fixed; Newton's
    method from the observed cases (Jacobian ``diag(c_j) + c_0 11'``). Then
    ``Cov(y_j, y_l) = c_0 / sqrt((c_0 + c_j)(c_0 + c_l)) * sqrt(v_j v_l)``
    with ``c = 1/A + 1/(n - A)`` (``cc``), ``1/A - 1/n`` (``ci``) or ``1/A``
    (``ir``). For randomised arms with crude counts use
    :func:`crude_ratio_contrasts`, whose cells are the observed ones.

    Parameters
    ----------
    y, v : array_like
        Log ratios and their variances, reference level first (``0, 0``).
    cases, n : array_like
        Cases and subjects (person-time for ``ir``) per level, reference first.
    type : {"ci", "cc", "ir"}
    study : object, optional
        The study's label, used in error messages.

    Returns
    -------
    numpy.ndarray
        ``(k-1, k-1)`` covariance of the non-reference log ratios.

    Examples
    --------
    Crude rate ratios give the observed cells: the covariance is the
    reference level's ``1/a0 = 1/10``:

    >>> import numpy as np
    >>> cases, pt = np.array([10., 20, 30]), np.array([1000., 1000, 1000])
    >>> y = np.log(cases / 10); v = 1 / cases + 0.1; v[0] = 0
    >>> S = greenland_longnecker(y, v, cases, pt, type="ir")
    >>> round(float(S[0, 1]), 12)
    0.1
    """
    _check_type(type)
    yj, vj, cases, n = _as_arrays(y, v, cases, n, study)
    if cases[0] <= 0:
        raise InputError(f"study {study!r}: cases in the reference level must be > 0 for "
                         f"Greenland-Longnecker, got {cases[0]:g}")
    if np.any(cases <= 0) or np.any(n <= 0) or (type != "ir" and np.any(cases >= n)):
        raise InputError(f"study {study!r}: Greenland-Longnecker needs 0 < cases < n at every "
                         f"level, got cases {cases.tolist()}, n {n.tolist()}")
    total = cases.sum()
    a = cases[1:].copy()
    for _ in range(max_iter):
        a0 = total - a.sum()
        if a0 <= 0 or np.any(a <= 0) or (type != "ir" and (a0 >= n[0] or np.any(a >= n[1:]))):
            break
        fitted = "ir" if type == "ir" else "cc"
        e = _log_ratio(a, n[1:], a0, n[0], fitted) - yj
        c0 = _cell_terms(a0, n[0], fitted)
        cj = _cell_terms(a, n[1:], fitted)
        jac = np.diag(cj) + c0
        step = np.linalg.solve(jac, e)
        a = a - step
        if np.sum(step ** 2) < tol * (1.0 + np.sum(a ** 2)):
            a0 = total - a.sum()
            return _scaled_cov(_cell_terms(a0, n[0], type), _cell_terms(a, n[1:], type), vj)
    raise ConvergenceError(f"study {study!r}: Greenland-Longnecker fitted cells did not converge "
                           f"in {max_iter} Newton steps (last cases {a.tolist()})")


def _hamling_cells(a0, n0, ratio, v, kind):
    """Effective cells of the non-reference levels given the reference cells."""
    if kind == "cc":
        b0 = n0 - a0
        w = v - 1.0 / a0 - 1.0 / b0
        a = (1.0 + ratio * a0 / b0) / w
        b = a * b0 / (ratio * a0)
        return a, a + b, w
    if kind == "ci":
        w = v - 1.0 / a0 + 1.0 / n0
        a = (1.0 - ratio * a0 / n0) / w
        return a, a * n0 / (ratio * a0), w
    w = v - 1.0 / a0
    a = 1.0 / w
    return a, a * n0 / (ratio * a0), w


def hamling(y, v, cases, n, *, type: str = "ci", study: object = None) -> np.ndarray:
    """Covariance of log ratios from Hamling et al.'s (2008) effective counts.

    The reference level's effective cells ``(A0, N0)`` are found so that the
    effective counts of all levels reproduce the given ratios and variances
    while the reference level's share (of non-cases for ``cc``, of subjects
    or person-time otherwise) and the ratio of non-cases (``cc``) or
    subjects to cases equal those of the reported counts. The two equations
    are solved exactly (``scipy.optimize.root`` on log counts; dosresmeta
    minimises their squared relative errors with Nelder-Mead). The
    covariance then follows as in :func:`greenland_longnecker`.

    Examples
    --------
    Counts consistent with the crude ratios give the crude covariance back:

    >>> import numpy as np
    >>> cases, n = np.array([10., 20, 30]), np.array([100., 100, 100])
    >>> y = np.log(cases / n) - np.log(0.1); v = 1 / cases - 1 / n + 0.09; v[0] = 0; y[0] = 0
    >>> round(float(hamling(y, v, cases, n, type="ci")[0, 1]), 8)
    0.09
    """
    _check_type(type)
    yj, vj, cases, n = _as_arrays(y, v, cases, n, study)
    if np.any(cases <= 0) or np.any(n <= 0) or np.any(vj <= 0):
        raise InputError(f"study {study!r}: Hamling needs cases > 0, n > 0 and variances > 0, "
                         f"got cases {cases.tolist()}, n {n.tolist()}, v {vj.tolist()}")
    ratio = np.exp(yj)
    if type == "cc":
        p_ref, z = (n[0] - cases[0]) / np.sum(n - cases), np.sum(n - cases) / cases.sum()
    else:
        p_ref, z = n[0] / n.sum(), n.sum() / cases.sum()

    def equations(par):
        a0, n0 = np.exp(par)
        a, nn, w = _hamling_cells(a0, n0, ratio, vj, type)
        if np.any(w <= 0) or np.any(a <= 0) or np.any(nn <= 0):
            return np.array([1e3, 1e3])
        if type == "cc":
            non = np.concatenate([[n0 - a0], nn - a])
            p1, z1 = non[0] / non.sum(), non.sum() / (a0 + a.sum())
        else:
            p1, z1 = n0 / (n0 + nn.sum()), (n0 + nn.sum()) / (a0 + a.sum())
        return np.array([(p1 - p_ref) / p_ref, (z1 - z) / z])

    from scipy import optimize  # here: scipy.optimize costs a noticeable import at start-up

    sol = optimize.root(equations, np.log([cases[0], n[0]]), method="hybr", tol=1e-12)
    if not sol.success or np.max(np.abs(equations(sol.x))) > 1e-8:
        raise ConvergenceError(f"study {study!r}: Hamling effective counts not found "
                               f"({sol.message.strip()})")
    a0, n0 = np.exp(sol.x)
    a, nn, _ = _hamling_cells(a0, n0, ratio, vj, type)
    return _scaled_cov(_cell_terms(a0, n0, type), _cell_terms(a, nn, type), vj)


def crude_ratio_contrasts(events, n, *, measure: str = "RR", study: object = None):
    """Log RR or log OR of each arm against the first, with their covariance.

    From arm counts the Greenland–Longnecker cells are the observed ones:
    ``y_j = log(a_j/n_j) - log(a0/n0)`` with ``Var = 1/a_j - 1/n_j + 1/a0 -
    1/n0`` and ``Cov = 1/a0 - 1/n0`` (RR), or the log odds ratios with
    ``1/a + 1/b`` terms (OR). A non-reference arm with 0 events (or, for
    OR, 0 non-events) gets 1/2 added to its cells and the reference's
    (escalc's ``add=1/2`` for that comparison, reported by the caller); a
    reference arm with 0 events has no log ratio and is an error.

    Returns
    -------
    y : numpy.ndarray
        Log ratios of the non-reference arms.
    S : numpy.ndarray
        Their covariance.
    corrected : bool
        Whether the 1/2 correction was applied.

    Examples
    --------
    Three arms: placebo 10/100, 20/100, 30/100. The covariance of the two
    log RRs is the placebo arm's ``1/10 - 1/100 = 0.09``:

    >>> y, S, corrected = crude_ratio_contrasts([10, 20, 30], [100, 100, 100])
    >>> [round(float(x), 6) for x in y], round(float(S[0, 1]), 6), corrected
    ([0.693147, 1.098612], 0.09, False)
    """
    if measure not in ("RR", "OR"):
        raise unknown_option("measure", measure, ("RR", "OR"))
    a = np.asarray(events, dtype=float)
    nn = np.asarray(n, dtype=float)
    if a[0] <= 0:
        raise InputError(f"study {study!r}: the reference arm has 0 events; its log {measure} "
                         "contrasts (Greenland-Longnecker) are undefined")
    if measure == "OR" and a[0] >= nn[0]:
        raise InputError(f"study {study!r}: every participant of the reference arm has the event; "
                         "log odds ratios are undefined")
    zero = (a[1:] == 0) | ((measure == "OR") & (a[1:] == nn[1:]))
    corrected = bool(np.any(zero))
    if corrected:
        a, nn = a + 0.5, nn + 1.0
    kind = "cc" if measure == "OR" else "ci"
    c = _cell_terms(a, nn, kind)
    y = _log_ratio(a[1:], nn[1:], a[0], nn[0], kind)
    S = np.full((len(y), len(y)), c[0])
    S[np.diag_indices_from(S)] = c[0] + c[1:]
    return y, S, corrected


def shared_control_md(mean, sd, n):
    """Mean differences against the first arm and their covariance.

    ``Var(m_j - m_0) = sd_j^2/n_j + sd_0^2/n_0`` and ``Cov = sd_0^2/n_0``
    (Gleser & Olkin 2009, multiple-treatment studies, with each arm's own
    variance as in metafor's ``escalc(measure="MD")``; dosresmeta's
    ``covar.smd(measure="md")`` puts a pooled SD in the variances).

    Examples
    --------
    >>> y, S = shared_control_md([10, 7, 5], [4, 4, 5], [16, 16, 25])
    >>> y.tolist(), S.tolist()
    ([-3.0, -5.0], [[2.0, 1.0], [1.0, 2.0]])
    """
    mean, sd, n = (np.asarray(x, dtype=float) for x in (mean, sd, n))
    c = sd ** 2 / n
    S = np.full((len(mean) - 1,) * 2, c[0])
    S[np.diag_indices_from(S)] = c[0] + c[1:]
    return mean[1:] - mean[0], S


def shared_control_smd(mean, sd, n):
    """Standardised mean differences against the first arm and their covariance.

    With the SD pooled over all ``k`` arms, ``s_p^2 = sum((n-1) sd^2) /
    sum(n-1)``, ``d_j = (m_j - m_0) / s_p``; Gleser & Olkin (2009) give
    ``Var(d_j) = 1/n_j + 1/n_0 + d_j^2 / (2N)`` and ``Cov(d_j, d_l) = 1/n_0 +
    d_j d_l / (2N)`` with ``N = sum(n)`` -- dosresmeta's ``covar.smd``
    (``method="cohens"``).

    Examples
    --------
    Two arms of 10 with equal SDs: ``d = 1``, ``Var = 0.2 + 1/40``:

    >>> y, S = shared_control_smd([0, 2], [2, 2], [10, 10])
    >>> float(y[0]), float(S[0, 0])
    (1.0, 0.225)
    """
    mean, sd, n = (np.asarray(x, dtype=float) for x in (mean, sd, n))
    sp = math.sqrt(np.sum((n - 1) * sd ** 2) / np.sum(n - 1))
    d = (mean[1:] - mean[0]) / sp
    S = 1.0 / n[0] + np.outer(d, d) / (2 * n.sum())
    S[np.diag_indices_from(S)] += 1.0 / n[1:]
    return d, S
