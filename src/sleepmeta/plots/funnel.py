"""Funnel plot: effect against standard error, optionally contour-enhanced."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from scipy import stats

from sleepmeta.errors import InputError
from sleepmeta.plots._style import (
    ACCENT, FONT_SIZE, GREY, INK, figure_and_axes, log_axis, measure_name, plain_text,
    resolve_transform,
)

#: Significance contours of Peters et al. (2008): (p threshold, fill), widest first;
#: the area beyond the widest contour (p < 0.01) is the axes background.
CONTOURS = ((0.01, "0.75"), (0.05, "0.55"), (0.10, "white"))
BACKGROUND = "0.90"


def funnel_plot(result, *, contours=False, trimfill=None, transform="auto", title=None,
                xlabel=None, ax=None):
    """Draw a funnel plot: each study's effect against its standard error.

    The y axis (standard error) is inverted so precise studies are at the
    top; dashed lines mark the pseudo confidence region ``estimate ± z
    × SE`` around the pooled estimate (level of ``result``), as metafor's
    ``funnel.rma`` (Sterne & Egger 2001, J Clin Epidemiol 54:1046).

    Parameters
    ----------
    result : MetaResult
        An intercept-only model.
    contours : bool
        Contour-enhanced funnel (Peters et al. 2008, J Clin Epidemiol
        61:991): regions where a study's two-sided test of no effect has
        0.05 < p ≤ 0.10, 0.01 < p ≤ 0.05 and p ≤ 0.01 are shaded, centred
        on 0 (1 on the back-transformed scale).
    trimfill : trim-and-fill result, optional
        An object with ``filled`` (a DataFrame with columns ``yi`` and
        ``vi`` of the imputed studies), ``adjusted`` (the MetaResult with
        them) and ``k0``: the filled studies are drawn as open circles and
        the adjusted estimate as a line (Duval & Tweedie 2000, Biometrics
        56:455).
    transform : {"auto", "exp", "none"}
        As for :func:`forest_plot`: ``"auto"`` shows ratio measures
        exponentiated on a log axis.
    title, xlabel : str, optional
        Title; x-axis label (default: the measure's name).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Artists carry gids: ``study-points``, ``filled-studies``,
        ``pooled-estimate``, ``adjusted-estimate``, ``funnel``, and
        ``contour-0.10`` / ``contour-0.05`` / ``contour-0.01``.

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.2], [0.01, 0.04, 0.09, 0.02])
    >>> fig = funnel_plot(res, contours=True)
    >>> bool(fig.axes[0].yaxis_inverted())  # precise studies at the top
    True
    """
    if getattr(result, "p", 1) != 1:
        raise InputError("funnel_plot: result is a meta-regression; a funnel plot needs an "
                         "intercept-only model")
    back = resolve_transform(transform, result)
    yi = np.asarray(result.yi, float)
    se = np.sqrt(np.asarray(result.vi, float))
    filled = _filled(trimfill)
    se_all = np.concatenate([se, filled[1]]) if filled is not None else se
    top = float(np.max(se_all)) * 1.05 if se_all.size else 1.0
    crit = stats.norm.isf((1 - result.level) / 2)
    centre = float(result.estimate)
    f = np.exp if back else (lambda v: np.asarray(v, float))

    fig, ax, owned = figure_and_axes(ax, 5.0, 4.2)
    if back:
        ax.set_xscale("log")
    xs = [yi, [centre - crit * top, centre + crit * top]]
    if contours:
        zmax = stats.norm.isf(CONTOURS[0][0] / 2)
        xs.append([-zmax * top, zmax * top])
        ax.set_facecolor(BACKGROUND)
        for p, colour in CONTOURS:
            z = stats.norm.isf(p / 2)
            ax.add_patch(Polygon(np.column_stack([f([0.0, -z * top, z * top]), [0, top, top]]),
                                 closed=True, facecolor=colour, edgecolor="none", zorder=0,
                                 gid=f"contour-{p:.2f}"))
    if filled is not None:
        xs.append(filled[0])
    lo, hi = min(np.min(v) for v in xs), max(np.max(v) for v in xs)
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(f(lo - pad), f(hi + pad))
    if back:
        log_axis(ax.xaxis, *f([lo - pad, hi + pad]))
    ax.set_ylim(top, 0)

    ax.plot(f([centre - crit * top, centre, centre + crit * top]), [top, 0, top], color=GREY,
            ls="--", lw=0.9, zorder=1, gid="funnel")
    ax.plot(f([centre, centre]), [top, 0], color=INK, lw=0.9, zorder=1, gid="pooled-estimate")
    ax.scatter(f(yi), se, s=28, color=INK, edgecolor=INK, zorder=3, gid="study-points")
    handles = [Line2D([], [], ls="none", marker="o", color=INK, label="Studies"),
               Line2D([], [], color=INK, lw=0.9, label="Pooled estimate")]
    if filled is not None:
        ax.scatter(f(filled[0]), filled[1], s=28, facecolor="white", edgecolor=INK, zorder=3,
                   gid="filled-studies")
        adj = float(trimfill.adjusted.estimate)
        ax.plot(f([adj, adj]), [top, 0], color=ACCENT, ls="-.", lw=1.1, zorder=2,
                gid="adjusted-estimate")
        handles += [Line2D([], [], ls="none", marker="o", markerfacecolor="white", color=INK,
                           label=f"Filled studies (k0 = {len(filled[0])})"),
                    Line2D([], [], color=ACCENT, ls="-.", lw=1.1, label="Adjusted estimate")]
    if contours:
        handles += [Patch(facecolor=c, edgecolor=GREY, lw=0.5, label=lab) for c, lab in (
            ("white", "p > 0.10"), ("0.55", "0.05 < p \u2264 0.10"),
            ("0.75", "0.01 < p \u2264 0.05"), (BACKGROUND, "p \u2264 0.01"))]
    legend = filled is not None or contours  # the plain funnel explains itself
    if legend:
        ax.legend(handles=handles, fontsize=FONT_SIZE - 1, loc="upper left",
                  bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    _axes_style(ax, result, back, xlabel, title)
    if owned:
        if legend:
            fig.set_size_inches(7.0, 4.2)
        fig.subplots_adjust(left=0.1 if legend else 0.14, bottom=0.13,
                            right=0.68 if legend else 0.97, top=0.92 if title else 0.96)
    plain_text(fig if owned else ax)
    return fig


def _filled(trimfill):
    """``(yi, se)`` of the filled studies, or ``None`` without a trim-and-fill result."""
    if trimfill is None:
        return None
    frame = getattr(trimfill, "filled", None)
    if frame is None or not all(c in frame for c in ("yi", "vi")):
        raise InputError("funnel_plot: trimfill must have 'filled' (a DataFrame with columns "
                         "yi and vi) and 'adjusted' (a MetaResult)")
    yi = np.asarray(frame["yi"], float)
    vi = np.asarray(frame["vi"], float)
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"funnel_plot: filled study {i}: yi must be finite and vi > 0, "
                         f"got yi={yi[i]!r}, vi={vi[i]!r}")
    return yi, np.sqrt(vi)


def _axes_style(ax, result, back, xlabel, title) -> None:
    name = measure_name(getattr(result, "measure", None), back)
    ax.set_xlabel(xlabel or (f"{name} (log scale)" if back else name), fontsize=FONT_SIZE)
    ax.set_ylabel("Standard error", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=FONT_SIZE + 2, fontweight="bold", loc="left")
