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
