"""Dose–response plot for harms: risk by daily dose per arm, and risk ratio by dose.

Left panel: the percentage of participants with the event in each
pregabalin arm at its daily dose (a horizontal bar spans a flexible-dose
range; the marker sits at its midpoint) and in the control arm (at dose 0),
one colour per source. Right panel: the risk ratio of each arm against its
control with its 95% CI (log axis), where counts (or percent x n) exist.
Nothing is pooled here: each point is one arm of one source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dose_response_plot"]

COLUMNS = ("source", "dose_min", "dose_max", "risk_treat", "risk_ctrl")


def dose_response_plot(arms: pd.DataFrame, *, title: str | None = None, ax=None):
    """Plot risk (%) and risk ratio by daily dose, one series per source.

    Parameters
    ----------
    arms : DataFrame
        One row per arm: ``source``, ``dose_min``, ``dose_max`` (mg/day),
        ``risk_treat``, ``risk_ctrl`` (percent); optional ``rr``, ``rr_low``,
        ``rr_high`` (ratio scale) for the right panel. Rows without a dose
        are left out (they cannot be placed on the axis).
    title : str, optional
    ax : sequence of two Axes, optional
        Draw into these; by default a new figure with two panels.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn without pyplot on an Agg canvas. Marker collections carry the gid ``dose-arm`` (left, one per source) and ``dose-rr`` (right).

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({"source": ["A", "A"], "dose_min": [150, 300],
    ...                      "dose_max": [150, 300], "risk_treat": [9.0, 23.0],
    ...                      "risk_ctrl": [5.0, 5.0], "rr": [1.8, 4.6],
    ...                      "rr_low": [1.0, 3.0], "rr_high": [3.2, 7.0]})
    >>> fig = dose_response_plot(arms, title="Dizziness")
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections if c.get_gid() == "dose-arm")
    2
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sleepmeta.plots._style import plain_text

    missing = [c for c in COLUMNS if c not in arms.columns]
    if missing:
        from sleepmeta.errors import ColumnError

        raise ColumnError(f"dose_response_plot: column {missing[0]!r} is missing; "
                          f"needs {', '.join(COLUMNS)}")
    df = arms.dropna(subset=["dose_min", "dose_max"]).copy()
    if ax is None:
        fig = Figure(figsize=(9.5, 3.8), layout="constrained")
        FigureCanvasAgg(fig)  # Agg canvas, no pyplot: nothing global is touched
        axes = fig.subplots(1, 2)
    else:
        axes = list(ax)
        fig = axes[0].figure
    left, right = axes
    colours = matplotlib.colormaps["tab10"]
    has_rr = {"rr", "rr_low", "rr_high"} <= set(df.columns)
    for i, (source, grp) in enumerate(df.groupby("source", sort=True)):
        c = colours(i % 10)
        mid = (grp["dose_min"].astype(float) + grp["dose_max"].astype(float)) / 2
        order = np.argsort(mid.to_numpy(), kind="stable")
        g, x = grp.iloc[order], mid.to_numpy()[order]
        y = g["risk_treat"].astype(float).to_numpy()
        fixed = (g["dose_min"].astype(float) == g["dose_max"].astype(float)).to_numpy()
        if fixed.sum() > 1:  # join fixed-dose arms only; a dose range is a bar, not a step
            left.plot(x[fixed], y[fixed], "-", color=c, alpha=0.5, lw=1)
        pts = left.scatter(x, y, color=c, s=28, zorder=3, label=str(source))
        pts.set_gid("dose-arm")
        span = g["dose_max"].astype(float) - g["dose_min"].astype(float)
        for xi, lo, hi, yi, s in zip(x, g["dose_min"], g["dose_max"], y, span):
            if s > 0:
                left.plot([lo, hi], [yi, yi], color=c, lw=1, alpha=0.8)
        ctrl = g["risk_ctrl"].dropna().astype(float).unique()
        if len(ctrl):
            left.scatter(np.zeros(len(ctrl)), ctrl, facecolors="none", edgecolors=c, s=28,
                         zorder=3)
        if has_rr:
            ok = g["rr"].notna() & g["rr_low"].notna() & g["rr_high"].notna()
            if ok.any():
                r = g[ok]
                xr = x[ok.to_numpy()]
                jitter = (i - 0.5 * (df["source"].nunique() - 1)) * 6.0
                rr = r["rr"].astype(float).to_numpy()
                err = np.vstack([rr - r["rr_low"].astype(float).to_numpy(),
                                 r["rr_high"].astype(float).to_numpy() - rr])
                h = right.errorbar(xr + jitter, rr, yerr=err, fmt="o", color=c, ms=4, capsize=2)
                h.lines[0].set_gid("dose-rr")
    left.set_xlabel("daily dose (mg/day); control arm at 0")
    left.set_ylabel("participants with the event (%)")
    left.set_ylim(bottom=0)
    left.set_xlim(left=-25)
    left.grid(alpha=0.3)
    right.axhline(1.0, color="0.3", lw=0.8, ls="--")
    right.set_yscale("log")
    right.set_xlabel("daily dose (mg/day)")
    right.set_ylabel("risk ratio vs control (95% CI)")
    right.grid(alpha=0.3, which="both")
    if not has_rr or not right.lines[1:]:
        right.text(0.5, 0.5, "no arm with counts (or percent and n)", ha="center",
                   va="center", transform=right.transAxes, color="0.4")
        right.set_ylim(0.5, 2)
    handles, labels = left.get_legend_handles_labels()
    if handles:
        left.legend(handles, labels, fontsize=7, loc="upper left", frameon=False)
    if title:
        fig.suptitle(title, parse_math=False)
    plain_text(fig if ax is None else left, right)
    return fig
