"""Sampling covariance matrices of dependent estimates, and their check.

* :func:`shared_control_vcov` — several treatment–control contrasts of one
  study share one control group (Gleser & Olkin 2009, "Stochastically
  dependent effect sizes", in *The Handbook of Research Synthesis and
  Meta-Analysis*, 2nd ed., ch. 19, eqs. 19.19-19.28). The covariance of two
  contrasts against the same control is the variance of the control-group
  part they share:

  - ``MD``:  ``sd_c² / n_c``;
  - ``SMD``: ``1 / n_c + d_i d_j / (2 N)`` with ``N`` the study's total
    sample size (all arms; metadat's ``dat.gleser2009`` example);
  - ``RR`` (log): ``1 / x_c - 1 / n_c``;
  - ``OR`` (log): ``1 / x_c + 1 / (n_c - x_c)``;
  - ``RD``: ``p_c (1 - p_c) / n_c``.

  The diagonal holds each contrast's own sampling variance ``vi``.
* :func:`correlated_outcomes_vcov` — several outcomes of one study with an
  assumed correlation: ``V_ij = rho_ij sqrt(v_i v_j)`` within a cluster,
  as metafor's ``vcalc(vi, cluster, obs=, rho=)``.
* :func:`check_positive_definite` — names the study whose block is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta._lookup import column_of
from sleepmeta.errors import InputError, unknown_option

SHARED_CONTROL_MEASURES = ("MD", "SMD", "RR", "OR", "RD")


def check_positive_definite(V, labels, cluster=None) -> None:
    """Raise :class:`InputError` naming the study whose block of ``V`` is not positive definite.

    Blocks are the connected groups of nonzero covariances (or ``cluster``).

    >>> check_positive_definite(np.array([[1.0, 2.0], [2.0, 1.0]]), ["a", "b"])
    Traceback (most recent call last):
    ...
    sleepmeta.errors.InputError: study 'a': its block of V (rows a, b) is not positive definite ...
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    V = np.asarray(V, float)
    off = V - np.diag(np.diag(V))
    if not off.any():  # diagonal: positive variances are all it takes
        bad = np.flatnonzero(np.diag(V) <= 0)
        if bad.size:
            raise InputError(f"study {labels[bad[0]]!r}: its sampling variance must be > 0, "
                             f"got {float(V[bad[0], bad[0]])!r}")
        return
    if cluster is None:
        _, lab = connected_components(csr_matrix(V != 0), directed=False)
    else:
        lab = pd.factorize(np.asarray(cluster))[0]
    for g in np.unique(lab):
        idx = np.flatnonzero(lab == g)
        try:
            np.linalg.cholesky(V[np.ix_(idx, idx)])
        except np.linalg.LinAlgError:
            names = ", ".join(str(labels[i]) for i in idx[:6]) + (" ..." if idx.size > 6 else "")
            raise InputError(f"study {labels[idx[0]]!r}: its block of V (rows {names}) is not "
                             "positive definite (a correlation above 1, or inconsistent "
                             "covariances)") from None


def _col(data, value, name):
    return np.asarray(column_of(data, value, name) if isinstance(value, str) else value)


