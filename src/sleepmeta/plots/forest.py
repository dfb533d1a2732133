"""Forest plot: one row per study, the pooled diamond and its prediction interval."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.patches import Polygon
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from sleepmeta.errors import InputError
from sleepmeta.plots._forest_rows import Row, forest_rows, is_subgroup
from sleepmeta.plots._style import (
    FONT_SIZE, GREY, INK, NOTE_SIZE, figure_and_axes, log_axis, measure_name, plain_text,
    resolve_transform, text_width, weight_sizes,
)

ROW_HEIGHT = 0.22  # inches per row
GAP = 0.15  # inches between columns
MARGIN = 0.15  # inches around the figure
BOTTOM = 0.78  # inches for ticks, favours labels and the axis label
TITLE = 0.35  # inches for a title
MIN_PLOT_WIDTH = 2.6  # inches of the effect panel
DIAMOND_HALF_HEIGHT = 0.38  # rows
LARGEST_SQUARE = 90.0  # points², the heaviest study's square
ROB_COLUMN = 0.35  # inches of the risk-of-bias column


def forest_plot(result, *, labels=None, favours=("Favours treatment", "Favours control"),
                lower_is_better=True, transform="auto", show_weights=True, show_pi=True,
                title=None, xlabel=None, xlim=None, digits=2, ax=None, arms=None,
                arm_headers=("Treatment", "Control"), rob=None):
    """Draw a forest plot of a meta-analysis, or of a subgroup analysis.

    Columns: study label, effect with its confidence interval as text, and
    weight (%). Each study is a square (area proportional to its weight) on
    its confidence interval; the pooled estimate is a diamond spanning its
    confidence interval, and the prediction interval (random-effects models)
    a bar on the row below it. A vertical line marks no effect (0, or 1 on
    the back-transformed scale of a ratio measure, drawn on a log axis).

    Parameters
    ----------
    result : MetaResult or SubgroupResult
        An intercept-only model; or a subgroup result (attributes ``groups``
        — name to MetaResult —, ``overall``, ``q_between``, ``df_between``,
        ``p_between``): then each group gets a header, its studies, a
        subtotal diamond and its k, tau² and I²; the test for subgroup
        differences and the overall diamond follow.
    labels : sequence or mapping, optional
        Study labels to show (default ``result.labels``); a mapping renames
        some of them (required form for a subgroup result).
    favours : (str, str)
        Labels under the axis: (treatment, control).
    lower_is_better : bool
        Whether effects below the null favour treatment (e.g. a risk ratio of
        an adverse event, or sleep-onset latency), so "favours treatment" goes
        on the left; ``False`` (e.g. total sleep time) puts it on the right.
    transform : {"auto", "exp", "none"}
        ``"auto"`` exponentiates ratio measures (``result.is_ratio``: RR, OR,
        ROM, PETO, PLN, PLO) and uses a log x-axis; ``"exp"`` forces it,
        ``"none"`` plots the analysis scale.
    show_weights : bool
        Show the weight column.
    show_pi : bool
        Draw the prediction interval of a random-effects model.
    title, xlabel : str, optional
        Figure title; x-axis label (default: the measure's name).
    xlim : (float, float), optional
        Limits of the effect axis on the plotting scale; intervals running
        past them end in an arrow.
    digits : int
        Decimals of the numbers shown (2).
    ax : matplotlib Axes, optional
        Draw into this axes (the text columns are placed outside it: leave
        room). By default a figure sized to the number of rows is made.
    rob : mapping, optional
        Study label (as shown) to its overall risk-of-bias judgement
        (``low``, ``some concerns``, ``high``, ``not assessed``): adds a
        "RoB" column with robvis's coloured circle beside each study
        (gid ``rob-<judgement>``); a study not in the mapping gets
        ``not assessed``.

    arms : mapping, optional
        Study label (as shown) to ``(treatment text, control text)``: the
        per-arm data RevMan prints beside each study, e.g. ``("12/77",
        "23/459")`` (events/total) or ``("-3.4 (9.9) 54", "2.1 (9.2) 53")``
        (mean (SD) n). Adds two columns between the labels and the plot
        (gids ``arm-treatment``, ``arm-control``); a study not in the
        mapping shows ``—``.
    arm_headers : (str, str)
        Headers of those columns, e.g. ``("Pregabalin n/N", "Placebo n/N")``.

    Returns
    -------
    matplotlib.figure.Figure
        Artists carry gids for programmatic checks: ``study-row`` (one line
        per study), ``pooled-diamond``, ``subgroup-diamond``,
        ``prediction-interval``, ``null-line``, ``favours-treatment``,
        ``favours-control``.

    Notes
    -----
    Study intervals are ``yi ± z(1-α/2) sqrt(vi)`` as in metafor's
    ``forest.rma`` (Viechtbauer 2010, J Stat Softw 36(3)); the layout
    (weights, subtotals, heterogeneity and subgroup-difference lines)
    follows the Cochrane Handbook (Higgins et al. 2023, ch. 10).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([-0.89, -1.59, -1.35], [0.33, 0.19, 0.42], labels=["A", "B", "C"],
    ...                     measure="RR")
    >>> fig = forest_plot(res)
    >>> [a.get_gid() for a in fig.axes[0].lines].count("study-row")
    3
    """
    if len(favours) != 2:
        raise InputError(f"forest_plot: favours must be two labels (treatment, control), "
                         f"got {favours!r}")
    if int(digits) < 0:
        raise InputError(f"forest_plot: digits must be >= 0, got {digits!r}")
    first = result.overall if is_subgroup(result) else result
    back = resolve_transform(transform, first)
    rows = forest_rows(result, labels=labels, back=back, digits=int(digits), show_pi=show_pi)
    header = _header(first, back)
    cols = _columns(rows, header, show_weights)
    extra = GAP + ROB_COLUMN if rob is not None else 0.0
    arm_cols = _arm_columns(rows, arms, arm_headers)
    cols["label"] += sum(GAP + w for w in arm_cols)
    n = len(rows) + 1
    width = 2 * MARGIN + cols["label"] + GAP + cols["plot"] + cols["right"] + extra
    height = n * ROW_HEIGHT + BOTTOM + MARGIN + (TITLE if title else 0)
    fig, ax, owned = figure_and_axes(ax, width, height)
    if owned:
        ax.set_position([(MARGIN + cols["label"] + GAP) / width, BOTTOM / height,
                         cols["plot"] / width, n * ROW_HEIGHT / height])
    ys = np.arange(n - 2, -1, -1, dtype=float)  # row i (after the header) at y = n - 2 - i
    null = 1.0 if back else 0.0
    lo, hi = _limits(rows, null, back, xlim)
    if back:
        ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.6, n - 0.4)
    _draw_rows(ax, rows, ys, lo, hi)
    _draw_text(ax, rows, ys, header, n - 1, cols, show_weights)
    if rob is not None:
        _draw_rob(ax, rows, ys, n - 1, cols, rob)
    if arm_cols:
        _draw_arms(ax, rows, ys, n - 1, arms, arm_headers, arm_cols)
    _null_line(ax, rows, ys, null)
    _axis(ax, back, lo, hi, xlabel or _xlabel(first, back))
    _favours(ax, favours, lower_is_better, null)
    if title:
        if owned:
            fig.suptitle(title, x=MARGIN / width, y=1 - MARGIN / height, ha="left", va="top",
                         fontsize=FONT_SIZE + 2, fontweight="bold")
        else:
            ax.set_title(title, fontsize=FONT_SIZE + 2, fontweight="bold")
    plain_text(fig if owned else ax)
    return fig


def _header(res, back: bool) -> dict[str, str]:
    measure = getattr(res, "measure", None)
    abbr = measure if measure else "Estimate"
    if measure and getattr(res, "is_ratio", False) and not back:
        abbr = "log " + measure
    return {"label": "Study", "text": f"{abbr} [{100 * res.level:g}% CI]", "weight": "Weight"}


def _columns(rows: list[Row], header, show_weights) -> dict[str, float]:
    def width(row: Row) -> float:
        if row.kind == "note":
            return text_width(row.label, NOTE_SIZE)
        return text_width(row.label, FONT_SIZE, bold=row.kind in ("group", "pooled"))

    label = max([text_width(header["label"], bold=True)]
                + [width(r) for r in rows if not r.wide])
    bold = {"pooled", "group"}
    text = max([text_width(header["text"], bold=True)]
               + [text_width(r.text, bold=r.kind in bold) for r in rows])
    weight = max([text_width(header["weight"], bold=True)]
                 + [text_width(f"{r.weight:.1f}%", bold=r.kind in bold) for r in rows
                    if math.isfinite(r.weight)]) if show_weights else 0.0
    right = GAP + text + (GAP + weight if show_weights else 0.0)
    wide = max([width(r) for r in rows if r.wide], default=0.0)
    plot = max(MIN_PLOT_WIDTH, wide - label - GAP + 0.1)
    return {"label": label, "text": text, "weight": weight, "right": right, "plot": plot}


def _arm_columns(rows, arms, headers) -> list[float]:
    """Widths (inches) of the treatment and control columns; none without ``arms``."""
    if arms is None:
        return []
    if len(headers) != 2:
        raise InputError(f"forest_plot: arm_headers must be two labels, got {headers!r}")
    widths = []
    for j in (0, 1):
        texts = [str(arms.get(r.label, ("—", "—"))[j]) for r in rows if r.kind == "study"]
        widths.append(max([text_width(str(headers[j]), bold=True)]
                          + [text_width(t) for t in texts]))
    return widths


def _draw_arms(ax, rows, ys, y_header, arms, headers, widths) -> None:
    """The per-arm columns (right-aligned), just left of the effect panel."""
    right_edges = [GAP + widths[1] + GAP, GAP]  # inches left of the panel's left edge
    for j, gid in ((0, "arm-treatment"), (1, "arm-control")):
        at = _col(ax, -right_edges[j])
        ax.text(0, y_header, str(headers[j]), transform=at, ha="right", va="center",
                clip_on=False, fontsize=FONT_SIZE, fontweight="bold")
        for r, y in zip(rows, ys):
            if r.kind == "study":
                text = str(arms.get(r.label, ("—", "—"))[j])
                ax.text(0, y, text, transform=at, ha="right", va="center", clip_on=False,
                        fontsize=FONT_SIZE, gid=gid)


def _limits(rows, null, back, xlim):
    if xlim is not None:
        lo, hi = map(float, xlim)
        if not lo < hi or (back and lo <= 0):
            raise InputError(f"forest_plot: xlim must be increasing{' and > 0' if back else ''}, "
                             f"got {xlim!r}")
        return lo, hi
    vals = [v for r in rows if r.kind in ("study", "subtotal", "pooled", "pi")
            for v in (r.lo, r.hi) if math.isfinite(v)] + [null]
    lo, hi = min(vals), max(vals)
    if back:
        pad = (math.log(hi) - math.log(lo)) * 0.04 or 0.1
        return lo * math.exp(-pad), hi * math.exp(pad)
    pad = (hi - lo) * 0.04 or 0.1
    return lo - pad, hi + pad


def _draw_rows(ax, rows, ys, xmin, xmax) -> None:
    study = [(r, y) for r, y in zip(rows, ys) if r.kind == "study"]
    for r, y in study:
        a, b = max(r.lo, xmin), min(r.hi, xmax)
        ax.plot([a, b], [y, y], color=INK, lw=0.9, solid_capstyle="butt", gid="study-row")
        for end, beyond, marker in ((xmin, r.lo < xmin, "<"), (xmax, r.hi > xmax, ">")):
            if beyond:
                ax.plot([end], [y], marker=marker, color=INK, ms=4, clip_on=False, gid="study-arrow")
    if study:
        w = np.array([r.weight for r, _ in study])
        sizes = np.where(np.isfinite(w), weight_sizes(np.nan_to_num(w), LARGEST_SQUARE), 0) + 6
        ax.scatter([r.est for r, _ in study], [y for _, y in study], s=sizes, marker="s",
                   color=INK, edgecolor="none", zorder=3, gid="study-points")
    for r, y in zip(rows, ys):
        if r.kind in ("pooled", "subtotal"):
            h = DIAMOND_HALF_HEIGHT
            ax.add_patch(Polygon([[r.lo, y], [r.est, y + h], [r.hi, y], [r.est, y - h]],
                                 closed=True, facecolor=INK if r.kind == "pooled" else GREY,
                                 edgecolor=INK, lw=0.6, zorder=3,
                                 gid="pooled-diamond" if r.kind == "pooled" else "subgroup-diamond"))
        elif r.kind == "pi":
            ax.plot([r.lo, r.hi], [y, y], color=INK, lw=1.6, marker="|", ms=7,
                    solid_capstyle="butt", gid="prediction-interval")


def _col(ax, dx: float):
    """Transform: x in axes fraction shifted ``dx`` inches; y in data (rows)."""
    return (blended_transform_factory(ax.transAxes, ax.transData)
            + ScaledTranslation(dx, 0, ax.figure.dpi_scale_trans))


def _draw_text(ax, rows, ys, header, y_header, cols, show_weights) -> None:
    at_label = _col(ax, -(GAP + cols["label"]))  # from the panel's left edge (x = 0)
    at_text = _col(ax, GAP + cols["text"])  # from the panel's right edge (x = 1)
    at_weight = _col(ax, cols["right"])
    common = dict(va="center", clip_on=False, fontsize=FONT_SIZE)
    bold = dict(common, fontweight="bold")
    ax.text(0, y_header, header["label"], transform=at_label, ha="left", **bold)
    ax.text(1, y_header, header["text"], transform=at_text, ha="right", **bold)
    if show_weights:
        ax.text(1, y_header, header["weight"], transform=at_weight, ha="right", **bold)
    for r, y in zip(rows, ys):
        if r.kind == "blank":
            continue
        if r.kind == "note":
            ax.text(0, y, r.label, transform=at_label, ha="left", va="center", clip_on=False,
                    fontsize=NOTE_SIZE, color=INK, gid="note")
            continue
        style = bold if r.kind in ("group", "pooled") else common
        ax.text(0, y, r.label, transform=at_label, ha="left", gid=f"label-{r.kind}", **style)
        if r.text:
            ax.text(1, y, r.text, transform=at_text, ha="right", gid=f"text-{r.kind}", **style)
        if show_weights and math.isfinite(r.weight):
            ax.text(1, y, f"{r.weight:.1f}%", transform=at_weight, ha="right",
                    gid=f"weight-{r.kind}", **style)


def _draw_rob(ax, rows, ys, y_header, cols, rob) -> None:
    """A risk-of-bias circle (robvis colours and symbols) beside each study row."""
    from sleepmeta.plots.rob import ROB_COLOURS, ROB_SYMBOLS

    at = _col(ax, cols["right"] + GAP + ROB_COLUMN / 2)
    ax.text(1, y_header, "RoB", transform=at, ha="center", va="center", clip_on=False,
            fontsize=FONT_SIZE, fontweight="bold")
    for r, y in zip(rows, ys):
        if r.kind != "study":
            continue
        j = str(rob.get(r.label, "not assessed"))
        if j not in ROB_COLOURS:
            raise InputError(f"forest_plot: rob[{r.label!r}]: unknown judgement {j!r}; "
                             f"valid: {', '.join(ROB_COLOURS)}")
        ax.scatter([1], [y], transform=at, s=70, color=ROB_COLOURS[j], edgecolor=INK,
                   linewidth=0.4, clip_on=False, zorder=4, gid=f"rob-{j.replace(' ', '-')}")
        ax.text(1, y, ROB_SYMBOLS[j], transform=at, ha="center", va="center", clip_on=False,
                fontsize=FONT_SIZE - 2, fontweight="bold", zorder=5,
                color=INK if j == "some concerns" else "white")


def _null_line(ax, rows, ys, null) -> None:
    drawn = [y for r, y in zip(rows, ys) if r.kind in ("study", "subtotal", "pooled", "pi")]
    if drawn:
        ax.vlines(null, min(drawn) - 0.5, max(drawn) + 0.5, colors=GREY, lw=0.8, zorder=1,
                  gid="null-line")


def _axis(ax, back, lo, hi, xlabel) -> None:
    for side in ("top", "left", "right"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=FONT_SIZE - 0.5)
    if back:
        log_axis(ax.xaxis, lo, hi)
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE, labelpad=FONT_SIZE + 6)


def _favours(ax, favours, lower_is_better, null) -> None:
    treat, control = favours
    left, right = (treat, control) if lower_is_better else (control, treat)
    gid_left, gid_right = ("favours-treatment", "favours-control") if lower_is_better else (
        "favours-control", "favours-treatment")
    base = blended_transform_factory(ax.transData, ax.transAxes)
    down = -(FONT_SIZE + 8) / 72  # inches below the axis: under the tick labels
    for text, dx, ha, gid in ((left, -0.06, "right", gid_left), (right, 0.06, "left", gid_right)):
        shift = ScaledTranslation(dx, down, ax.figure.dpi_scale_trans)
        ax.text(null, 0, f"\u2190 {text}" if ha == "right" else f"{text} \u2192",
                transform=base + shift, ha=ha, va="top", fontsize=FONT_SIZE - 0.5,
                clip_on=False, gid=gid)


def _xlabel(res, back) -> str:
    name = measure_name(getattr(res, "measure", None), back)
    return f"{name} (log scale)" if back else name
