"""The dose curve plot: band, curve, points sized by precision, ratio axis."""

import numpy as np
import pandas as pd

from sleepmeta.dose import dose_response
from sleepmeta.plots.dose_curve import dose_curve_plot


def _res():
    df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3 + ["C"] * 4,
                       "dose": [0, 150, 300, 0, 150, 300, 0, 75, 300, 600],
                       "events": [5, 10, 20, 4, 9, 15, 6, 8, 19, 30], "n": [100] * 10})
    return dose_response(df, study="id", dose="dose", events="events", n="n", model="spline",
                         knots=[75, 300, 600])


def test_curve_band_points_and_axis():
    res = _res()
    fig = dose_curve_plot(res, title="Dizziness")
    ax = fig.axes[0]
    gids = {c.get_gid(): c for c in ax.collections}
    assert set(gids) == {"dose-ci", "dose-arms"}
    pts = gids["dose-arms"]
    assert len(pts.get_offsets()) == res.n_contrasts
    sizes = pts.get_sizes()
    w = 1 / res.arms["se"].to_numpy() ** 2
    assert np.argmax(sizes) == np.argmax(w)  # most precise arm drawn largest
    assert ax.get_yscale() == "log"
    assert {t.get_text() for t in ax.get_yticklabels()} <= {"0.5", "1", "2", "5"}
    assert "mg/day" in ax.get_xlabel()
    curve = [ln for ln in ax.lines if ln.get_gid() == "dose-curve"][0]
    x, y = curve.get_data()
    assert np.allclose(y, res.predict(x)["estimate"])
