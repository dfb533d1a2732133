"""The hypnogram figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from sleepmeta.sleep import Hypnogram, plot_hypnogram  # noqa: E402


def test_stages_rem_and_lights_are_drawn(tmp_path):
    h = Hypnogram(["W", "N1", "N2", "N3", "R", "R", "ART", "W"], name="$x^2$ night").with_lights(30, 210)
    ax = plot_hypnogram(h)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["W", "REM", "N1", "N2", "N3"]
    red = [ln for ln in ax.get_lines() if ln.get_linewidth() == 4]
    assert len(red) == 2  # one thick segment per REM epoch
    vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert sorted(float(np.asarray(ln.get_xdata())[0]) for ln in vlines) == [30 / 3600, 210 / 3600]
    assert ax.get_title(loc="left") == "$x^2$ night"  # plain text, not mathtext
    ax.figure.savefig(tmp_path / "h.png")  # renders without a mathtext error
    assert (tmp_path / "h.png").stat().st_size > 0


def test_sleep_wake_series_has_two_rows():
    ax = plot_hypnogram(Hypnogram(["W", "S", "S", "W"]))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["W", "Sleep"]
