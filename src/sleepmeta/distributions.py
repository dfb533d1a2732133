"""Tail probabilities and quantiles of the normal, t, chi² and F distributions.

The same numbers as ``scipy.stats.norm``, ``t``, ``chi2`` and ``f`` (``cdf``,
``sf``, ``ppf``, ``isf``; standard location and scale), computed by the
``scipy.special`` functions those distributions call, without importing
``scipy.stats``: that import costs about 0.35 s of CPU, more than everything
a command line run computes with these functions. Call sites read as with
scipy.stats (``from sleepmeta import distributions as stats``;
``stats.t.isf(0.025, df)``).

What scipy.stats adds around the special function, and is kept here: a
quantile or probability of exactly zero is ``+0.0`` (scipy.stats computes
``value * scale + loc``, which turns ``-0.0`` into ``0.0``). Arguments
outside a distribution's domain (a probability outside [0, 1], df <= 0)
give NaN, as there; callers in sleepmeta never pass them. A test checks
every function against scipy.stats on random and edge-case arguments.

The critical values of a two-sided 95% interval (any statistics table):

>>> round(float(norm.isf(0.025)), 6), round(float(t.isf(0.025, 10)), 3)
(1.959964, 2.228)
>>> round(float(chi2.sf(3.841459, 1)), 6)
0.05
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["chi2", "f", "norm", "t"]


def _plus_zero(x):
    """``x`` with ``-0.0`` as ``+0.0`` (and a 0-d result as a NumPy scalar, as scipy.stats)."""
    out = np.add(x, 0.0)
    return out[()] if isinstance(out, np.ndarray) else out


def _ends(value, q, at_zero: float, at_one: float):
    """Quantiles at ``q = 0`` and ``q = 1`` are the support's ends, NaN outside [0, 1], as
    scipy.stats sets them (e.g. ``stdtrit(df, 0)`` is +inf, where ``t.ppf(0, df)`` is -inf)."""
    q = np.asarray(q, float)
    if not ((q == 0) | (q == 1) | (q < 0) | (q > 1)).any():
        return value
    out = np.where(q == 0, at_zero, np.where(q == 1, at_one, value))
    return _plus_zero(np.where((q < 0) | (q > 1), np.nan, out))


def _in_df(value, *dfs):
    """NaN where a degrees-of-freedom argument is not positive (scipy.stats' ``_argcheck``)."""
    bad = np.zeros(np.shape(value), bool)
    for df in dfs:
        bad = bad | ~(np.asarray(df) > 0)
    if not bad.any():
        return value
    return _plus_zero(np.where(bad, np.nan, value))


class _Normal:
    """The standard normal distribution (``scipy.stats.norm``)."""

    @staticmethod
    def cdf(x):
        return _plus_zero(special.ndtr(x))

    @staticmethod
    def sf(x):
        return _plus_zero(special.ndtr(np.negative(x)))

    @staticmethod
    def ppf(q):
        return _ends(_plus_zero(special.ndtri(q)), q, -np.inf, np.inf)

    @staticmethod
    def isf(q):
        return _ends(_plus_zero(np.negative(special.ndtri(q))), q, np.inf, -np.inf)


class _StudentT:
    """Student's t distribution with ``df`` degrees of freedom (``scipy.stats.t``)."""

    @staticmethod
    def cdf(x, df):
        return _in_df(_plus_zero(special.stdtr(df, x)), df)

    @staticmethod
    def sf(x, df):
        return _in_df(_plus_zero(special.stdtr(df, np.negative(x))), df)

    @staticmethod
    def ppf(q, df):
        return _in_df(_ends(_plus_zero(special.stdtrit(df, q)), q, -np.inf, np.inf), df)

    @staticmethod
    def isf(q, df):
        return _in_df(_ends(_plus_zero(np.negative(special.stdtrit(df, q))), q, np.inf, -np.inf),
                      df)


class _ChiSquared:
    """The chi² distribution with ``df`` degrees of freedom (``scipy.stats.chi2``)."""

    @staticmethod
    def cdf(x, df):
        return _in_df(_plus_zero(special.chdtr(df, np.maximum(x, 0.0))), df)

    @staticmethod
    def sf(x, df):
        return _in_df(_plus_zero(special.chdtrc(df, np.maximum(x, 0.0))), df)

    @staticmethod
    def ppf(q, df):
        return _in_df(_ends(_plus_zero(2 * special.gammaincinv(np.divide(df, 2), q)), q, 0.0,
                            np.inf), df)

    @staticmethod
    def isf(q, df):
        return _in_df(_ends(_plus_zero(special.chdtri(df, q)), q, np.inf, 0.0), df)


class _FisherF:
    """The F distribution with ``dfn`` and ``dfd`` degrees of freedom (``scipy.stats.f``)."""

    @staticmethod
    def cdf(x, dfn, dfd):
        return _in_df(_plus_zero(special.fdtr(dfn, dfd, np.maximum(x, 0.0))), dfn, dfd)

    @staticmethod
    def sf(x, dfn, dfd):
        return _in_df(_plus_zero(special.fdtrc(dfn, dfd, np.maximum(x, 0.0))), dfn, dfd)


norm = _Normal()
t = _StudentT()
chi2 = _ChiSquared()
f = _FisherF()
