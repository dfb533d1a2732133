"""Forest plots: rendered, then checked through the artists' gids and positions."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.image
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from sleepmeta.errors import InputError, UnknownOptionError
from sleepmeta.plots import forest_plot, save_figure
from sleepmeta.pooling import meta_analysis
from tests._bcg import bcg_frame as bcg

Z975 = 1.959963984540054  # qnorm(0.975)




@pytest.fixture(scope="module")
def res():
    d = bcg()
    return meta_analysis("yi", "vi", data=d, labels="label", measure="RR")


def gid(fig: Figure, name: str) -> list:
    return list(fig.findobj(lambda a: a.get_gid() == name))


def texts(fig: Figure, name: str) -> list[str]:
    return [t.get_text() for t in gid(fig, name)]


def diamond_x(poly) -> tuple[float, float]:
    xy = poly.get_xy()
    return float(xy[:, 0].min()), float(xy[:, 0].max())


def test_one_row_per_study_and_the_diamond_spans_the_back_transformed_ci(res):
    fig = forest_plot(res)
    assert len(gid(fig, "study-row")) == res.k == 13
    (diamond,) = gid(fig, "pooled-diamond")
    lo, hi = diamond_x(diamond)
    assert lo == pytest.approx(math.exp(res.ci_low), rel=1e-12)
    assert hi == pytest.approx(math.exp(res.ci_high), rel=1e-12)
    apex = diamond.get_xy()[1, 0]
    assert apex == pytest.approx(math.exp(res.estimate), rel=1e-12)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    (null,) = gid(fig, "null-line")
    assert np.allclose(null.get_segments()[0][:, 0], 1.0)


def test_study_interval_of_aronson_by_hand(res):
    # Aronson 1948: 4/123 vaccinated vs 11/139 control cases
    yi = math.log((4 / 123) / (11 / 139))
    vi = 1 / 4 - 1 / 123 + 1 / 11 - 1 / 139
    fig = forest_plot(res)
    first = gid(fig, "study-row")[0]
    x = first.get_xdata()
    assert x[0] == pytest.approx(math.exp(yi - Z975 * math.sqrt(vi)), rel=1e-12)
    assert x[1] == pytest.approx(math.exp(yi + Z975 * math.sqrt(vi)), rel=1e-12)
    assert texts(fig, "label-study")[0] == "Aronson 1948"
    # 2 decimals and a true minus: exp(-0.8893) = 0.41, CI 0.13 to 1.26
    assert texts(fig, "text-study")[0] == "0.41 [0.13, 1.26]"


def test_analysis_scale_without_transform(res):
    fig = forest_plot(res, transform="none")
    assert fig.axes[0].get_xscale() == "linear"
    lo, hi = diamond_x(gid(fig, "pooled-diamond")[0])
    assert (lo, hi) == pytest.approx((res.ci_low, res.ci_high), rel=1e-12)
    assert np.allclose(gid(fig, "null-line")[0].get_segments()[0][:, 0], 0.0)
    assert texts(fig, "text-pooled")[0].startswith("\u22120.71 [")  # -0.7145 by REML


def test_prediction_interval_under_the_diamond(res):
    fig = forest_plot(res)
    (pi,) = gid(fig, "prediction-interval")
    assert pi.get_xdata() == pytest.approx([math.exp(res.pi_low), math.exp(res.pi_high)])
    assert pi.get_ydata()[0] < gid(fig, "pooled-diamond")[0].get_xy()[:, 1].min() + 1
    assert gid(forest_plot(res, show_pi=False), "prediction-interval") == []
    fe = meta_analysis(res.yi, res.vi, method="FE", measure="RR")
    assert gid(forest_plot(fe), "prediction-interval") == []


def test_weights_column(res):
    fig = forest_plot(res)
    shown = texts(fig, "weight-study")
    assert shown == [f"{w:.1f}%" for w in res.weights]
    assert texts(fig, "weight-pooled") == ["100.0%"]
    assert gid(forest_plot(res, show_weights=False), "weight-study") == []


def _x_extent(fig, artist):
    fig.canvas.draw()
    return artist.get_window_extent(fig.canvas.get_renderer())


@pytest.mark.parametrize("lower_is_better", [True, False])
def test_favours_labels_on_the_correct_sides(res, lower_is_better):
    fig = forest_plot(res, lower_is_better=lower_is_better,
                      favours=("Favours BCG", "Favours no vaccine"))
    ax = fig.axes[0]
    (treat,) = gid(fig, "favours-treatment")
    (control,) = gid(fig, "favours-control")
    assert "Favours BCG" in treat.get_text() and "Favours no vaccine" in control.get_text()
    null_px = ax.transData.transform((1.0, 0.0))[0]
    left, right = (treat, control) if lower_is_better else (control, treat)
    assert _x_extent(fig, left).x1 <= null_px
    assert _x_extent(fig, right).x0 >= null_px
    # below the axis
    assert _x_extent(fig, treat).y1 < ax.get_window_extent().y0


def test_long_labels_stay_clear_of_the_plot_and_the_numbers(res):
    labels = list(res.labels)
    labels[3] = "A very long study label, Hart & Sutherland, British Medical Research Council 1977"
    fig = forest_plot(res, labels=labels)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    panel = fig.axes[0].get_window_extent(r)
    for t in gid(fig, "label-study"):
        assert t.get_window_extent(r).x1 < panel.x0
    for t in gid(fig, "text-study"):
        assert t.get_window_extent(r).x0 > panel.x1
    fig_box = fig.bbox
    for t in gid(fig, "weight-study") + gid(fig, "label-study"):
        box = t.get_window_extent(r)
        assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1


def test_rows_do_not_overlap_and_height_grows_with_k(res):
    small = forest_plot(meta_analysis(res.yi[:3], res.vi[:3], measure="RR"))
    big = forest_plot(res)
    assert big.get_figheight() > small.get_figheight()
    big.canvas.draw()
    r = big.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in gid(big, "label-study")]
    for upper, lower in zip(boxes, boxes[1:]):
        assert lower.y1 <= upper.y0 + 0.5  # one row below the other, no overlap


def test_xlim_clips_intervals_with_arrows(res):
    fig = forest_plot(res, xlim=(0.05, 2.0))
    assert fig.axes[0].get_xlim() == pytest.approx((0.05, 2.0))
    # only Comstock & Webster 1969, RR 1.56 [0.37, 6.53], runs past the limits
    assert len(gid(fig, "study-arrow")) == 1
    # with 0.1: also Ferguson & Simes [0.09, ...], Rosenthal 1960 [0.07, ...], Vandiviere [0.08, ...]
    assert len(gid(forest_plot(res, xlim=(0.1, 2.0)), "study-arrow")) == 4
    assert max(max(line.get_xdata()) for line in gid(fig, "study-row")) == pytest.approx(2.0)


def test_draws_into_given_axes(res):
    fig = Figure(figsize=(10, 6))
    ax = fig.add_axes([0.35, 0.15, 0.35, 0.8])
    out = forest_plot(res, ax=ax, title="BCG")
    assert out is fig
    assert len(gid(fig, "study-row")) == 13
    assert ax.get_title() == "BCG"


def test_png_is_written_and_not_blank(res, tmp_path):
    path = save_figure(forest_plot(res, title="BCG vaccine"), tmp_path / "forest.png")
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300
    assert not np.all(img == img[0, 0])


def test_subgroups_headers_subtotals_and_between_test():
    d = bcg()
    sg = _subgroups(d)
    fig = forest_plot(sg)
    assert texts(fig, "label-group") == list(sg.groups)
    assert len(gid(fig, "study-row")) == 13
    subs = gid(fig, "subgroup-diamond")
    assert len(subs) == len(sg.groups) == 3
    for poly, g in zip(subs, sg.groups.values()):
        assert diamond_x(poly) == pytest.approx((math.exp(g.ci_low), math.exp(g.ci_high)),
                                                rel=1e-12)
    (overall,) = gid(fig, "pooled-diamond")
    assert diamond_x(overall) == pytest.approx(
        (math.exp(sg.overall.ci_low), math.exp(sg.overall.ci_high)), rel=1e-12)
    assert [t for t in texts(fig, "label-subtotal")] == [
        f"Subtotal (k = {g.k})" for g in sg.groups.values()]
    notes = texts(fig, "note")
    assert any(n.startswith("Test for subgroup differences: Q(2) = ") for n in notes)
    taus = [n for n in notes if n.startswith("Heterogeneity: \u03c4\u00b2")]
    assert len(taus) == 4  # one per group and the overall line
    # study weights are the overall model's; a subtotal is the sum of its studies'
    w = dict(zip(sg.overall.labels, sg.overall.weights))
    first = sg.groups[next(iter(sg.groups))]
    assert texts(fig, "weight-subtotal")[0] == f"{sum(w[s] for s in first.labels):.1f}%"


def _subgroups(d):
    """The subgroup result by allocation: the public API if wired, else its module."""
    try:
        return meta_analysis("yi", "vi", data=d, labels="label", measure="RR", subgroup="alloc")
    except TypeError:  # meta_analysis(subgroup=) not wired yet
        from sleepmeta.pooling.subgroups import subgroup_analysis

        return subgroup_analysis(d.yi.to_numpy(), d.vi.to_numpy(), list(d.label), d.alloc,
                                 name="alloc", method="REML", test="z", level=0.95,
                                 measure="RR")


@pytest.mark.r
def test_diamond_and_pi_match_metafor(metafor, res):
    ref = metafor(
        "res <- rma(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)\n"
        "p <- predict(res, transf=exp)\n"
        "write.csv(data.frame(lo=p$ci.lb, hi=p$ci.ub, plo=p$pi.lb, phi=p$pi.ub), stdout(),"
        " row.names=FALSE)")
    fig = forest_plot(res)
    lo, hi = diamond_x(gid(fig, "pooled-diamond")[0])
    assert (lo, hi) == pytest.approx((ref.lo[0], ref.hi[0]), rel=1e-5)
    pi = gid(fig, "prediction-interval")[0].get_xdata()
    assert list(pi) == pytest.approx([ref.plo[0], ref.phi[0]], rel=1e-5)


def test_bad_input_is_a_typed_error(res):
    reg = meta_analysis("yi", "vi", data=bcg(), mods="~ ablat", measure="RR")
    with pytest.raises(InputError, match="meta-regression.*ablat"):
        forest_plot(reg)
    with pytest.raises(InputError, match="labels has 2 entries.*k = 13"):
        forest_plot(res, labels=["a", "b"])
    with pytest.raises(UnknownOptionError, match="transform 'log'"):
        forest_plot(res, transform="log")
    with pytest.raises(InputError, match="favours"):
        forest_plot(res, favours=("a", "b", "c"))
    with pytest.raises(InputError, match="xlim"):
        forest_plot(res, xlim=(0.0, 2.0))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 2.0)), min_size=2, max_size=25))
def test_property_rows_and_diamond(studies):
    yi, vi = map(np.array, zip(*studies))
    r = meta_analysis(yi, vi, method="DL")
    fig = forest_plot(r)
    assert len(gid(fig, "study-row")) == r.k
    assert diamond_x(gid(fig, "pooled-diamond")[0]) == pytest.approx((r.ci_low, r.ci_high),
                                                                      rel=1e-12, abs=1e-12)
    lo, hi = fig.axes[0].get_xlim()
    assert lo <= min(r.ci_low, 0.0) and hi >= max(r.ci_high, 0.0)


def test_dollar_signs_in_labels_and_title_stay_text(tmp_path):
    # issue 11: "$...$" in a study name is mathtext to matplotlib; a malformed one
    # ("\frac{") made saving the figure raise, a valid one rendered as math
    names = [r"Smith $\frac{$ 2010", "Jones $x^2$ 2011", "Lee 2012 ($5 copay)"]
    res = meta_analysis([0.1, 0.3, 0.2], [0.01, 0.02, 0.015], labels=names)
    fig = forest_plot(res, title=r"Title with $\alpha$")
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert {t.get_text() for t in texts} >= {*names, r"Title with $\alpha$"}
    assert not any(t.get_parse_math() for t in texts)
    save_figure(fig, tmp_path / "f.png")  # renders without a mathtext error


def test_one_study_has_no_heterogeneity_line():
    # k = 1: tau², I² and Q are not estimable, so the plot must not print "I² = 0.0%; Q(0) = 0.00"
    res = meta_analysis([-0.54], [0.2015 ** 2], labels=["Roth 2012"], method="FE")
    fig = forest_plot(res)
    notes = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "note"]
    assert not [n for n in notes if n.startswith("Heterogeneity")]
    assert any(n.startswith("Test for overall effect") for n in notes)


def test_arm_columns_show_events_over_totals():
    # RevMan prints events/total per arm beside each study (Cochrane Handbook 10.2 figures)
    res = meta_analysis([0.5, 0.9], [0.1, 0.2], labels=["Ohta 2012", "Arnold 2016"],
                        measure="RR")
    arms = {"Ohta 2012": ("45/152", "9/152"), "Arnold 2016": ("30/101", "10/102")}
    fig = forest_plot(res, arms=arms, arm_headers=("Pregabalin n/N", "Placebo n/N"))
    assert texts(fig, "arm-treatment") == ["45/152", "30/101"]
    assert texts(fig, "arm-control") == ["9/152", "10/102"]
    heads = [t.get_text() for t in fig.axes[0].texts]
    assert "Pregabalin n/N" in heads and "Placebo n/N" in heads
    plain = forest_plot(res)
    assert fig.get_figwidth() > plain.get_figwidth()  # room made for the two columns


def test_rob_column_one_circle_per_study_in_judgement_colour():
    from sleepmeta.plots.rob import ROB_COLOURS
    from sleepmeta.pooling import meta_analysis

    res = meta_analysis([-0.89, -1.59, -1.35], [0.33, 0.19, 0.42], labels=["A", "B", "C"],
                        measure="RR")
    fig = forest_plot(res, rob={"A": "high", "B": "low"})
    cols = {c.get_gid(): c for c in fig.axes[0].collections}
    assert {"rob-high", "rob-low", "rob-not-assessed"} <= set(cols)  # C is not in the mapping
    import matplotlib.colors as mc
    assert mc.to_hex(cols["rob-high"].get_facecolor()[0]) == ROB_COLOURS["high"].lower()
    with pytest.raises(InputError, match="unknown judgement"):
        forest_plot(res, rob={"A": "bad"})
