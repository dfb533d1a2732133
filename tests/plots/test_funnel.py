"""Funnel plots: points, pseudo-CI funnel, significance contours, trim-and-fill."""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import InputError
from sleepmeta.plots import funnel_plot, save_figure
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_frame as bcg

Z975 = 1.959963984540054  # qnorm(0.975)
Z95 = 1.6448536269514722  # qnorm(0.95): two-sided p = 0.10
Z995 = 2.5758293035489004  # qnorm(0.995): two-sided p = 0.01




@pytest.fixture(scope="module")
def res():
    return meta_analysis("yi", "vi", data=bcg(), measure="RR")


def gid(fig, name):
    return list(fig.findobj(lambda a: a.get_gid() == name))


def test_points_and_inverted_standard_error_axis(res):
    fig = funnel_plot(res, transform="none")
    ax = fig.axes[0]
    assert ax.yaxis_inverted()
    assert ax.get_ylim()[1] == 0.0
    (pts,) = gid(fig, "study-points")
    xy = pts.get_offsets()
    assert len(xy) == res.k
    assert np.allclose(xy[:, 0], res.yi) and np.allclose(xy[:, 1], np.sqrt(res.vi))
    assert ax.get_ylabel() == "Standard error"


def test_pseudo_confidence_funnel_around_the_estimate(res):
    fig = funnel_plot(res, transform="none")
    (funnel,) = gid(fig, "funnel")
    x, y = funnel.get_xdata(), funnel.get_ydata()
    top = y[0]
    assert top == pytest.approx(1.05 * np.sqrt(res.vi).max())
    assert x == pytest.approx([res.estimate - Z975 * top, res.estimate, res.estimate + Z975 * top])
    (centre,) = gid(fig, "pooled-estimate")
    assert centre.get_xdata() == pytest.approx([res.estimate] * 2)


def test_back_transformed_on_a_log_axis(res):
    fig = funnel_plot(res)
    assert fig.axes[0].get_xscale() == "log"
    xy = gid(fig, "study-points")[0].get_offsets()
    assert np.allclose(xy[:, 0], np.exp(res.yi))


def test_contours_of_peters_2008_around_no_effect(res):
    fig = funnel_plot(res, contours=True, transform="none")
    top = gid(fig, "funnel")[0].get_ydata()[0]
    for p, z in ((0.10, Z95), (0.05, Z975), (0.01, Z995)):
        (poly,) = gid(fig, f"contour-{p:.2f}")
        xy = poly.get_xy()
        assert xy[0] == pytest.approx([0.0, 0.0])  # apex at no effect, SE = 0
        assert xy[1] == pytest.approx([-z * top, top]) and xy[2] == pytest.approx([z * top, top])
    assert gid(funnel_plot(res), "contour-0.05") == []
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "0.01 < p \u2264 0.05" in labels


def _trimfill(res):
    """The trim-and-fill result: the pooling stage's if present, else one built by hand."""
    if hasattr(res, "trim_and_fill"):
        return res.trim_and_fill()
    try:
        from sleepmeta.pooling.trimfill import trim_and_fill
    except ImportError:
        trim_and_fill = None
    if trim_and_fill is not None:
        return trim_and_fill(res)
    # by hand: mirror the two left-most studies about the estimate (Duval & Tweedie's fill step)
    idx = np.argsort(res.yi)[:2]
    yi, vi = 2 * res.estimate - res.yi[idx], res.vi[idx]
    adjusted = meta_analysis(np.r_[res.yi, yi], np.r_[res.vi, vi], measure=res.measure)
    return SimpleNamespace(k0=2, side="right", filled=pd.DataFrame({"yi": yi, "vi": vi}),
                           adjusted=adjusted)


def test_trim_and_fill_studies_are_open_circles(res):
    tf = _trimfill(res)
    fig = funnel_plot(res, trimfill=tf, transform="none")
    (filled,) = gid(fig, "filled-studies")
    xy = filled.get_offsets()
    assert len(xy) == len(tf.filled) == tf.k0
    assert np.allclose(xy[:, 0], tf.filled["yi"]) and np.allclose(xy[:, 1], np.sqrt(tf.filled["vi"]))
    assert np.allclose(filled.get_facecolor()[:, :3], 1.0)  # open: white inside
    (adj,) = gid(fig, "adjusted-estimate")
    assert adj.get_xdata() == pytest.approx([tf.adjusted.estimate] * 2)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"Filled studies (k0 = {tf.k0})" in legend


@pytest.mark.r
def test_filled_studies_where_metafor_puts_them(metafor, res):
    ref = metafor(
        "res <- rma(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n"
        "tf <- trimfill(res)\n"
        "write.csv(data.frame(yi=as.numeric(tf$yi), vi=tf$vi, fill=tf$fill, b=as.numeric(tf$beta)),"
        " stdout(), row.names=FALSE)")
    fig = funnel_plot(res, trimfill=_trimfill(res), transform="none")
    filled = ref[ref.fill]
    drawn = gid(fig, "filled-studies")[0].get_offsets() if len(filled) else np.empty((0, 2))
    assert sorted(drawn[:, 0]) == pytest.approx(sorted(filled.yi), rel=1e-5)
    assert gid(fig, "adjusted-estimate")[0].get_xdata()[0] == pytest.approx(ref.b[0], rel=1e-5)


def test_png_is_written_and_not_blank(res, tmp_path):
    path = save_figure(funnel_plot(res, contours=True, trimfill=_trimfill(res)),
                       tmp_path / "funnel.png")
    img = matplotlib.image.imread(path)
    assert not np.all(img == img[0, 0])


def test_bad_input_is_a_typed_error(res):
    reg = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat")
    with pytest.raises(InputError, match="meta-regression"):
        funnel_plot(reg)
    with pytest.raises(InputError, match="filled"):
        funnel_plot(res, trimfill=SimpleNamespace(filled=pd.DataFrame({"x": [1.0]})))
    bad = SimpleNamespace(k0=1, filled=pd.DataFrame({"yi": [0.1], "vi": [-1.0]}), adjusted=res)
    with pytest.raises(InputError, match="filled study 0.*vi > 0"):
        funnel_plot(res, trimfill=bad)


def test_draws_into_given_axes(res):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert funnel_plot(res, ax=ax) is fig
    assert math.isclose(fig.get_figwidth(), 6.4)  # the caller's figure is not resized


def test_dollar_signs_in_title_and_xlabel_stay_text(res, tmp_path):
    # issue 11: a title from a spec or a data file is text, never mathtext
    fig = funnel_plot(res, title=r"$\frac{$ broken", xlabel="cost in $")
    texts = [t for t in fig.findobj(matplotlib.text.Text) if "$" in t.get_text()]
    assert len(texts) == 2 and not any(t.get_parse_math() for t in texts)
    save_figure(fig, tmp_path / "f.png")
