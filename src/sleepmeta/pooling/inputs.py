"""Resolve and validate ``yi``/``vi`` given as arrays, column names or EffectSizes.

The accepted range
------------------
Every estimator works in double precision on sums such as ``sum(yi² / vi)``,
``sum(1 / vi²)`` and ``tau2²``. So that none of them can overflow (and turn
into ``inf`` or ``nan`` without a word), the public entry points accept

* ``|yi| <= YI_MAX`` (1e50),
* ``VI_MIN <= vi <= VI_MAX`` (1e-50 to 1e50),

and refuse anything else with an :class:`~sleepmeta.errors.InputError` that
names the study. Effect sizes and variances of real studies are many orders
of magnitude inside it; rescale the data (e.g. seconds to hours) if not.
Inside the range a fit whose numbers still cannot be represented (variances
spanning so many orders of magnitude that the weights cancel in double
precision) is refused after fitting (:func:`check_finite_fit`), never returned
as NaN or infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from sleepmeta._lookup import column_of
from sleepmeta.effects.columns import resolve_labels
from sleepmeta.errors import InputError, ModelError, unknown_option

#: Largest accepted ``|yi|`` (see the module docstring).
YI_MAX = 1e50
#: Smallest and largest accepted sampling variance ``vi``.
VI_MIN, VI_MAX = 1e-50, 1e50
#: What the rule says, for messages and docs.
RANGE_RULE = f"|yi| <= {YI_MAX:g} and {VI_MIN:g} <= vi <= {VI_MAX:g}"


@dataclass
class Inputs:
    """Validated inputs of one analysis: finite ``yi``, ``vi > 0``, labels, notes.

    Examples
    --------
    >>> inp = resolve_inputs([0.1, 0.3], [0.01, 0.02], labels=["a", "b"])
    >>> inp.labels, inp.measure, inp.notes
    (['a', 'b'], None, ())
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    measure: str | None
    data: pd.DataFrame | None
    notes: tuple[str, ...]


def column_or_values(data: pd.DataFrame | None, value, name: str):
    """``value`` itself, or the column of ``data`` it names (a string).

    Examples
    --------
    >>> import pandas as pd
    >>> column_or_values(pd.DataFrame({"a": [1, 2]}), "a", "yi").tolist(), column_or_values(None, [3], "yi")
    ([1, 2], [3])
    """
    return column_of(data, value, name) if isinstance(value, str) else value


def resolve_inputs(yi, vi, *, data=None, labels=None, missing="raise", measure=None) -> Inputs:
    """Turn the user's ``yi``/``vi`` into validated float arrays with labels.

    Examples
    --------
    >>> inp = resolve_inputs([0.1, float("nan"), 0.3], [0.01, 0.02, 0.03], missing="drop")
    >>> inp.yi.tolist(), inp.labels, inp.notes
    ([0.1, 0.3], ['1', '3'], ('dropped 1 incomplete study: 2',))
    """
    if missing not in ("raise", "drop"):
        raise unknown_option("missing", missing, ("raise", "drop"))
    notes: list[str] = []
    for name, value in (("yi", yi), ("vi", vi)):
        if isinstance(value, pd.DataFrame):
            raise InputError(f"{name} is a DataFrame; pass the table as data= and name its "
                             "columns, e.g. meta_analysis('yi', 'vi', data=df)")
    if hasattr(yi, "yi") and hasattr(yi, "vi"):  # an EffectSizes
        es = yi
        y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
        labs = list(map(str, es.labels)) if labels is None else resolve_labels(labels, data, y.size)
        measure = measure or es.measure
        corr = es.correction
        if corr:
            notes.append(str(corr))
    else:
        if data is not None:
            yi = "yi" if yi is None else yi
            vi = "vi" if vi is None else vi
        if yi is None or vi is None:
            raise InputError("meta_analysis needs yi and vi (arrays, or column names with data=)")
        y = np.asarray(column_or_values(data, yi, "yi"), dtype=float).ravel()
        v = np.asarray(column_or_values(data, vi, "vi"), dtype=float).ravel()
        if y.size != v.size:
            raise InputError(f"yi has {y.size} values but vi has {v.size}; they must be equal")
        labs = resolve_labels(labels, data, y.size)
    if y.size == 0:
        raise InputError("no studies: yi is empty")
    kind, _, i = first_invalid(y[None], v[None], np.ones((1, y.size), np.bool_))
    if kind == 1 and not (math.isfinite(y[i]) and math.isfinite(v[i])):  # incomplete studies
        incomplete = ~(np.isfinite(y) & np.isfinite(v))
        if missing == "raise":
            i = int(np.flatnonzero(incomplete)[0])
            field = "yi" if not np.isfinite(y[i]) else "vi"
            raise InputError(f"study {labs[i]!r}: {field} must be a finite number, got "
                             f"{(y if field == 'yi' else v)[i]!r} (use missing='drop' to drop "
                             "incomplete studies)")
        dropped = [labs[i] for i in np.flatnonzero(incomplete)]
        notes.append(f"dropped {len(dropped)} incomplete stud{'y' if len(dropped) == 1 else 'ies'}: "
                     + ", ".join(dropped))
        keep = ~incomplete
        y, v = y[keep], v[keep]
        labs = [lab for lab, kp in zip(labs, keep) if kp]
        if data is not None:
            data = data.loc[keep]
        if y.size == 0:
            raise InputError("no studies left after dropping incomplete ones")
        kind, _, i = first_invalid(y[None], v[None], np.ones((1, y.size), np.bool_))
    if kind == 1:  # all finite here: vi <= 0
        raise InputError(f"study {labs[i]!r}: vi must be > 0, got {v[i]!r}")
    if kind == 2:
        raise InputError(f"study {labs[i]!r}: {out_of_range_text(y[i], v[i])}")
    return Inputs(y, v, labs, measure, data, tuple(notes))


