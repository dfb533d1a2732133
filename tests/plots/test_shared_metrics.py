"""Tests for sleepmeta.plots.shared_metrics: canvases sharing their text measurements."""

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.font_manager import FontProperties

from sleepmeta.plots._style import new_figure
from sleepmeta.plots.shared_metrics import SharedMetricsCanvas, SharedMetricsRenderer


def _figure(width=3.0):
    fig = new_figure(width, 1.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 2])
    ax.set_xlabel("Mean difference (minutes)")
    fig.suptitle("Wake after sleep onset", fontweight="bold")
    return fig


def test_the_same_pixels_as_matplotlibs_own_canvas():
    table = {}
    for width in (3.0, 3.0, 4.0):  # the second figure measures nothing itself
        plain, shared = _figure(width), _figure(width)
        FigureCanvasAgg(plain).draw()
        SharedMetricsCanvas(shared, table).draw()
        assert shared.canvas.renderer.metrics is table
        assert np.array_equal(np.asarray(plain.canvas.buffer_rgba()),
                              np.asarray(shared.canvas.buffer_rgba()))


def test_each_text_is_measured_once_across_figures(monkeypatch):
    calls = []
    measure = RendererAgg.get_text_width_height_descent

    def counted(self, s, prop, ismath):
        calls.append(s)
        return measure(self, s, prop, ismath)

    monkeypatch.setattr(RendererAgg, "get_text_width_height_descent", counted)
    table = {}
    SharedMetricsCanvas(_figure(3.0), table).draw()
    first = len(calls)
    assert first > 0 and calls.count("Wake after sleep onset") == 1
    SharedMetricsCanvas(_figure(3.0), table).draw()  # another figure, another renderer
    assert len(calls) == first
    fig = _figure(3.0)
    fig.text(0.0, 0.0, "Favours placebo")
    SharedMetricsCanvas(fig, table).draw()
    assert calls[first:] == ["Favours placebo"]


def test_hinting_font_and_resolution_are_part_of_the_key():
    table = {}
    r = SharedMetricsRenderer(50, 50, 100, table)
    prop = FontProperties(size=9)
    hinted = r.get_text_width_height_descent("Favours placebo", prop, False)
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        unhinted = r.get_text_width_height_descent("Favours placebo", prop, False)
    bold = r.get_text_width_height_descent("Favours placebo", FontProperties(size=9,
                                                                              weight="bold"), False)
    SharedMetricsRenderer(50, 50, 200, table).get_text_width_height_descent(
        "Favours placebo", prop, False)
    assert len(table) == 4
    assert bold[0] > hinted[0] and unhinted[0] != hinted[0]
    # each entry is what a plain renderer measures under the same settings
    assert RendererAgg(50, 50, 100).get_text_width_height_descent(
        "Favours placebo", prop, False) == hinted


def test_math_text_is_measured_every_time():
    table = {}
    r = SharedMetricsRenderer(50, 50, 100, table)
    w, h, d = r.get_text_width_height_descent(r"$\alpha^2$", FontProperties(size=9), True)
    assert w > 0 and table == {}
