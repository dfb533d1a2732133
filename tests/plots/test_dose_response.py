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


def test_flexible_dose_at_midpoint_and_rr_panel():
    arms = pd.DataFrame({"source": ["Ohta 2012"], "dose_min": [300], "dose_max": [450],
                         "risk_treat": [29.6], "risk_ctrl": [6.0], "rr": [4.9], "rr_low": [2.9],
                         "rr_high": [8.3]})
    fig = dose_response_plot(arms, title="Dizziness")
    assert fig.axes[0].collections[0].get_offsets().tolist() == [[375.0, 29.6]]
    assert fig.axes[1].get_yscale() == "log"
    assert any(l.get_gid() == "dose-rr" for l in fig.axes[1].lines)


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