@njit(cache=True, inline="always")
def _usable(y, v):
    """yi and vi finite and vi > 0 (False for NaN), without branches."""
    return (abs(y) < math.inf) & (v > 0) & (v < math.inf)


@njit(cache=True)
def _outside(y, v):
    """The accepted-range rule for one study (NaN is not outside: finiteness is checked apart)."""
    return (abs(y) > YI_MAX) | (v < VI_MIN) | (v > VI_MAX)


@njit(cache=True)
def _outside_many(y, v, out):
    for i in range(y.size):
        out[i] = _outside(y[i], v[i])


def out_of_range(yi, vi) -> np.ndarray:
    """Boolean mask of finite entries outside the accepted range (see the module docstring).

    >>> out_of_range(np.array([1.0, 1e60]), np.array([0.1, 0.1])).tolist()
    [False, True]
    """
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.shape != vi.shape:
        yi, vi = np.broadcast_arrays(yi, vi)
    out = np.empty(yi.shape, bool)
    _outside_many(np.ascontiguousarray(yi).ravel(), np.ascontiguousarray(vi).ravel(), out.ravel())
    return out


@njit(cache=True)
def first_invalid(yi, vi, mask):
    """The first bad study of a ``(B, k)`` batch, in one pass: ``(kind, b, j)``.

    ``kind`` 1: the first masked study whose yi or vi is not finite or whose
    vi is not > 0; else 2: the first one outside the accepted range; else 0
    (``b = j = -1``). A ``(1, k)`` mask holds for every row. Needs no
    temporaries of the batch's size. (Each row is
    checked without branches, which the compiler vectorises; a row with a
    bad study is scanned again to find it.)

    Examples
    --------
    >>> first_invalid(np.array([[0.1, 1e60]]), np.array([[0.1, 0.1]]), np.ones((1, 2), np.bool_))
    (2, 0, 1)
    """
    ob, oj = -1, -1
    shared = mask.shape[0] == 1
    for b in range(yi.shape[0]):
        m = mask[0] if shared else mask[b]
        bad = False
        far = False
        for j in range(yi.shape[1]):
            y, v = yi[b, j], vi[b, j]
            bad |= m[j] & ~_usable(y, v)
            far |= m[j] & _outside(y, v)
        if bad:
            for j in range(yi.shape[1]):
                if m[j] and not _usable(yi[b, j], vi[b, j]):
                    return 1, b, j
        if far and ob < 0:
            for j in range(yi.shape[1]):
                if m[j] and _outside(yi[b, j], vi[b, j]):
                    ob, oj = b, j
                    break
    return (2, ob, oj) if ob >= 0 else (0, -1, -1)


