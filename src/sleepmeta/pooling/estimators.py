"""The tau² estimators: their definitions, and their branches in the one compiled kernel.

Every fit computes tau² in :func:`sleepmeta.pooling.kernels.tau2.tau2_member`
(one branch per estimator, one analysis at a time, over a batch in
parallel); there is no second implementation. The definitions follow
metafor 3.8's ``rma.uni``, including its starting values, stopping rules and
truncation at zero, so that the numbers agree with it. With
``W = diag(w)``, ``P = W - W X (X'WX)^-1 X'W`` (Viechtbauer 2005, eq. 5),
``Q(t) = y'P(t)y`` the generalised Q with ``w = 1/(vi + t)``, ``k`` studies
and ``p`` coefficients:

* ``FE`` — common-effect model, tau² = 0 (SE NaN).
* ``DL`` — DerSimonian & Laird (1986); with moderators, the generalised
  method of moments form of Raudenbush (2009):
  ``max(0, (Q(0) - (k - p)) / tr(P(0)))`` with weights ``1/vi``;
  ``SE² = (2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)) / tr(P)²``.
* ``HE`` — Hedges (1983), Hedges & Olkin (1985): unweighted moments,
  ``max(0, (y'P0 y - tr(P0 V)) / (k - p))`` with ``P0`` the OLS projection
  complement; ``SE² = (2 tr(P0VP0V) + 4 tau² tr(P0V) + 2 tau⁴ (k-p)) / (k-p)²``.
* ``HS`` / ``HSk`` — Hunter & Schmidt (2004), and its k-corrected version
  (Viechtbauer 2005 notation): ``max(0, (c Q(0) - k) / sum(1/vi))`` with
  ``c = 1`` or ``k / (k - p)``; SE as DL's numerator over ``sum(1/vi)²``,
  times ``c``.
* ``SJ`` — Sidik & Jonkman (2005), one step from the variance of the yi:
  ``tau0² = sum((y - ybar)²)/k``, tau² ``= tau0² Q(tau0²)/(k - p)``.
* ``ML`` / ``REML`` — (restricted) maximum likelihood by Fisher scoring
  from the truncated HE estimate (Viechtbauer 2005): the ML step is
  ``[sum (w e)² - sum w] / sum w²``, the REML step
  ``[y'PPy - tr(P)] / tr(PP)`` (``y'PPy = sum (w e)²`` since ``Py = w e``);
  a step that would make tau² negative is halved until it does not; the
  iteration stops when a step is at most ``control.threshold``; metafor's
  ``ll0check`` takes tau² = 0 when its likelihood is higher. SE
  ``sqrt(2 / sum w²)`` (ML) and ``sqrt(2 / tr(PP))`` (REML).
* ``EB`` — empirical Bayes, Morris (1983), Berkey et al. (1995), iterated
  as metafor does: step ``[k/(k-p) Q(t) - k] / sum w``.
* ``PM`` — Paule & Mandel (1982): the root of ``Q(t) = k - p`` on
  ``[0, max(100, 10 mad(yi)²)]``, found with Brent's method as R's
  ``uniroot`` runs it (:mod:`.zeroin`); 0 when ``Q(0) < k - p``.
  EB and PM share the SE ``sqrt(2 k² / (k - p) / (sum w)²)``.

For tau² the yi are centred on their unweighted mean, as metafor does.
With the default control (``control=None``), an iterative member that does
not converge in ``maxiter`` steps (Fisher scoring can oscillate) is run again
with metafor's documented remedy :data:`.registry.FALLBACK_CONTROL`
(``stepadj=0.5, maxiter=1000``) and flagged; the engine reads
:data:`.registry.DEFAULT_CONTROL` and ``FALLBACK_CONTROL`` at each fit. A
new estimator is one kernel branch, one line in :data:`ESTIMATORS` and one
in :data:`.registry.ESTIMATOR_INFO`.

Examples
--------
>>> ESTIMATORS["REML"], sorted(ESTIMATORS)[:3]
(7, ['DL', 'EB', 'FE'])
"""

from __future__ import annotations

__all__ = ["ESTIMATORS"]

#: The tau² estimators by metafor's abbreviations (in metafor's order, as
#: :data:`.registry.ESTIMATOR_INFO`): each name's branch code in
#: :func:`sleepmeta.pooling.kernels.tau2.tau2_member`.
ESTIMATORS: dict[str, int] = {name: code for code, name in enumerate(
    ("FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"))}
