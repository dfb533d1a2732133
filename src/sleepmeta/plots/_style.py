"""Shared look of the plots: fonts, colours, number formats, text measurement.

The figures are built on :class:`matplotlib.figure.Figure` with an Agg
canvas attached, never through ``pyplot``: nothing global is touched, no
window opens, and a figure is freed when it is no longer referenced.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from sleepmeta.effects.measures import display_name, is_log_scale
from sleepmeta.errors import unknown_option
from sleepmeta.formatting import decimal_text

FONT_SIZE = 9.0  # points, body text of the forest plot
NOTE_SIZE = 8.0  # points, heterogeneity lines and footnotes
INK = "#000000"
GREY = "#555555"
LIGHT = "#bbbbbb"
ACCENT = "#b2182b"  # trim-and-fill / adjusted estimates

TRANSFORMS = ("auto", "exp", "none")


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on its own Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def figure_and_axes(ax, width: float, height: float):
    """``(fig, ax, owned)``: the caller's axes, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax, False
    fig = new_figure(width, height)
    return fig, fig.add_subplot(), True


def plain_text(*artists) -> None:
    """Show every text in ``artists`` (figures or axes) exactly as typed.

    Study names, titles and labels come from data files; in matplotlib a
    ``$...$`` in them would be read as mathtext (rendered as math, or an
    error for malformed TeX). Turning off math parsing keeps them text.

    >>> fig = new_figure(2, 1)
    >>> t = fig.text(0, 0, "Smith $5 vs $10")
    >>> plain_text(fig)
    >>> t.get_parse_math()
    False
    """
    for artist in artists:
        for text in artist.findobj(Text):
            text.set_parse_math(False)


def is_ratio(result) -> bool:
    """Whether ``result`` holds log ratios (``is_ratio`` or a ratio ``measure``)."""
    flag = getattr(result, "is_ratio", None)
    if flag is not None:
        return bool(flag)
    return is_log_scale(getattr(result, "measure", None))


def resolve_transform(transform, result) -> bool:
    """``True`` when values are shown exponentiated (``"auto"`` for ratio measures)."""
    if transform is None:
        transform = "none"
    if transform not in TRANSFORMS:
        raise unknown_option("transform", transform, TRANSFORMS)
    return transform == "exp" or (transform == "auto" and is_ratio(result))


def measure_name(measure, back: bool) -> str:
    """Axis wording for a measure: ``"Risk ratio"`` or ``"Log risk ratio"``."""
    name = display_name(measure, "Effect size" if measure is None else str(measure))
    if is_log_scale(measure) and not back:
        return "Log " + name[0].lower() + name[1:]
    return name


def fmt(x: float, digits: int = 2) -> str:
    """A number with a true minus sign, ``digits`` decimals (``-0.5`` → ``'−0.50'``)."""
    if not math.isfinite(x):
        return "NA"
    return decimal_text(x, digits).replace("-", "\u2212")


def fmt_p(p: float) -> str:
    """``'p < 0.001'`` or ``'p = 0.034'``."""
    if not math.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def weight_sizes(weights, largest: float) -> np.ndarray:
    """Marker areas (points²) proportional to ``weights``; the largest gets ``largest``."""
    w = np.asarray(weights, float)
    top = np.nanmax(w) if w.size else 1.0
    return largest * w / top if top > 0 else np.full(w.shape, largest)


def log_axis(axis, lo: float, hi: float) -> None:
    """Round ticks with plain labels (0.25, 0.5, 1, 2, 4) on a log-scaled ``axis`` from lo to hi."""
    axis.set_major_locator(FixedLocator(log_ticks(lo, hi)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks for a log axis of ratios: doublings (0.25, 0.5, 1, 2, 4, 8), finer if narrow.

    Ratios are read as halvings and doublings, so powers of two come first; a
    range too narrow for three of them gets 1-2-5 steps or finer ones, and a
    very wide range every second or third power of two.

    >>> log_ticks(0.2, 9.0)
    [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    >>> log_ticks(0.8, 1.6)
    [0.8, 0.9, 1.0, 1.25, 1.5]
    """
    e0, e1 = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
    doublings = [2.0 ** e for e in range(e0, e1 + 1) if lo <= 2.0 ** e <= hi]
    if len(doublings) >= 3:
        step = 1 + (len(doublings) - 1) // 8  # at most about 8 ticks
        keep = [t for t in doublings if round(math.log2(t)) % step == 0]
        return keep if len(keep) >= 3 else doublings
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)):
        e0, e1 = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
        ticks = [float(f"{m * 10.0 ** e:.6g}") for e in range(e0, e1 + 1) for m in mantissas]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 3:
            return ticks
    return [lo, hi]


@lru_cache(maxsize=4096)
def text_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """Width in inches of ``text`` set in the default font at ``size`` points."""
    if not text:
        return 0.0
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    w, _, _ = _RENDERER.get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0


_RENDERER = RendererAgg(8, 8, 72)