def shared_control_vcov(measure: str, data=None, *, study, vi, yi=None, n_ctrl=None, sd_ctrl=None,
                        events_ctrl=None, n_total=None, labels=None) -> np.ndarray:
    """Covariance matrix of contrasts that share a control group (Gleser & Olkin 2009).

    Parameters
    ----------
    measure : {"MD", "SMD", "RR", "OR", "RD"}
        The effect measure of the contrasts (RR and OR on the log scale, as
        :func:`sleepmeta.effect_size` computes them).
    data : DataFrame, optional
        Table that the column names refer to (one row per contrast, e.g. the
        frame of :func:`sleepmeta.effect_size` joined with the arm columns).
    study : column or array
        Study of each contrast: contrasts of the same study share its control.
    vi : column or array
        Sampling variance of each contrast (the diagonal).
    yi : column or array
        The contrasts (needed for SMD).
    n_ctrl, sd_ctrl, events_ctrl : columns or arrays
        The shared control group's size, SD (MD) and events (RR, OR, RD).
    n_total : column or array
        Total sample size of the study over all arms (SMD).

    Returns
    -------
    ndarray (k, k)
        Block-diagonal by study.

    Examples
    --------
    Two doses against one placebo group of 50 (SD 10): the covariance is 10²/50 = 2.

    >>> shared_control_vcov("MD", study=[1, 1], vi=[4.0, 4.5], n_ctrl=[50, 50],
    ...                     sd_ctrl=[10, 10]).tolist()
    [[4.0, 2.0], [2.0, 4.5]]
    """
    if measure not in SHARED_CONTROL_MEASURES:
        raise unknown_option("measure", measure, SHARED_CONTROL_MEASURES)
    sid = _col(data, study, "study")
    v = _col(data, vi, "vi").astype(float)
    k = v.size
    labs = [str(x) for x in (_col(data, labels, "labels") if labels is not None else sid)]
    need = {"MD": ("n_ctrl", "sd_ctrl"), "SMD": ("n_ctrl", "n_total", "yi"),
            "RR": ("events_ctrl", "n_ctrl"), "OR": ("events_ctrl", "n_ctrl"),
            "RD": ("events_ctrl", "n_ctrl")}[measure]
    given = {"n_ctrl": n_ctrl, "sd_ctrl": sd_ctrl, "events_ctrl": events_ctrl,
             "n_total": n_total, "yi": yi}
    cols = {}
    for name in need:
        if given[name] is None:
            raise InputError(f"shared_control_vcov({measure!r}) needs {name}=")
        cols[name] = _col(data, given[name], name).astype(float)
        if cols[name].size != k:
            raise InputError(f"{name} has {cols[name].size} values but vi has {k}")
    for name, values in cols.items():
        bad = ~np.isfinite(values) | ((values <= 0) if name in ("n_ctrl", "n_total", "sd_ctrl")
                                      else np.zeros(k, bool))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"study {labs[i]!r}: {name} must be a finite number"
                             f"{' > 0' if name != 'yi' else ''}, got {values[i]!r}")
    if measure in ("RR", "OR", "RD"):
        x, n = cols["events_ctrl"], cols["n_ctrl"]
        bad = (x < 0) | (x > n)
        if measure in ("RR", "OR"):
            bad |= x == 0
        if measure == "OR":
            bad |= x == n
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"study {labs[i]!r}: events_ctrl = {x[i]!r} of n_ctrl = {n[i]!r}: "
                             f"the shared-control covariance of log {measure} needs 0 < events"
                             f"{' < n' if measure == 'OR' else ' <= n'} (apply the continuity "
                             "correction first)")
    V = np.diag(v)
    for g in pd.unique(sid):
        idx = np.flatnonzero(sid == g)
        if idx.size < 2:
            continue
        for name in [c for c in need if c != "yi"]:
            if np.unique(cols[name][idx]).size > 1:
                raise InputError(f"study {labs[idx[0]]!r}: {name} differs between its contrasts; "
                                 "a shared control group has one value")
        i0 = idx[0]
        if measure == "MD":
            cov = np.full((idx.size, idx.size), cols["sd_ctrl"][i0] ** 2 / cols["n_ctrl"][i0])
        elif measure == "SMD":
            d = cols["yi"][idx]
            cov = 1 / cols["n_ctrl"][i0] + np.outer(d, d) / (2 * cols["n_total"][i0])
        elif measure == "RR":
            x, n = cols["events_ctrl"][i0], cols["n_ctrl"][i0]
            cov = np.full((idx.size, idx.size), 1 / x - 1 / n)
        elif measure == "OR":
            x, n = cols["events_ctrl"][i0], cols["n_ctrl"][i0]
            cov = np.full((idx.size, idx.size), 1 / x + 1 / (n - x))
        else:
            pc = cols["events_ctrl"][i0] / cols["n_ctrl"][i0]
            cov = np.full((idx.size, idx.size), pc * (1 - pc) / cols["n_ctrl"][i0])
        block = cov.copy()
        block[np.diag_indices(idx.size)] = v[idx]
        V[np.ix_(idx, idx)] = block
    check_positive_definite(V, labs, sid)
    return V


