"""Dose-response plot of harms."""

from __future__ import annotations

import pandas as pd
import pytest

from sleepmeta.errors import ColumnError
from sleepmeta.plots.dose_response import dose_response_plot

# The label's DPN table (US prescribing information, Table 3) as printed: dizziness
LABEL = pd.DataFrame({"source": ["label"] * 4, "dose_min": [75, 150, 300, 600],
                      "dose_max": [75, 150, 300, 600], "risk_treat": [8.0, 9.0, 23.0, 29.0],
                      "risk_ctrl": [5.0] * 4})


def test_points_per_arm_and_control():
    fig = dose_response_plot(LABEL)
    left = fig.axes[0]
    arm = [c for c in left.collections if c.get_gid() == "dose-arm"]
    assert len(arm) == 1 and arm[0].get_offsets().tolist() == [[75, 8], [150, 9], [300, 23], [600, 29]]
    assert any(c.get_offsets().tolist() == [[0, 5]] for c in left.collections if c.get_gid() != "dose-arm")


def test_flexible_dose_range_is_a_bar_not_a_midpoint():
    # Ohta 2012 titrated 300-450 mg/day: nobody took 375 mg/day, so no point is drawn there
    arms = pd.DataFrame({"source": ["Ohta 2012"], "dose_min": [300], "dose_max": [450],
                         "risk_treat": [29.6], "risk_ctrl": [6.0], "rr": [4.9], "rr_low": [2.9],
                         "rr_high": [8.3]})
    fig = dose_response_plot(arms, title="Dizziness")
    left, right = fig.axes
    assert not [c for c in left.collections if c.get_gid() == "dose-arm"]
    (bar,) = [c for c in left.collections if c.get_gid() == "dose-range"]
    assert bar.get_segments()[0].tolist() == [[300.0, 29.6], [450.0, 29.6]]
    (rbar,) = [c for c in right.collections if c.get_gid() == "dose-rr-range"]
    assert rbar.get_segments()[0].tolist() == [[300.0, 4.9], [450.0, 4.9]]
    assert right.get_yscale() == "log"


def test_axes_start_at_zero_and_ratio_ticks_double():
    arms = LABEL.assign(rr=[1.6, 1.8, 4.6, 5.8], rr_low=[0.65, 1.0, 3.0, 3.9],
                        rr_high=[3.7, 3.2, 7.0, 8.6])
    fig = dose_response_plot(arms)
    left, right = fig.axes
    assert left.get_xlim()[0] < 0 < 75 and left.get_xlim()[1] >= 600
    assert right.get_xlim() == left.get_xlim()
    ticks = [t for t in right.get_yticks() if right.get_ylim()[0] <= t <= right.get_ylim()[1]]
    assert ticks == [1.0, 2.0, 4.0, 8.0]
    labels = [t.get_text() for t in right.get_yticklabels()]
    assert "10$^{0}$" not in " ".join(labels) and "1" in labels


def test_two_events_of_one_source_are_two_series():
    # a label table printing two terms ("Confusion", "Thinking abnormal") per dose: never one line
    arms = pd.concat([LABEL.assign(event="confusion"),
                      LABEL.assign(event="thinking abnormal", risk_treat=[1.0, 0.0, 1.0, 3.0])])
    fig = dose_response_plot(arms)
    series = [c for c in fig.axes[0].collections if c.get_gid() == "dose-arm"]
    assert len(series) == 2
    lines = [ln for ln in fig.axes[0].lines if len(ln.get_xdata()) > 1]
    assert len(lines) == 2 and all(len(ln.get_xdata()) == 4 for ln in lines)


def test_missing_column():
    with pytest.raises(ColumnError, match="risk_ctrl"):
        dose_response_plot(LABEL.drop(columns="risk_ctrl"))


def test_rows_without_dose_are_left_out():
    arms = pd.concat([LABEL, pd.DataFrame({"source": ["x"], "dose_min": [None], "dose_max": [None],
                                           "risk_treat": [10.0], "risk_ctrl": [2.0]})])
    fig = dose_response_plot(arms)
    n = sum(len(c.get_offsets()) for c in fig.axes[0].collections if c.get_gid() == "dose-arm")
    assert n == 4


def test_dollar_signs_in_sources_and_title_stay_text(tmp_path):
    # issue 11: source names come from data files; "$...$" must not become mathtext
    import matplotlib.text

    from sleepmeta.plots import save_figure

    arms = pd.DataFrame({"source": [r"$\frac{$ 2010"], "dose_min": [150], "dose_max": [150],
                         "risk_treat": [9.0], "risk_ctrl": [5.0]})
    fig = dose_response_plot(arms, title="$5 and $10")
    texts = [t for t in fig.findobj(matplotlib.text.Text) if "$" in t.get_text()]
    assert len(texts) == 2 and not any(t.get_parse_math() for t in texts)
    save_figure(fig, tmp_path / "d.png")
