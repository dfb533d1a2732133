"""Dose–response plot for harms: risk by daily dose per arm, and risk ratio by dose.

Left panel: the percentage of participants with the event in each drug arm
at its daily dose and in the control arm (an open circle at dose 0), one
colour per source and event. A fixed dose is a point; arms of one source and
event at fixed doses are joined by a line; a flexible-dose range is a
horizontal bar spanning the range (never a point at its midpoint, which no
participant was assigned). Right panel: the risk ratio of each arm against
its control with its 95% CI on a log axis labelled in halvings and doublings
(0.25, 0.5, 1, 2, 4, 8), where counts (or percent x n) exist; a flexible
range again spans its doses. Both panels show the whole dose range from 0.
Nothing is pooled here: each mark is one arm of one source.
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
        ``risk_treat``, ``risk_ctrl`` (percent); optional ``event`` (arms of
        different events of one source are separate series, never joined),
        ``rr``, ``rr_low``, ``rr_high`` (ratio scale) for the right panel. Rows without a dose
        are left out (they cannot be placed on the axis).
    title : str, optional
    ax : sequence of two Axes, optional
        Draw into these; by default a new figure with two panels.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn without pyplot on an Agg canvas. Fixed-dose points carry the gid ``dose-arm`` (left, one collection
        per source and event), flexible ranges ``dose-range`` (left) and ``dose-rr-range``
        (right), fixed-dose intervals ``dose-rr`` (right).

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

    from sleepmeta.plots._style import log_axis, plain_text

    missing = [c for c in COLUMNS if c not in arms.columns]
    if missing:
        from sleepmeta.errors import ColumnError

        raise ColumnError(f"dose_response_plot: column {missing[0]!r} is missing; "
                          f"needs {', '.join(COLUMNS)}")
    df = arms.dropna(subset=["dose_min", "dose_max"]).copy()
    df["dose_min"] = df["dose_min"].astype(float)
    df["dose_max"] = df["dose_max"].astype(float)
    if ax is None:
        fig = Figure(figsize=(10.0, 4.4), dpi=100)
        FigureCanvasAgg(fig)  # Agg canvas, no pyplot: nothing global is touched
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.28, top=0.88, wspace=0.22)
        axes = fig.subplots(1, 2)
    else:
        axes = list(ax)
        fig = axes[0].figure
    left, right = axes
    colours = matplotlib.colormaps["tab10"]
    has_rr = {"rr", "rr_low", "rr_high"} <= set(df.columns)
    keys = ["source"] + (["event"] if "event" in df.columns and df["event"].notna().any() else [])
    if len(keys) == 2:
        df["event"] = df["event"].fillna("")
    several_events = len(keys) == 2 and (df.groupby("source")["event"].nunique() > 1).any()
    series = list(df.groupby(keys, sort=True))
    rr_drawn = 0
    for i, (key, g) in enumerate(series):
        source, event = (key, "") if len(keys) == 1 else key
        name = f"{source}: {event}" if several_events and event else str(source)
        c = colours(i % 10)
        g = g.sort_values(["dose_min", "dose_max"], kind="stable")
        fixed = (g["dose_min"] == g["dose_max"]).to_numpy()
        x, y = g["dose_min"].to_numpy(), g["risk_treat"].astype(float).to_numpy()
        if fixed.sum() > 1:
            left.plot(x[fixed], y[fixed], "-", color=c, alpha=0.6, lw=1.2)
        if fixed.any():
            pts = left.scatter(x[fixed], y[fixed], color=c, s=34, zorder=3, label=name)
            pts.set_gid("dose-arm")
        if (~fixed).any():
            r = g[~fixed]
            bars = left.hlines(r["risk_treat"].astype(float), r["dose_min"], r["dose_max"],
                               colors=[c], lw=4, alpha=0.85, label=None if fixed.any() else name)
            bars.set_gid("dose-range")
        ctrl = g["risk_ctrl"].dropna().astype(float).unique()
        if len(ctrl):
            left.scatter(np.zeros(len(ctrl)), ctrl, facecolors="none", edgecolors=[c], s=34,
                         zorder=3)
        if has_rr:
            rr_drawn += _rr_marks(right, g, fixed, c, i, len(series))
    top = float(df["dose_max"].max()) if len(df) else 1.0
    for a in (left, right):
        a.set_xlim(-0.04 * top, 1.06 * top)
        a.tick_params(labelsize=9)
        a.grid(alpha=0.3)
    left.set_xlabel("daily dose (mg/day); open circles: control arm at 0", fontsize=9.5)
    left.set_ylabel("participants with the event (%)", fontsize=9.5)
    left.set_ylim(bottom=0)
    right.axhline(1.0, color="0.3", lw=0.8, ls="--")
    right.set_yscale("log")
    right.set_xlabel("daily dose (mg/day)", fontsize=9.5)
    right.set_ylabel("risk ratio vs control (95% CI, log scale)", fontsize=9.5)
    if not rr_drawn:
        right.text(0.5, 0.5, "no arm with counts (or percent and n)", ha="center",
                   va="center", transform=right.transAxes, color="0.3", fontsize=9)
        right.set_ylim(0.5, 2)
    lo, hi = right.get_ylim()
    log_axis(right.yaxis, lo, hi)
    handles, labels = left.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=8.5, loc="lower center", frameon=False,
                   ncol=min(3, len(handles)))
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold", parse_math=False)
    plain_text(fig if ax is None else left, right)
    return fig


def _rr_marks(ax, g, fixed, colour, i: int, n: int) -> int:
    """Risk ratios with CIs of one series: points at fixed doses, bars over flexible ranges."""
    ok = (g["rr"].notna() & g["rr_low"].notna() & g["rr_high"].notna()).to_numpy()
    if not ok.any():
        return 0
    jitter = (i - 0.5 * (n - 1)) * 4.0  # keeps overlapping arms of several sources apart
    rr = g["rr"].astype(float).to_numpy()
    low, high = g["rr_low"].astype(float).to_numpy(), g["rr_high"].astype(float).to_numpy()
    lo_dose, hi_dose = g["dose_min"].to_numpy(), g["dose_max"].to_numpy()
    f = ok & fixed
    if f.any():
        err = np.vstack([rr[f] - low[f], high[f] - rr[f]])
        h = ax.errorbar(lo_dose[f] + jitter, rr[f], yerr=err, fmt="o", color=colour, ms=5,
                        capsize=2)
        h.lines[0].set_gid("dose-rr")
    r = ok & ~fixed
    if r.any():
        bars = ax.hlines(rr[r], lo_dose[r], hi_dose[r], colors=[colour], lw=4, alpha=0.85)
        bars.set_gid("dose-rr-range")
        mid = (lo_dose[r] + hi_dose[r]) / 2
        ax.vlines(mid, low[r], high[r], colors=[colour], lw=1.2)
    return int(ok.sum())
