"""Bubble plot of a meta-regression: effects against one moderator, with the fitted line."""

from __future__ import annotations

import numpy as np
from scipy import stats

from sleepmeta.errors import InputError, unknown_option
from sleepmeta.plots._style import (
    FONT_SIZE, GREY, INK, LIGHT, figure_and_axes, log_axis, measure_name, plain_text,
    resolve_transform, weight_sizes,
)

LARGEST_BUBBLE = 450.0  # points², the heaviest study's bubble
GRID = 200  # points of the fitted line


def bubble_plot(result, moderator, *, labels=False, transform="auto", title=None, xlabel=None,
                ylabel=None, ax=None):
    """Draw a bubble plot: observed effects against a moderator, sized by weight.

    Each study is a circle of area proportional to its model weight; the
    fitted line and its confidence band are the model's predictions over a
    grid of the moderator, every other moderator held at its mean (as
    metafor's ``regplot``).

    Parameters
    ----------
    result : MetaResult
        A meta-regression (``p >= 2``).
    moderator : str
        The term to plot on the x axis, a name in ``result.coefficients``
        (e.g. ``"ablat"``).
    labels : bool or sequence of str
        Label the points with the study labels (``True``) or these labels.
    transform : {"auto", "exp", "none"}
        ``"auto"`` shows ratio measures exponentiated on a log y axis.
    title, xlabel, ylabel : str, optional
        Title and axis labels (defaults: the moderator and the measure).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Artists carry gids: ``study-bubbles``, ``fitted-line``, ``ci-band``,
        ``null-line``.

    Notes
    -----
    For a grid row ``x`` of the design (moderator varied, other columns at
    their means) the prediction is ``x'b`` with standard error
    ``sqrt(x' V x)`` and interval ``x'b ± c·se``, where ``c`` is the normal
    quantile, or the t quantile with ``k - p`` df under the Knapp-Hartung
    adjustment — metafor's ``predict.rma`` (Viechtbauer 2010, J Stat Softw
    36(3), sec. 3.3).

    Examples
    --------
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.5, 0.2, 0.6], [0.01, 0.04, 0.09, 0.02, 0.05],
    ...                     mods=[[1.0], [2.0], [3.0], [1.5], [3.5]])
    >>> fig = bubble_plot(res, "x1")
    >>> fig.axes[0].get_xlabel()
    'x1'
    """
    terms = [str(t) for t in result.coefficients.index]
    if result.p < 2:
        raise InputError("bubble_plot: result has no moderators; fit a meta-regression "
                         "(meta_analysis(..., mods='~ x'))")
    candidates = [t for t in terms if t != "intrcpt"]
    if moderator not in candidates:
        raise unknown_option("moderator", moderator, candidates)
    j = terms.index(moderator)
    X = np.asarray(result.X, float)
    x = X[:, j]
    yi = np.asarray(result.yi, float)
    grid, pred, lo, hi = prediction_band(result, j)
    back = resolve_transform(transform, result)
    f = np.exp if back else (lambda v: np.asarray(v, float))

    fig, ax, owned = figure_and_axes(ax, 5.5, 4.2)
    if back:
        ax.set_yscale("log")
    ax.fill_between(grid, f(lo), f(hi), color=LIGHT, alpha=0.45, lw=0, zorder=1, gid="ci-band")
    ax.plot(grid, f(pred), color=INK, lw=1.4, zorder=2, gid="fitted-line")
    for edge in (lo, hi):
        ax.plot(grid, f(edge), color=GREY, lw=0.8, ls="--", zorder=2)
    ax.axhline(1.0 if back else 0.0, color=GREY, lw=0.8, ls=":", zorder=1, gid="null-line")
    sizes = weight_sizes(result.weights, LARGEST_BUBBLE) + 8
    order = np.argsort(-sizes, kind="stable")  # small bubbles drawn last, on top
    ax.scatter(x[order], f(yi[order]), s=sizes[order], facecolor="0.65", edgecolor=INK, lw=0.7,
               alpha=0.85, zorder=3, gid="study-bubbles")
    if labels is not False:
        names = list(result.labels) if labels is True else [str(s) for s in labels]
        if len(names) != result.k:
            raise InputError(f"bubble_plot: labels has {len(names)} entries but the result has "
                             f"k = {result.k} studies")
        for xv, yv, s, name in zip(x, f(yi), np.sqrt(sizes), names):
            ax.annotate(name, (xv, yv), xytext=(0, s / 2 + 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=FONT_SIZE - 2, color=GREY)
    if back:
        ys = np.concatenate([f(yi), f(lo), f(hi), [1.0]])
        lo_y, hi_y = ys.min(), ys.max()
        pad = (np.log(hi_y) - np.log(lo_y)) * 0.06
        ax.set_ylim(lo_y * np.exp(-pad), hi_y * np.exp(pad))
        log_axis(ax.yaxis, *ax.get_ylim())
    ax.set_xlim(grid[0], grid[-1])
    name = measure_name(getattr(result, "measure", None), back)
    ax.set_xlabel(xlabel or moderator, fontsize=FONT_SIZE)
    ax.set_ylabel(ylabel or (f"{name} (log scale)" if back else name), fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=FONT_SIZE + 2, fontweight="bold", loc="left")
    if owned:
        fig.subplots_adjust(left=0.14, bottom=0.13, right=0.97, top=0.92 if title else 0.96)
    plain_text(fig if owned else ax)
    return fig


def prediction_band(result, j: int, n: int = GRID):
    """Fitted values and confidence limits over a grid of design column ``j``.

    The grid spans the observed range widened by 4% on each side; the other
    columns are held at their means (metafor's ``regplot``). Uses
    ``result.predict`` when the result has it, else the same formula
    directly (see :func:`bubble_plot`). Returns ``(grid, pred, ci_low,
    ci_high)`` on the analysis scale.

    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.0, 1.0, 2.0], [0.1, 0.1, 0.1], mods=[[0.0], [1.0], [2.0]],
    ...                     method="FE")
    >>> grid, pred, lo, hi = prediction_band(res, 1, n=3)
    >>> [round(float(v), 6) for v in pred]  # the line y = x through the data
    [-0.08, 1.0, 2.08]
    """
    X = np.asarray(result.X, float)
    x = X[:, j]
    span = x.max() - x.min()
    grid = np.linspace(x.min() - 0.04 * span, x.max() + 0.04 * span, n)
    Xg = np.repeat(X.mean(axis=0, keepdims=True), n, axis=0)
    Xg[:, j] = grid
    if callable(getattr(result, "predict", None)):  # the pooling stage's own predictions
        p = result.predict(Xg[:, 1:] if result.intercept else Xg)
        return grid, p["pred"].to_numpy(), p["ci_low"].to_numpy(), p["ci_high"].to_numpy()
    b = result.coefficients["estimate"].to_numpy(float)
    V = np.asarray(result.vcov, float)
    pred = Xg @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xg, V, Xg))
    alpha = 1 - result.level
    crit = stats.norm.isf(alpha / 2) if result.df is None else stats.t.isf(alpha / 2, result.df)
    return grid, pred, pred - crit * se, pred + crit * se
