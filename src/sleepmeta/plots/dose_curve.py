"""The pooled dose–response curve with its CI band and the study points."""

from __future__ import annotations

import numpy as np

__all__ = ["dose_curve_plot"]

RATIO_TICKS = (0.5, 1, 2, 5)


def dose_curve_plot(result, *, doses=None, reference: float = 0.0, title: str | None = None,
                    unit: str = "mg/day", ax=None):
    """Plot a :class:`~sleepmeta.dose.DoseResponseResult`.

    The pooled curve against ``reference`` with its CI band; each
    non-reference arm is a point at its dose (its contrast against its own
    study's reference), sized by its precision (area proportional to
    ``1/se^2``). Ratio measures use a log axis labelled 0.5, 1, 2, 5.

    Parameters
    ----------
    result : DoseResponseResult
    doses : array_like, optional
        Where to draw the curve (default: 200 points from 0 to the largest dose).
    reference : float
        The dose the curve is relative to.
    title, unit : str

    Returns
    -------
    matplotlib.figure.Figure
        The band has gid ``dose-ci``, the curve ``dose-curve``, the points ``dose-arms``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sleepmeta.dose import dose_response
    >>> df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 150, 300] * 2,
    ...                    "events": [5, 10, 20, 4, 9, 15], "n": [100] * 6})
    >>> fig = dose_curve_plot(dose_response(df, study="id", dose="dose", events="events", n="n"))
    >>> [c.get_gid() for c in fig.axes[0].collections]
    ['dose-ci', 'dose-arms']
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    arms = result.arms
    top = float(max(arms["dose"].max(), reference))
    grid = np.linspace(min(0.0, reference), top, 200) if doses is None else np.asarray(doses, float)
    pred = result.predict(grid, reference=reference)
    if ax is None:
        fig = Figure(figsize=(6.4, 4.4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    ax.fill_between(pred["dose"], pred["ci_low"], pred["ci_high"], color="#9ecae1", alpha=0.6,
                    lw=0, gid="dose-ci", label=f"{int(round(result.level * 100))}% CI")
    ax.plot(pred["dose"], pred["estimate"], color="#08519c", lw=2, gid="dose-curve",
            label=f"pooled {result.model} curve")
    point = np.exp(arms["y"]) if result.ratio else arms["y"]
    w = 1.0 / arms["se"].to_numpy() ** 2
    size = 20 + 180 * w / w.max()
    ax.scatter(arms["dose"], point, s=size, facecolor="none", edgecolor="#444444", gid="dose-arms",
               label="study arms (size: precision)")
    if result.ratio:
        ax.set_yscale("log")
        lo = min(float(np.min(point)), float(pred["ci_low"].min()), 0.5)
        hi = max(float(np.max(point)), float(pred["ci_high"].max()), 2.0)
        ax.set_ylim(lo / 1.2, hi * 1.2)
        ticks = [t for t in RATIO_TICKS if lo / 1.2 <= t <= hi * 1.2]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_yticklabels([f"{t:g}" for t in ticks])
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_ylabel(f"{'Risk' if result.measure == 'RR' else 'Odds'} ratio vs {reference:g} {unit}")
    else:
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_ylabel(f"{result.measure} vs {reference:g} {unit}")
    ax.set_xlabel(f"Dose ({unit})")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="best")
    return fig