@njit(cache=True)
def studies_per_analysis(mask):
    """``k`` of each analysis of a ``(B, k)`` mask (a compiled count; NumPy's sum over a short
    axis of booleans takes several times longer).

    Examples
    --------
    >>> studies_per_analysis(np.array([[True, False, True], [False, False, True]])).tolist()
    [2, 1]
    """
    k = np.empty(mask.shape[0], np.int64)
    for b in range(mask.shape[0]):
        n = 0
        for j in range(mask.shape[1]):
            n += mask[b, j]
        k[b] = n
    return k


def first_out_of_range(yi, vi) -> int | None:
    """Index of the first study outside the accepted range, or None.

    >>> first_out_of_range([0.1, 0.2], [0.01, 1e-60]), first_out_of_range([0.1], [0.01])
    (1, None)
    """
    bad = np.flatnonzero(out_of_range(yi, vi))
    return int(bad[0]) if bad.size else None


def out_of_range_text(y: float, v: float) -> str:
    """Say which of ``y``, ``v`` breaks the accepted range, and how to fix it.

    >>> out_of_range_text(1e60, 0.1)[:38]
    'yi = 1e+60 is outside [-1e+50, 1e+50],'
    """
    if abs(y) > YI_MAX:
        what = f"yi = {float(y)!r} is outside [-{YI_MAX:g}, {YI_MAX:g}]"
    else:
        what = f"vi = {float(v)!r} is outside [{VI_MIN:g}, {VI_MAX:g}]"
    return (f"{what}, the accepted range ({RANGE_RULE}) in which every estimator computes "
            "finite numbers; rescale the effect sizes (e.g. other units)")


#: Largest accepted count (events or participants) of a 2x2 table.
COUNT_MAX = 1e12


def check_level(level) -> float:
    """The confidence level as a float in (0, 1), or an :class:`InputError`.

    >>> check_level(0.9)
    0.9
    """
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating, np.integer)) \
            or not 0 < level < 1:
        raise InputError(f"level must be a number between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(level)


#: Fields of a fit that must be finite for every member with k > p.
_FINITE_FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2", "h2")


def nonfinite_members(fit) -> np.ndarray:
    """Members of a :class:`~sleepmeta.pooling.engine.BatchFit` with a non-finite result.

    A member with ``k > p`` must have a finite estimate, SE, CI, tau², Q, I²,
    H², coefficient SEs (and the SE of tau² for a random-effects method);
    members that did not converge are left to the convergence check. The
    fit kernel checks this for each member as it finishes it
    (``BatchFit.nonfinite``).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis_batch
    >>> fit = meta_analysis_batch([[0.1, 0.3, 0.2]], [[0.01, 0.02, 0.03]], method="DL")
    >>> nonfinite_members(fit).tolist()
    [False]
    """
    return np.asarray(fit.nonfinite, bool)


def nonfinite_error(fit, b: int, yi, vi, where: str) -> ModelError:
    """The error for member ``b`` whose numbers are not finite (see :func:`nonfinite_members`).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis_batch
    >>> fit = meta_analysis_batch([[0.1, 0.3, 0.2]], [[0.01, 0.02, 0.03]], method="DL")
    >>> fit.tau2[0] = float("inf")
    >>> str(nonfinite_error(fit, 0, [0.1, 0.3, 0.2], [0.01, 0.02, 0.03], "analysis 0"))[:60]
    'analysis 0: the DL fit cannot be computed in double precisio'
    """
    names = [n for n in _FINITE_FIELDS + (() if fit.method == "FE" else ("tau2_se",))
             if not np.isfinite(float(np.asarray(getattr(fit, n))[b]))]
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    return ModelError(
        f"{where}: the {fit.method} fit cannot be computed in double precision "
        f"({', '.join(names) or 'a coefficient'} not finite): the effect sizes span "
        f"{np.nanmin(np.abs(y)):.3g} to {np.nanmax(np.abs(y)):.3g} in absolute value and the "
        f"variances {np.nanmin(v):.3g} to {np.nanmax(v):.3g}; check the data or rescale them")
