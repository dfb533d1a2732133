"""Agg canvases that share their text measurements across figures.

matplotlib measures every text before drawing it (FreeType and libraqm shape it, about
15 µs a character with matplotlib 3.11) and keeps the measurement per renderer, that is
per figure. The figures of one report repeat the same column headers, tick labels and
"Favours" lines: of the bundled review's 707 measurements, 381 are distinct. A canvas made
by :class:`SharedMetricsCanvas` looks a measurement up in a table it shares with the other
canvases given the same table, and measures only texts not seen before. The measurement is
the renderer's own (:meth:`RendererAgg.get_text_width_height_descent`), so a figure draws
exactly the same pixels; the key holds everything it depends on: the text, the font
properties, the resolution and the glyph-loading settings (``text.hinting``,
``text.hinting_factor``). Math text is measured every time, as before.
"""

from __future__ import annotations

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag

__all__ = ["SharedMetricsCanvas", "SharedMetricsRenderer"]


class SharedMetricsRenderer(RendererAgg):
    """An Agg renderer that keeps its text measurements in a table shared with others.

    Parameters
    ----------
    width, height : int
        Size in pixels.
    dpi : float
    metrics : dict
        The shared table (key to ``(width, height, descent)`` in pixels); start with ``{}``.

    Examples
    --------
    >>> from matplotlib.font_manager import FontProperties
    >>> table = {}
    >>> one = SharedMetricsRenderer(10, 10, 100, table)
    >>> two = SharedMetricsRenderer(20, 5, 100, table)
    >>> w = one.get_text_width_height_descent("Study", FontProperties(size=9), False)
    >>> two.get_text_width_height_descent("Study", FontProperties(size=9), False) == w, len(table)
    (True, 1)
    """

    def __init__(self, width, height, dpi, metrics: dict) -> None:
        super().__init__(width, height, dpi)
        self.metrics = metrics

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, prop.copy(), self.dpi, get_hinting_flag(),
               matplotlib.rcParams["text.hinting_factor"])
        got = self.metrics.get(key)
        if got is None:
            got = self.metrics[key] = super().get_text_width_height_descent(s, prop, ismath)
        return got


class SharedMetricsCanvas(FigureCanvasAgg):
    """An Agg canvas for ``figure`` whose renderer shares the text measurements in ``metrics``.

    Making it attaches it to ``figure`` (in place of the figure's current canvas).

    Examples
    --------
    >>> from sleepmeta.plots._style import new_figure
    >>> table = {}
    >>> for width in (2.0, 3.0):
    ...     fig = new_figure(width, 1.0)
    ...     _ = fig.text(0.1, 0.5, "Favours placebo")
    ...     SharedMetricsCanvas(fig, table).draw()
    >>> sum(key[0] == "Favours placebo" for key in table)
    1
    """

    def __init__(self, figure, metrics: dict) -> None:
        super().__init__(figure)
        self.metrics = metrics
        self._size = None

    def get_renderer(self):
        size = (*self.get_width_height(physical=True), self.figure.dpi)
        if self._size != size:
            self.renderer = SharedMetricsRenderer(*size, self.metrics)
            self._size = size
        return self.renderer
