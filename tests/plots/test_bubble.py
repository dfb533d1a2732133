"""Bubble plots of a meta-regression: bubbles by weight, fitted line and CI band."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest
from scipy import stats

from sleepmeta.errors import InputError, UnknownOptionError
from sleepmeta.plots import bubble_plot, save_figure
from sleepmeta.plots.bubble import prediction_band
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_frame as bcg




@pytest.fixture(scope="module")
def reg():
    return meta_analysis("yi", "vi", data=bcg(), mods="~ ablat", labels="label", measure="RR")


def gid(fig, name):
    return list(fig.findobj(lambda a: a.get_gid() == name))


def test_bubbles_at_the_data_with_area_proportional_to_weight(reg):
    d = bcg()
    fig = bubble_plot(reg, "ablat", transform="none")
    (b,) = gid(fig, "study-bubbles")
    xy = b.get_offsets()
    order = np.argsort(-np.asarray(reg.weights), kind="stable")
    assert np.allclose(xy[:, 0], d.ablat.to_numpy()[order])
    assert np.allclose(xy[:, 1], d.yi.to_numpy()[order])
    area = b.get_sizes() - 8  # 8 points² is the floor added to every bubble
    assert np.allclose(area / area.max(), np.sort(reg.weights)[::-1] / reg.weights.max())
    assert fig.axes[0].get_xlabel() == "ablat"


def test_fitted_line_is_the_regression_line(reg):
    fig = bubble_plot(reg, "ablat", transform="none")
    (line,) = gid(fig, "fitted-line")
    b0, b1 = reg.coefficients["estimate"]
    x = line.get_xdata()
    assert np.allclose(line.get_ydata(), b0 + b1 * x, rtol=1e-12)
    # the grid spans the observed latitudes widened by 4% on each side (metafor's regplot)
    lo, hi = 13.0, 55.0  # min and max of dat.bcg$ablat
    assert (x[0], x[-1]) == pytest.approx((lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo)))


def test_back_transformed_on_a_log_axis(reg):
    fig = bubble_plot(reg, "ablat")
    assert fig.axes[0].get_yscale() == "log"
    (b,) = gid(fig, "study-bubbles")
    assert np.allclose(np.sort(b.get_offsets()[:, 1]), np.sort(np.exp(reg.yi)))
    assert gid(fig, "null-line")[0].get_ydata()[0] == 1.0


def _without_predict(res):
    """The fields prediction_band reads, without a ``predict`` method (its fallback path)."""
    return SimpleNamespace(X=res.X, coefficients=res.coefficients, vcov=res.vcov,
                           level=res.level, df=res.df)


def test_band_by_hand_for_a_common_effect_line():
    # y = 2 + 0.5 x exactly, equal variances v: ordinary least squares with Var(b) = v (X'X)^-1,
    # so se(x) = sqrt(v (1/n + (x - xbar)^2 / Sxx)) (Draper & Smith, ch. 1)
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    v = 0.04
    res = meta_analysis(2 + 0.5 * x, np.full(5, v), mods=x, method="FE")
    grid, pred, lo, hi = prediction_band(_without_predict(res), 1, n=5)
    assert np.allclose(grid, np.linspace(-0.16, 4.16, 5))
    assert np.allclose(pred, 2 + 0.5 * grid)
    se = np.sqrt(v * (1 / 5 + (grid - 2.0) ** 2 / 10.0))
    assert np.allclose(hi - pred, stats.norm.isf(0.025) * se)
    assert np.allclose(pred - lo, stats.norm.isf(0.025) * se)


def test_fallback_and_predict_agree(reg):
    a = prediction_band(reg, 1)
    b = prediction_band(_without_predict(reg), 1)
    for u, w in zip(a, b):
        assert np.allclose(u, w, rtol=1e-12)


def test_knapp_hartung_band_uses_t_quantiles():
    d = bcg()
    z = meta_analysis("yi", "vi", data=d, mods="~ ablat")
    t = meta_analysis("yi", "vi", data=d, mods="~ ablat", test="knha")
    # same tau², hence same fit; only the vcov (scaled by s²) and the quantile differ
    _, pz, lz, _ = prediction_band(_without_predict(z), 1, n=3)
    _, pt, lt, _ = prediction_band(_without_predict(t), 1, n=3)
    se_z = (pz - lz) / stats.norm.isf(0.025)
    se_t = (pt - lt) / stats.t.isf(0.025, 13 - 2)
    assert np.allclose(pz, pt)
    ratio = se_t / se_z  # sqrt of the Knapp-Hartung scale factor, the same on the whole grid
    assert np.allclose(ratio, ratio[0])
    assert ratio[0] ** 2 == pytest.approx(t.vcov[0, 0] / z.vcov[0, 0], rel=1e-10)


@pytest.mark.r
def test_band_matches_metafor_predict(metafor):
    d = bcg()
    bands = {test: prediction_band(_without_predict(
        meta_analysis("yi", "vi", data=d, mods="~ ablat", test=test)), 1, n=7)
        for test in ("z", "knha")}
    xs = ", ".join(repr(float(g)) for g in bands["z"][0])
    ref = metafor(
        "out <- NULL\n"
        "for (tst in c('z', 'knha')) {\n"
        "  res <- rma(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, mods=~ablat, "
        "data=dat.bcg, test=tst)\n"
        f"  p <- predict(res, newmods=c({xs}))\n"
        "  out <- rbind(out, data.frame(test=tst, pred=p$pred, lo=p$ci.lb, hi=p$ci.ub))\n"
        "}\n"
        "write.csv(out, stdout(), row.names=FALSE)")
    for test, (_, pred, lo, hi) in bands.items():
        r = ref[ref.test == test]
        assert pred == pytest.approx(r.pred.to_numpy(), rel=1e-5)
        assert lo == pytest.approx(r.lo.to_numpy(), rel=1e-5)
        assert hi == pytest.approx(r.hi.to_numpy(), rel=1e-5)


def test_other_moderators_held_at_their_means():
    d = bcg()
    res = meta_analysis("yi", "vi", data=d, mods="~ ablat + year")
    _, pred, _, _ = prediction_band(_without_predict(res), 1, n=3)
    b0, b1, b2 = res.coefficients["estimate"]
    grid = np.linspace(13 - 1.68, 55 + 1.68, 3)
    assert np.allclose(pred, b0 + b1 * grid + b2 * d.year.mean())


def test_labels_and_png(reg, tmp_path):
    fig = bubble_plot(reg, "ablat", labels=True, title="Latitude")
    names = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(names) == sorted(reg.labels)
    img = matplotlib.image.imread(save_figure(fig, tmp_path / "bubble.png"))
    assert not np.all(img == img[0, 0])


def test_bad_input_is_a_typed_error(reg):
    with pytest.raises(UnknownOptionError, match="moderator 'latitude'; valid: ablat"):
        bubble_plot(reg, "latitude")
    with pytest.raises(UnknownOptionError, match="moderator 'intrcpt'"):
        bubble_plot(reg, "intrcpt")
    with pytest.raises(InputError, match="no moderators"):
        bubble_plot(meta_analysis(reg.yi, reg.vi), "ablat")
    with pytest.raises(InputError, match="labels has 1 entries"):
        bubble_plot(reg, "ablat", labels=["x"])


def test_dollar_signs_in_labels_stay_text(tmp_path):
    # issue 11: study names label the bubbles; "$...$" must not become mathtext
    import matplotlib.text

    from sleepmeta.plots import save_figure

    res = meta_analysis([0.0, 1.0, 2.2, 2.9], [0.1, 0.1, 0.2, 0.1],
                        mods=[[0.0], [1.0], [2.0], [3.0]], labels=[r"$\frac{$", "b", "c", "d"])
    fig = bubble_plot(res, "x1", labels=True, title="$x$")
    texts = [t for t in fig.findobj(matplotlib.text.Text) if "$" in t.get_text()]
    assert len(texts) == 2 and not any(t.get_parse_math() for t in texts)
    save_figure(fig, tmp_path / "b.png")
