"""Validate the inputs of ``meta_analysis_mv`` once, at the public boundary.

``yi`` and ``V`` (a vector of sampling variances or a full matrix), the
random terms (columns of ``data``) and the structure become the engine's
integer codes (:class:`~.blocks.Term`). Errors name the study (row label),
the field and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sleepmeta._lookup import column_of
from sleepmeta.errors import ColumnError, InputError, ModelError, unknown_option
from sleepmeta.pooling.inputs import first_out_of_range, out_of_range_text
from sleepmeta.pooling.multilevel.blocks import Term
from sleepmeta.pooling.multilevel.random import RandomTerm, parse_random_list
from sleepmeta.pooling.multilevel.structures import STRUCTS, Structure

__all__ = ["TermInfo", "check_identifiable", "resolve_random", "resolve_structs", "resolve_yv"]


@dataclass(frozen=True)
class TermInfo:
    """A random term with what the summary prints about it.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["a", "a", "b"], "outcome": ["x", "y", "x"]})
    >>> info = resolve_random("~ outcome | study", "UN", d, ["1", "2", "3"], 3)[0]
    >>> info.nlevels, info.inner_levels, info.inner_k
    (2, ('x', 'y'), (2, 1))
    """

    term: RandomTerm
    engine: Term
    nlevels: int                 # clusters (outer levels) of a sigma2 term or of the outer factor
    inner_levels: tuple = ()     # inner levels (or GEN column names)
    inner_k: tuple = ()          # rows per inner level
    fixed_zero: bool = False     # a single-level sigma2 factor, fixed at 0 as metafor does


def resolve_yv(yi, V, data, labels):
    """Return ``y`` (n,), the full ``V`` (n, n) and row labels.

    >>> y, V, labels = resolve_yv([0.1, 0.2], [0.01, 0.02], None, None)
    >>> V.tolist(), labels
    ([[0.01, 0.0], [0.0, 0.02]], ['1', '2'])
    """
    if hasattr(yi, "yi") and hasattr(yi, "vi"):  # an EffectSizes brings vi and labels
        es = yi
        yi = np.asarray(es.yi, float)
        V = np.asarray(es.vi, float) if V is None else V
        if labels is None and getattr(es, "labels", None) is not None:
            labels = list(map(str, es.labels))
    if yi is None:
        yi = "yi"
    y = column_of(data, yi, "yi") if isinstance(yi, str) else yi
    y = np.asarray(y, float).ravel()
    n = y.size
    if n == 0:
        raise InputError("no estimates: yi is empty")
    if V is None:
        V = "vi" if data is not None else None
        if V is None:
            raise InputError("meta_analysis_mv needs V (sampling variances or a covariance matrix)")
    if isinstance(V, str):
        V = column_of(data, V, "V")
    V = np.asarray(V.toarray() if hasattr(V, "toarray") else V, float)
    labs = _labels(labels, data, n)
    if V.ndim == 1 or (V.ndim == 2 and 1 in V.shape and n > 1):
        v = V.ravel()
        if v.size != n:
            raise InputError(f"V has {v.size} sampling variances but there are {n} estimates")
        V = np.diag(v)
    elif V.shape != (n, n):
        raise InputError(f"V must be a vector of {n} variances or an {n} x {n} matrix, got shape "
                         f"{V.shape}")
    dv = np.diag(V)
    bad_y = ~np.isfinite(y)
    bad_v = ~(np.isfinite(dv) & (dv > 0))
    if bad_y.any() or bad_v.any():
        i = int(np.flatnonzero(bad_y | bad_v)[0])
        if bad_y[i]:
            raise InputError(f"study {labs[i]!r}: yi must be a finite number, got {y[i]!r}")
        raise InputError(f"study {labs[i]!r}: the sampling variance (diagonal of V) must be "
                         f"finite and > 0, got {V[i, i]!r}")
    bad = first_out_of_range(y, np.diag(V))  # the accepted range of meta_analysis, one rule
    if bad is not None:
        raise InputError(f"study {labs[bad]!r}: {out_of_range_text(y[bad], V[bad, bad])}")
    if not np.all(np.isfinite(V)):
        i, j = np.argwhere(~np.isfinite(V))[0]
        raise InputError(f"study {labs[i]!r}: V[{i}, {j}] (covariance with {labs[j]!r}) is not finite")
    asym = np.abs(V - V.T) > 1e-10 * np.maximum(np.abs(V), np.abs(V.T)).max()
    if asym.any():
        i, j = np.argwhere(asym)[0]
        raise InputError(f"V is not symmetric: V[{i}, {j}] = {V[i, j]!r} (study {labs[i]!r}) but "
                         f"V[{j}, {i}] = {V[j, i]!r} (study {labs[j]!r})")
    return y, (V + V.T) / 2, labs


def _labels(labels, data, n):
    if labels is None:
        if data is not None and not isinstance(data.index, pd.RangeIndex):
            return [str(x) for x in data.index]
        return [str(i + 1) for i in range(n)]
    values = column_of(data, labels, "labels") if isinstance(labels, str) else labels
    values = [str(x) for x in values]
    if len(values) != n:
        raise InputError(f"labels has {len(values)} entries but there are {n} estimates")
    return values


def _sorted_levels(values: pd.Series):
    """Levels in R's ``factor()`` order (sorted), as strings."""
    uniq = pd.unique(values)
    try:
        uniq = sorted(uniq)
    except TypeError:
        uniq = sorted(uniq, key=str)
    return [str(u) for u in uniq]


