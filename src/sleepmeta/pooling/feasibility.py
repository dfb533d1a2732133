"""The one rule for "enough studies for this model".

A model with ``p`` coefficients fitted to ``k`` studies needs (metafor 3.8,
``rma.uni``):

* ``k >= p`` for any model, ``k >= 1``;
* ``k > p`` for an estimator of tau² (it needs residual degrees of freedom);
* ``k > p`` for a test with ``k - p`` degrees of freedom (Knapp-Hartung) —
  except that with one study metafor sets ``test = "z"`` ("Setting argument
  test="z" since k=1") and fits a common-effect model; sleepmeta does the
  same and says so in ``notes``.

:func:`check_fit` applies the rule to one analysis at the public boundary
(``meta_analysis``, diagnostics' refits, subgroups, sweeps);
:func:`feasible_members` applies it to every member of a batch (deletions,
cumulative subsets, groups); :func:`falls_back_to_z` is what the engine uses
for one-study members under a residual-df test.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.errors import ModelError
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS

__all__ = ["check_fit", "falls_back_to_z", "feasible_members", "k1_note"]

def k1_note(test: str) -> str:
    """The note for a one-study analysis whose ``test`` needs residual df.

    Examples
    --------
    >>> k1_note("knha")
    'k = 1: test "z" is used instead of "knha" (metafor: Setting argument test="z" since k=1)'
    """
    return f'k = 1: test "z" is used instead of "{test}" (metafor: Setting argument test="z" since k=1)'


def falls_back_to_z(k, test: str) -> np.ndarray:
    """Which analyses (of ``k`` studies) use ``z`` instead of a residual-df ``test``.

    Examples
    --------
    >>> falls_back_to_z([1, 2, 1], "knha").tolist(), falls_back_to_z([1], "z").tolist()
    ([True, False, True], [False])
    """
    k = np.asarray(k)
    return (k == 1) if TESTS[test].residual_df else np.zeros(k.shape, bool)


def check_fit(k: int, p: int, method: str, test: str, *, where: str = "") -> str:
    """Raise :class:`ModelError` when ``k`` studies cannot fit the model; else the note to add.

    ``where`` prefixes the message (e.g. ``"subgroup 'a': "``). Returns
    ``""``, or the note of metafor's ``k = 1`` rule for a residual-df test.

    Examples
    --------
    >>> check_fit(5, 2, "REML", "knha")
    ''
    >>> check_fit(1, 1, "FE", "knha")[:31]
    'k = 1: test "z" is used instead'
    >>> check_fit(2, 2, "DL", "z")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.ModelError: k = 2 studies for 2 coefficients: tau² cannot be estimated; use fewer moderators or method='FE'
    """
    est = ESTIMATOR_INFO[method]
    if k < max(p, 1):
        raise ModelError(f"{where}k = {k} studies for {p} coefficients: the model cannot be "
                         "fitted; use fewer moderators")
    if est.estimates_tau2 and k == 1:
        raise ModelError(f"{where}k = 1: a random-effects model ({method}) cannot estimate tau² "
                         "from one study; use method='FE'")
    if est.estimates_tau2 and k <= p:
        raise ModelError(f"{where}k = {k} studies for {p} coefficients: tau² cannot be "
                         "estimated; use fewer moderators or method='FE'")
    if TESTS[test].residual_df and k <= p:
        if k == 1:
            return k1_note(test)
        raise ModelError(f"{where}k = {k} studies for {p} coefficient(s): the {test} test has "
                         "k - p = 0 degrees of freedom; use test='z'")
    return ""


def feasible_members(k: np.ndarray, p: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ok, single)`` for the members of a batch of refits of one model.

    ``ok``: the member can be fitted; ``single``: it has one study and an
    intercept-only model, and is fitted as metafor refits ``k = 1``
    (a common-effect model with a z test). Members with ``k - p = 0`` under
    a residual-df test are left to the engine's ``k = 1`` rule.

    Examples
    --------
    >>> ok, single = feasible_members(np.array([3, 1, 0]), 1, "REML")
    >>> ok.tolist(), single.tolist()
    ([True, True, False], [False, True, False])
    """
    k = np.asarray(k)
    single = (k == 1) & (p == 1)
    ok = (k >= ESTIMATOR_INFO[method].min_k(p)) | single
    return ok, single