def correlated_outcomes_vcov(vi, cluster, *, rho, outcome=None, data=None, labels=None) -> np.ndarray:
    """Covariance of several outcomes per cluster with assumed correlations (metafor's ``vcalc``).

    ``V_ij = rho_ij sqrt(v_i v_j)`` for two rows of the same cluster, 0 across
    clusters; ``rho`` is one number, or a dict keyed by a pair of outcome
    values (``{("SOL", "TST"): 0.4}``; either order) with ``outcome=``.

    >>> correlated_outcomes_vcov([1.0, 4.0, 1.0], [1, 1, 2], rho=0.5).tolist()
    [[1.0, 1.0, 0.0], [1.0, 4.0, 0.0], [0.0, 0.0, 1.0]]
    """
    v = _col(data, vi, "vi").astype(float)
    cl = _col(data, cluster, "cluster")
    k = v.size
    labs = [str(x) for x in (_col(data, labels, "labels") if labels is not None else cl)]
    if cl.size != k:
        raise InputError(f"cluster has {cl.size} values but vi has {k}")
    bad = ~np.isfinite(v) | (v <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"study {labs[i]!r}: vi must be finite and > 0, got {v[i]!r}")
    out = _col(data, outcome, "outcome") if outcome is not None else None
    if isinstance(rho, dict):
        if out is None:
            raise InputError("rho given per outcome pair needs outcome=")
        table = {}
        for key, val in rho.items():
            a, b = key
            table[(a, b)] = table[(b, a)] = float(val)
    else:
        table = None
        r = float(rho)
        if not -1 <= r <= 1:
            raise InputError(f"rho must be between -1 and 1, got {rho!r}")
    V = np.diag(v)
    for g in pd.unique(cl):
        idx = np.flatnonzero(cl == g)
        for a in range(idx.size):
            for b in range(a + 1, idx.size):
                i, j = idx[a], idx[b]
                if table is None:
                    r_ij = r
                else:
                    pair = (out[i], out[j])
                    if out[i] == out[j]:
                        r_ij = table.get(pair, 1.0 if pair not in table else table[pair])
                    elif pair not in table:
                        raise InputError(f"study {labs[i]!r}: no correlation given for the "
                                         f"outcome pair ({out[i]!r}, {out[j]!r})")
                    else:
                        r_ij = table[pair]
                    if not -1 <= r_ij <= 1:
                        raise InputError(f"rho for ({out[i]!r}, {out[j]!r}) must be between -1 "
                                         f"and 1, got {r_ij!r}")
                V[i, j] = V[j, i] = r_ij * np.sqrt(v[i] * v[j])
    check_positive_definite(V, labs, cl)
    return V


def vcov_from_long(table: pd.DataFrame, labels, vi) -> np.ndarray:
    """A covariance matrix from a long table ``row1, row2, cov`` (the CLI's ``--V`` file).

    ``row1`` and ``row2`` name rows by their label (or 1-based row number);
    each line sets ``V[row1, row2] = V[row2, row1] = cov``. The diagonal is
    ``vi`` unless the table gives it (``row1 == row2``).

    >>> t = pd.DataFrame({"row1": ["a"], "row2": ["b"], "cov": [0.5]})
    >>> vcov_from_long(t, ["a", "b", "c"], [1.0, 1.0, 2.0]).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]]
    """
    need = {"row1", "row2", "cov"}
    if not need <= set(table.columns):
        raise InputError(f"the covariance table needs columns row1, row2, cov; it has "
                         f"{', '.join(map(str, table.columns))}")
    labels = [str(x) for x in labels]
    index = {lab: i for i, lab in enumerate(labels)}
    V = np.diag(np.asarray(vi, float))
    for line, (a, b, c) in enumerate(table[["row1", "row2", "cov"]].itertuples(index=False), 2):
        pos = []
        for v in (a, b):
            key = str(v)
            if key in index:
                pos.append(index[key])
            elif key.isdigit() and 1 <= int(key) <= len(labels):
                pos.append(int(key) - 1)
            else:
                raise InputError(f"covariance table line {line}: row {v!r} is not a study label "
                                 "or row number of the data")
        try:
            c = float(c)
        except (TypeError, ValueError):
            c = float("nan")
        if not np.isfinite(c):
            raise InputError(f"covariance table line {line}: cov must be a finite number, got {c!r}")
        i, j = pos
        V[i, j] = V[j, i] = c
    return V
