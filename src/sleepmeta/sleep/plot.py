"""A hypnogram figure: stages on the y axis, REM highlighted, lights marked."""

from __future__ import annotations

import numpy as np

from sleepmeta.errors import InputError
from sleepmeta.sleep.hypnogram import Hypnogram

# y position of each code, top to bottom: W, REM, N1, N2, N3 (the usual clinical order);
# ART and UNS are drawn as gaps; S (sleep/wake series) sits where N2 is.
_Y = {0: 0.0, 4: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 5: 3.0}
_STAGE_TICKS = ([0, 1, 2, 3, 4], ["W", "REM", "N1", "N2", "N3"])
_SW_TICKS = ([0, 3], ["W", "Sleep"])


def plot_hypnogram(hypnogram: Hypnogram, ax=None, *, title: str | None = None, rem_color: str = "tab:red"):
    """Draw one night as a step plot.

    Stages on the y axis (W at the top, then REM, N1, N2, N3), hours from
    the start of the recording on the x axis; REM epochs are drawn thick in
    ``rem_color``; artefact and unscored epochs are gaps; lights off and
    lights on are dashed vertical lines (when known). Labels are plain text
    (a ``$`` in a name is not mathtext).

    Parameters
    ----------
    hypnogram : Hypnogram
    ax : matplotlib Axes, optional
        Axes to draw on (a new figure otherwise).
    title : str, optional
        Default: the night's name.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> h = Hypnogram(["W", "N1", "N2", "N3", "N2", "R", "R", "W"], name="n1").with_lights(0, 210)
    >>> ax = plot_hypnogram(h)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['W', 'REM', 'N1', 'N2', 'N3']
    """
    if not isinstance(hypnogram, Hypnogram):
        raise InputError(f"expected a Hypnogram, got {type(hypnogram).__name__}")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.8), layout="constrained")
    codes = hypnogram.codes.astype(np.int64)
    hours = hypnogram.epoch_seconds / 3600.0
    x = np.arange(codes.size + 1) * hours
    y = np.array([_Y.get(int(c), np.nan) for c in codes] + [np.nan])
    y[-1] = y[-2] if codes.size else np.nan
    ax.step(x, y, where="post", color="0.25", linewidth=1.0)
    rem = np.where(codes == 4, 1.0, np.nan)
    if np.isfinite(rem).any():
        xs = np.repeat(x, 2)[1:-1].reshape(-1, 2)
        for (x0, x1), r in zip(xs, rem):
            if r == 1.0:
                ax.plot([x0, x1], [1.0, 1.0], color=rem_color, linewidth=4, solid_capstyle="butt")
    for value, label in ((hypnogram.lights_off, "lights off"), (hypnogram.lights_on, "lights on")):
        if value is not None:
            ax.axvline(value / 3600.0, color="tab:blue", linestyle="--", linewidth=1)
            ax.text(value / 3600.0, -0.45, label, color="tab:blue", fontsize=8, ha="center", parse_math=False)
    ticks, labels = _SW_TICKS if hypnogram.is_sleep_wake else _STAGE_TICKS
    ax.set_yticks(ticks, labels)
    ax.set_ylim(4.5 if not hypnogram.is_sleep_wake else 3.5, -0.7)
    ax.set_xlim(0, x[-1])
    ax.set_xlabel("hours from the start of the recording")
    ax.set_ylabel("stage")
    shown = title if title is not None else (hypnogram.name or "")
    ax.set_title(str(shown), loc="left", parse_math=False)
    return ax
