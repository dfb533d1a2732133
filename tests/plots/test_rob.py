"""Risk-of-bias plots: one circle per cell, bars summing to 100%, weights respected."""

from __future__ import annotations

import pandas as pd
import pytest

from sleepmeta.errors import InputError
from sleepmeta.plots.rob import rob_summary_plot, traffic_light_plot

DOMS = ("randomisation", "deviations", "missing_data", "measurement", "selection")


def _table():
    return pd.DataFrame([
        {"study_id": "A", **{d: "low" for d in DOMS}, "overall": "low"},
        {"study_id": "B", **{d: "low" for d in DOMS}, "randomisation": "high", "overall": "high"},
        {"study_id": "C", **{d: "not assessed" for d in DOMS}, "overall": "not assessed"},
    ])


def test_traffic_light_one_circle_per_cell():
    fig = traffic_light_plot(_table())
    circles: dict = {}  # gid -> cell centres
    for c in fig.axes[0].collections:
        circles.setdefault(c.get_gid(), []).extend(map(tuple, c.get_offsets()))
    assert sum(map(len, circles.values())) == 3 * 6
    assert len(circles["rob-high"]) == 2 and len(circles["rob-not-assessed"]) == 6
    assert len(circles["rob-low"]) == 6 + 4  # A: five domains and overall; B: four domains
    # study B (the second row, y = 1): high in D1 (x = 0) and overall (x = 5)
    assert sorted(circles["rob-high"]) == [(0.0, 1.0), (5.0, 1.0)]


def test_summary_bars_weighted_shares():
    # weights 1, 1, 2: overall low 25%, high 25%, not assessed 50% (hand calculation)
    fig = rob_summary_plot(_table(), weights=[1, 1, 2])
    bars = {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}
    assert bars["summary-overall-low"] == pytest.approx(25)
    assert bars["summary-overall-high"] == pytest.approx(25)
    assert bars["summary-overall-not-assessed"] == pytest.approx(50)
    assert bars["summary-measurement-low"] == pytest.approx(50)
    # unweighted: a third each
    fig = rob_summary_plot(_table())
    bars = {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}
    assert bars["summary-overall-high"] == pytest.approx(100 / 3)


def test_bad_input():
    with pytest.raises(InputError, match="weights"):
        rob_summary_plot(_table(), weights=[1, 2])
    t = _table()
    t.loc[0, "overall"] = "unclear"
    with pytest.raises(InputError, match="overall: unknown judgement 'unclear'"):
        traffic_light_plot(t)


def test_study_names_and_titles_are_text_not_mathtext():
    # README: text from the data is never mathtext in figures; "$" in a study name (even
    # an unbalanced TeX fragment) is drawn as typed
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    t = pd.DataFrame([{"study_id": s, "randomisation": "low", "deviations": "low",
                       "missing_data": "low", "measurement": "low", "selection": "low",
                       "overall": "low"} for s in ("Smith $x^2$", "Lee $\\frac{1}{$")])
    for fig in (traffic_light_plot(t, title="RoB of $\\frac{1}{$"),
                rob_summary_plot(t, title="Share $\\frac{1}{$")):
        FigureCanvasAgg(fig).draw()  # mathtext would raise on "$\frac{1}{$"
        assert not fig._suptitle.get_parse_math()
    labels = traffic_light_plot(t).axes[0].get_yticklabels()
    assert [lab.get_text() for lab in labels] == ["Lee $\\frac{1}{$", "Smith $x^2$"]
    assert not any(lab.get_parse_math() for lab in labels)