def _codes(data: pd.DataFrame, cols, labs, where) -> np.ndarray:
    code = None
    for c in cols:  # combine the columns' codes (a nested factor is their interaction)
        sub, _ = pd.factorize(data[c].to_numpy(), use_na_sentinel=True)
        if (sub < 0).any():
            i = int(np.flatnonzero(sub < 0)[0])
            raise InputError(f"study {labs[i]!r}: {where} column {c!r} is missing (no missing "
                             "values allowed in random-effects columns)")
        code = sub if code is None else pd.factorize(code * (int(sub.max()) + 1) + sub)[0]
    return code.astype(np.int64, copy=False)


def resolve_random(random, struct, data, labs, n) -> list[TermInfo]:
    """Parse ``random`` and build the engine's terms, checking every column.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"study": ["a", "a", "b", "c"]})
    >>> info = resolve_random("~ 1 | study", "CS", d, ["1", "2", "3", "4"], 4)[0]
    >>> info.engine.structure.struct, info.engine.outer.tolist(), info.nlevels
    ('SIGMA', [[0, 0, 1, 2]], 3)
    """
    terms = parse_random_list(random)
    if data is None:
        raise InputError("random= names columns: pass the data frame as data=")
    for t in terms:
        for c in t.columns:
            if c not in data.columns:
                raise ColumnError(f"random: {c!r} (in {t.text!r}) is not a column of data; "
                                  f"columns: {', '.join(map(str, data.columns))}")
    if len(data) != n:
        raise InputError(f"data has {len(data)} rows but there are {n} estimates")
    structs = resolve_structs(struct)
    out = []
    n_inner = 0
    for t in terms:
        outer = _codes(data, t.outer, labs, "random-effects")
        nl = int(outer.max()) + 1
        if t.is_intercept:
            out.append(TermInfo(t, Term(Structure("SIGMA", 1), outer[None]), nl, fixed_zero=nl == 1))
            continue
        struct = structs[n_inner]
        n_inner += 1
        if struct == "GEN":
            Z, names = _gen_design(data, t, labs)
        else:
            if len(t.inner) != 1:
                raise InputError(f"random={t.text!r}: struct={struct!r} takes one inner variable "
                                 "(several covariates need struct='GEN')")
            col = data[t.inner[0]]
            _codes(data, t.inner, labs, "random-effects")
            names = _sorted_levels(col)
            idx = pd.Index(names).get_indexer(col.astype(str))
            Z = np.eye(len(names))[idx]
        q = Z.shape[1]
        rho_fixed = struct in ("CS", "HCS", "AR") and (q == 1 or nl == n)
        inner_k = tuple(int(v) for v in (Z != 0).sum(axis=0))
        st = Structure(struct, q, rho_fixed)
        out.append(TermInfo(t, Term(st, outer[None], Z[None]), nl, tuple(names), inner_k))
    return out


def resolve_structs(struct) -> tuple[str, str]:
    """The structures of the first and second ``inner | outer`` terms.

    ``struct`` is one name (used for both terms, as metafor recycles it) or
    a sequence of one or two names (metafor's ``struct = c("UN", "CS")``).

    >>> resolve_structs("UN"), resolve_structs(["UN", "DIAG"])
    (('UN', 'UN'), ('UN', 'DIAG'))
    """
    names = [struct] if isinstance(struct, str) else list(struct)
    if not 1 <= len(names) <= 2:
        raise InputError(f"struct must be one structure or a list of two (one per "
                         f"'inner | outer' term), got {struct!r}")
    for s in names:
        if s not in STRUCTS:
            raise unknown_option("struct", s, STRUCTS)
    return (names[0], names[-1])


def _gen_design(data, t: RandomTerm, labs):
    cols = []
    names = []
    if t.intercept:
        cols.append(np.ones(len(data)))
        names.append("intrcpt")
    for c in t.inner:
        v = pd.to_numeric(data[c], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"study {labs[i]!r}: random-slope column {c!r} must be a finite "
                             f"number (struct='GEN'), got {data[c].iloc[i]!r}")
        cols.append(v)
        names.append(c)
    Z = np.column_stack(cols)
    return Z, names


def check_identifiable(infos: list[TermInfo], n: int, p: int, labs) -> None:
    """Refuse models the data cannot identify (more variance parameters than residual rows).

    A ``UN`` term on two outcomes has three parameters (two variances, one
    correlation): four estimates leave three residual degrees of freedom for
    one coefficient, but only two for two.

    >>> import pandas as pd
    >>> from sleepmeta.errors import ModelError
    >>> d = pd.DataFrame({"study": ["a", "a", "b", "b"], "outcome": ["x", "y", "x", "y"]})
    >>> labs = ["1", "2", "3", "4"]
    >>> infos = resolve_random("~ outcome | study", "UN", d, labs, 4)
    >>> check_identifiable(infos, 4, 1, labs) is None
    True
    >>> try:
    ...     check_identifiable(infos, 4, 2, labs)
    ... except ModelError as e:
    ...     print(str(e)[:52])
    the random structure has 3 variance parameters but o
    """
    n_vc = sum(i.engine.structure.n_params for i in infos if not i.fixed_zero)
    if n - p < 1:
        raise ModelError(f"{n} estimates for {p} coefficients: nothing left to estimate variance "
                         "components")
    for i in infos:
        st = i.engine.structure
        if st.struct in ("UN", "GEN", "HCS", "DIAG") and st.q > 1:
            for name, kk in zip(i.inner_levels, i.inner_k):
                if kk == 0:
                    raise ModelError(f"random={i.term.text!r}: inner level {name!r} has no rows")
    if n_vc > n - p:
        raise ModelError(f"the random structure has {n_vc} variance parameters but only {n - p} "
                         f"residual degrees of freedom ({n} estimates, {p} coefficients): "
                         "struct cannot be identified from these data")
