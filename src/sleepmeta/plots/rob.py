"""Risk-of-bias plots as robvis draws them (McGuinness & Higgins 2021, Res Synth Methods 12:55).

* :func:`traffic_light_plot` -- one row per study, one column per RoB 2
  domain (D1..D5) and the overall judgement; each cell a coloured circle
  with a symbol (``+`` low, ``-`` some concerns, ``X`` high, ``?`` not
  assessed / no information), and a legend naming the domains.
* :func:`rob_summary_plot` -- one horizontal bar per domain (and overall):
  the share of studies, or of the analysis's weight (robvis's
  ``weighted = TRUE``), at each judgement, stacked low to high.

Colours are robvis's ``"cochrane"`` palette. Both take the plain table of
:class:`sleepmeta.review.rob.RiskOfBias` (or any frame with its columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sleepmeta.errors import InputError
from sleepmeta.plots._style import FONT_SIZE, INK, NOTE_SIZE, new_figure

__all__ = ["ROB_COLOURS", "ROB_SYMBOLS", "rob_summary_plot", "traffic_light_plot"]

#: robvis's "cochrane" colours.
ROB_COLOURS = {"low": "#02C100", "some concerns": "#E2DF07", "high": "#BF0000",
               "not assessed": "#4EA1F7"}
#: The symbol drawn in each circle.
ROB_SYMBOLS = {"low": "+", "some concerns": "-", "high": "X", "not assessed": "?"}
_DOMAINS = ("randomisation", "deviations", "missing_data", "measurement", "selection")
_TITLES = ("D1", "D2", "D3", "D4", "D5", "Overall")
_LEGEND = ("D1: Bias arising from the randomisation process",
           "D2: Bias due to deviations from intended intervention",
           "D3: Bias due to missing outcome data",
           "D4: Bias in measurement of the outcome",
           "D5: Bias in selection of the reported result")


def _frame(rob) -> pd.DataFrame:
    table = getattr(rob, "table", rob)
    if not isinstance(table, pd.DataFrame):
        raise InputError("risk-of-bias plot: expected a RiskOfBias or a DataFrame")
    missing = [c for c in ("study_id", *_DOMAINS, "overall") if c not in table.columns]
    if missing:
        raise InputError(f"risk-of-bias plot: no column {missing[0]!r}")
    if table.empty:
        raise InputError("risk-of-bias plot: the table has no rows")
    for col in (*_DOMAINS, "overall"):
        bad = sorted(set(table[col]) - set(ROB_COLOURS))
        if bad:
            raise InputError(f"risk-of-bias plot: {col}: unknown judgement {bad[0]!r}")
    return table


def _row_labels(table: pd.DataFrame) -> list[str]:
    out = []
    for _, r in table.iterrows():
        o = r.get("outcome", "")
        out.append(str(r["study_id"]) + (f" ({o})" if isinstance(o, str) and o else ""))
    return out


def traffic_light_plot(rob, *, title: str | None = None):
    """Traffic-light plot of a RoB 2 table (robvis ``rob_traffic_light``).

    Parameters
    ----------
    rob : RiskOfBias or DataFrame
        ``study_id``, optional ``outcome``, the five domains and ``overall``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The circles of one judgement are one collection with the gid ``rob-<judgement>``
        (e.g. ``rob-high``), one point per cell.

    Examples
    --------
    >>> t = pd.DataFrame([{"study_id": "A", "randomisation": "high", "deviations": "low",
    ...     "missing_data": "low", "measurement": "low", "selection": "low", "overall": "high"}])
    >>> fig = traffic_light_plot(t)
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections
    ...     if c.get_gid() == "rob-high")  # D1 and overall
    2
    """
    table = _frame(rob)
    labels = _row_labels(table)
    n = len(table)
    width, height = 7.0, 0.6 + 0.32 * n + 1.1
    fig = new_figure(width, height)
    ax = fig.add_axes([0.34, 1.1 / height, 0.62, 0.32 * n / height])
    cols = (*_DOMAINS, "overall")
    cells: dict[str, list] = {}  # judgement -> its cells (x, y); one collection each
    for i, (_, r) in enumerate(table.iterrows()):
        y = n - 1 - i
        for j, col in enumerate(cols):
            j_ = r[col]
            cells.setdefault(j_, []).append((j, y))
            ax.text(j, y, ROB_SYMBOLS[j_], ha="center", va="center", fontsize=FONT_SIZE,
                    fontweight="bold", color=INK if j_ == "some concerns" else "white", zorder=4)
    for j_, xy in cells.items():  # circles never overlap: one collection per colour
        ax.scatter(*zip(*xy), s=260, color=ROB_COLOURS[j_], edgecolor=INK, linewidth=0.4,
                   gid=f"rob-{j_.replace(' ', '-')}", zorder=3)
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xticks(range(len(cols)), _TITLES, fontsize=FONT_SIZE)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n), labels[::-1], fontsize=FONT_SIZE, parse_math=False)  # data text
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.grid(color="#dddddd", lw=0.5, zorder=0)
    legend = "\n".join(_LEGEND) + "\nJudgement: + low, - some concerns, X high, ? not assessed"
    fig.text(0.02, 0.02, legend, fontsize=NOTE_SIZE - 1, va="bottom", ha="left")
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=FONT_SIZE + 2, fontweight="bold",
                     parse_math=False)
    return fig


def rob_summary_plot(rob, *, weights=None, title: str | None = None):
    """Weighted summary bar plot of a RoB 2 table (robvis ``rob_summary``).

    Parameters
    ----------
    rob : RiskOfBias or DataFrame
    weights : sequence of float, optional
        One weight per row (e.g. the analysis weights); default equal weights.
        Bars then give the share of the weight at each judgement.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Bars carry the gid ``summary-<domain>-<judgement>``.

    Raises
    ------
    InputError
        Weights of the wrong length, negative, or summing to zero.

    Examples
    --------
    >>> t = pd.DataFrame([{"study_id": s, "randomisation": j, "deviations": "low",
    ...     "missing_data": "low", "measurement": "low", "selection": "low", "overall": j}
    ...     for s, j in (("A", "low"), ("B", "high"))])
    >>> fig = rob_summary_plot(t, weights=[3, 1])
    >>> [float(round(b.get_width(), 2)) for b in fig.axes[0].patches
    ...  if b.get_gid() in ("summary-overall-low", "summary-overall-high")]
    [75.0, 25.0]
    """
    table = _frame(rob)
    w = np.ones(len(table)) if weights is None else np.asarray(weights, float)
    if w.shape != (len(table),) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"rob_summary_plot: weights must be {len(table)} finite values >= 0 "
                         "with a positive sum")
    w = 100 * w / w.sum()
    cols = (*_DOMAINS, "overall")
    names = [*_LEGEND, "Overall risk of bias"]
    fig = new_figure(8.0, 0.45 * len(cols) + 1.3)
    ax = fig.add_axes([0.42, 0.3, 0.55, 0.62])
    for i, col in enumerate(cols):
        y = len(cols) - 1 - i
        left = 0.0
        for j in ("low", "some concerns", "high", "not assessed"):
            share = float(w[(table[col] == j).to_numpy()].sum())
            if share > 0:
                ax.barh(y, share, left=left, color=ROB_COLOURS[j], edgecolor=INK, lw=0.4,
                        height=0.7, gid=f"summary-{col}-{j.replace(' ', '-')}")
            left += share
    ax.set_yticks(range(len(cols)), [n.split(": ")[-1] for n in names][::-1],
                  fontsize=NOTE_SIZE)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of " + ("studies" if weights is None else "weight") + " (%)",
                  fontsize=NOTE_SIZE)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=ROB_COLOURS[j], edgecolor=INK, lw=0.4, label=j)
               for j in ROB_COLOURS]
    fig.legend(handles=handles, loc="lower left", ncol=4, fontsize=NOTE_SIZE - 1,
               frameon=False)
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=FONT_SIZE + 2, fontweight="bold",
                     parse_math=False)
    return fig
