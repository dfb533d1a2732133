"""Stage 6: figures reviewers read — forest, funnel and bubble plots.

Every function returns a :class:`matplotlib.figure.Figure` (drawn without
``pyplot``, on an Agg canvas); :func:`save_figure` writes it as PNG, SVG or
PDF, atomically.
"""

from sleepmeta.plots.bubble import bubble_plot
from sleepmeta.plots.forest import forest_plot
from sleepmeta.plots.funnel import funnel_plot
from sleepmeta.plots.save import save_figure

__all__ = ["bubble_plot", "forest_plot", "funnel_plot", "save_figure"]
