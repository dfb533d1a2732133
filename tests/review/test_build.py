"""The report: same numbers as the API, escaping, byte-identical JSON, atomic output."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sleepmeta.errors import SpecError
from sleepmeta.review.build import build_report

from .conftest import HARM_ROWS, make_review


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """The bundled review, built once (JSON only: the numbers)."""
    out = tmp_path_factory.mktemp("bundled") / "rep"
    return build_report(None, out, fmt="json")


def test_pooled_numbers_equal_the_api(review, tmp_path):
    from sleepmeta import effect_size, meta_analysis

    res = build_report(review, tmp_path / "out", fmt="json")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    # WASO: the three poolable rows, converted by hand, pooled by the public API
    se_a = 20 / (2 * 1.959963984540054)
    from scipy import stats
    se_c = 8 / stats.t.isf(0.02, 79)
    yi = [-20.0, -15.0, -8.0]
    vi = [se_a**2, 12**2 / 30 + 15**2 / 32, se_c**2]
    # k = 3 < few_studies_k (5): the review's default few-study test "adhoc"
    api = meta_analysis(yi, vi, method="REML", test="adhoc")
    got = data["outcomes"]["WASO"]["pooled"]
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
        assert math.isclose(got[name], getattr(api, name), rel_tol=1e-12, abs_tol=1e-14), name
    # dizziness: counts (B 2002 from percent x n: 16/62 vs 5/61)
    es = effect_size("RR", events1=[20, 16, 9], n1=[100, 62, 40], events2=[5, 5, 3],
                     n2=[100, 61, 38])
    api = meta_analysis(es, method="REML", test="adhoc")
    got = data["outcomes"]["dizziness"]["pooled"]
    assert math.isclose(got["estimate"], api.estimate, rel_tol=1e-12)
    assert math.isclose(got["natural"]["ci_high"], math.exp(api.ci_high), rel_tol=1e-12)
    # with the few-study test (t, 2 df, scale >= 1) the CI includes 1: "uncertain"; no
    # risk-of-bias table (-1) and a CI including no effect (imprecision -1): certainty low
    assert api.ci_low < 0 < meta_analysis(es, method="REML", test="z").ci_low
    assert res.payload["claims"][1]["certainty"] == "low"
    assert res.payload["claims"][1]["verdict"] == "uncertain"


def test_bundled_numbers_equal_the_api(bundled):
    from sleepmeta import effect_size, meta_analysis

    out = bundled.payload["outcomes"]
    # Roth 2012 WASO: -19.2 (95% CI -26.7 to -11.6) -> SE = 15.1 / 3.919928
    w = out["WASO"]["pooled"]
    api = meta_analysis([-19.2], [(15.1 / (2 * 1.959963984540054)) ** 2], method="FE")
    assert w["k"] == 1 and math.isclose(w["estimate"], -19.2)
    assert math.isclose(w["ci_low"], api.ci_low, rel_tol=1e-12)
    # somnolence: Ohta 2012 116/250 vs 45/248; Arnold 2016 5/54 vs 2/53 (as printed)
    es = effect_size("RR", events1=[116, 5], n1=[250, 54], events2=[45, 2], n2=[248, 53])
    api = meta_analysis(es, method="REML", test="adhoc")  # k = 2 < 5: the few-study test
    s = out["somnolence"]["pooled"]
    for name in ("estimate", "ci_low", "ci_high", "tau2"):
        assert math.isclose(s[name], getattr(api, name), rel_tol=1e-12, abs_tol=1e-15)
    # NNH uses the control risk pooled from the same studies (logit, REML, back-transformed)
    base = meta_analysis(effect_size("PLO", events=[45, 2], n=[248, 53]), method="REML")
    p0 = 1 / (1 + math.exp(-base.estimate))
    assert math.isclose(out["somnolence"]["baseline_risk"]["estimate"], p0, rel_tol=1e-12)
    rd = p0 * (math.exp(api.estimate) - 1)
    assert math.isclose(out["somnolence"]["nnh"]["value"], 1 / rd, rel_tol=1e-10)
    # its CI carries the control risk's uncertainty (delta method, written out here)
    z = 1.959963984540054
    v_r = ((api.ci_high - api.ci_low) / (2 * z)) ** 2
    b = out["somnolence"]["baseline_risk"]
    lg = lambda p: math.log(p / (1 - p))  # noqa: E731
    v_b = ((lg(b["ci_high"]) - lg(b["ci_low"])) / (2 * z)) ** 2
    rr = math.exp(api.estimate)
    se = math.sqrt((p0 * rr) ** 2 * v_r + ((rr - 1) * p0 * (1 - p0)) ** 2 * v_b)
    assert math.isclose(out["somnolence"]["nnh"]["rd_ci_low"], max(-1, rd - z * se),
                        rel_tol=1e-10)


def test_bundled_claims_one_row_each_and_gaps(bundled):
    claims = bundled.payload["claims"]
    assert [c["id"] for c in claims] == ["latency", "total_sleep_time", "maintenance",
                                         "fibromyalgia", "gad", "dizziness", "somnolence",
                                         "cognition", "dependence", "dose"]
    by = {c["id"]: c["verdict"] for c in claims}
    # no insomnia trial: only a direction from healthy volunteers (indirect, never support)
    assert by["latency"] == "uncertain"
    assert by["dependence"] == "no data in this review"
    assert by["maintenance"] == "limited evidence"          # one trial with a CI (Roth 2012)


def test_json_byte_identical_across_runs(review, tmp_path):
    build_report(review, tmp_path / "a", fmt="json")
    build_report(review, tmp_path / "b", fmt="html")
    a = (tmp_path / "a" / "report.json").read_bytes()
    b = (tmp_path / "b" / "report.json").read_bytes()
    assert a == b


def test_script_study_name_is_text(tmp_path):
    rows = [dict(HARM_ROWS[0], study_id="<script>alert(1)</script>",
                 url="javascript:alert(2)"),
            dict(HARM_ROWS[1], url="data:text/html,<script>alert(3)</script>"),
            dict(HARM_ROWS[2], study_id=r"E $\frac{$ <b>2005</b>", url=" JAVASCRIPT:alert(4)")]
    # the figures get the same names: a malformed "$...$" must not break them (mathtext off)
    spec = make_review(tmp_path / "x", harm_rows=rows)
    build_report(spec, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert 'href="javascript:' not in html.lower() and 'href="data:' not in html.lower()
    assert 'href=" javascript:' not in html.lower()
    assert "&lt;b&gt;2005&lt;/b&gt;" in html and "<b>2005" not in html
    assert 'href="https://example.org/s" rel="noopener noreferrer"' in html  # web links stay


def test_html_has_sections_and_embedded_images(review, tmp_path):
    build_report(review, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index("gives no advice on the use or dose") < html.index("<h1>")
    for section in ("Plain-language summary", "Claims versus evidence", "Harms by dose",
                    "Published summaries", "Evidence gaps", "Methods", "Full evidence table"):
        assert section in html
    assert html.count('src="data:image/png;base64,') >= 3  # 2 forests + 1 dose plot
    assert html.count('class="claim-row') == 2


def test_failed_run_leaves_previous_report(review, tmp_path):
    out = tmp_path / "out"
    build_report(review, out)
    before = (out / "report.html").read_bytes()
    (review.parent / "eff.csv").write_text("study_id\nbroken\n")
    with pytest.raises(SpecError):
        build_report(review, out)
    assert (out / "report.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "rev"]  # no temp folder left


def test_zero_events_everywhere_is_shown_not_pooled(tmp_path):
    rows = [{"study_id": s, "event": "dizziness", "events_treat": 0, "n_treat": 30,
             "events_ctrl": 0, "n_ctrl": 30} for s in ("Z1", "Z2")]
    spec = make_review(tmp_path / "z", harm_rows=rows)
    res = build_report(spec, tmp_path / "out")
    o = res.payload["outcomes"]["dizziness"]
    assert o["pooled"] is None and o["counts"]["reported, not poolable"] == 2
    assert all("zero events in both arms" in r["form"] for r in o["rows"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert "zero events in both arms" in html


def test_dose_group_with_one_study_is_documented(review, tmp_path):
    res = build_report(review, tmp_path / "out", fmt="json")
    by_dose = res.payload["outcomes"]["dizziness"]["by_dose"]
    assert by_dose["150"]["k"] == 1 and "k = 1" in " ".join(by_dose["150"]["notes"])
    # the single study's own estimate: E 2005, 9/40 vs 3/38
    assert math.isclose(by_dose["150"]["natural"]["estimate"], (9 / 40) / (3 / 38), rel_tol=1e-12)


def test_dose_meta_regression_when_possible(tmp_path):
    rows = [{"study_id": f"F{i}", "event": "dizziness", "events_treat": e, "n_treat": 100,
             "events_ctrl": 5, "n_ctrl": 100, "dose_min_mg": d, "dose_max_mg": d}
            for i, (e, d) in enumerate(((8, 150), (15, 300), (25, 600), (12, 300)))]
    extra = """
    [[claims]]
    id = "dose"
    text = "dizziness grows with dose"
    outcomes = ["dizziness"]
    expects = "dose"
    """
    spec = make_review(tmp_path / "d", harm_rows=rows, extra=extra)
    res = build_report(spec, tmp_path / "out", fmt="json")
    from sleepmeta import effect_size, meta_analysis
    import pandas as pd

    es = effect_size("RR", events1=[8, 15, 25, 12], n1=[100] * 4, events2=[5] * 4, n2=[100] * 4)
    api = meta_analysis(es.yi, es.vi, mods="~ dose", data=pd.DataFrame(
        {"dose": np.array([150, 300, 600, 300]) / 100}), method="REML", test="z")
    coef = {c["term"]: c for c in res.payload["outcomes"]["dizziness"]["dose_regression"]["coefficients"]}
    assert math.isclose(coef["dose_100mg"]["estimate"], api.coefficients.loc["dose", "estimate"],
                        rel_tol=1e-10)
    claim = next(c for c in res.payload["claims"] if c["id"] == "dose")
    assert claim["verdict"] in ("supported", "uncertain", "not supported")


def test_unknown_format(review, tmp_path):
    from sleepmeta.errors import UnknownOptionError

    with pytest.raises(UnknownOptionError):
        build_report(review, tmp_path / "o", fmt="pdf")


def test_figure_png_holds_the_drawn_pixels():
    # the data URI decodes (lossless PNG) to exactly the canvas's pixels: RGB for an opaque
    # figure, RGBA when some pixel is transparent; 100 dpi recorded
    import base64
    import io

    from PIL import Image

    from sleepmeta.plots._style import new_figure
    from sleepmeta.review.build import DPI, _png

    for face, mode in (("white", "RGB"), ("none", "RGBA")):
        fig = new_figure(2.0, 1.0)
        fig.patch.set_facecolor(face)
        ax = fig.add_subplot()
        ax.plot([0, 1], [1, 0], color="#b2182b")
        ax.set_title("Favours \u2190 x")
        uri = _png(fig)
        head = "data:image/png;base64,"
        assert uri.startswith(head)
        image = Image.open(io.BytesIO(base64.b64decode(uri[len(head):])))
        assert image.mode == mode and image.size == (200, 100)
        assert round(image.info["dpi"][0]) == DPI
        drawn = np.asarray(fig.canvas.buffer_rgba())
        assert np.array_equal(np.asarray(image), drawn[..., :len(mode)])
        assert len(np.unique(drawn.reshape(-1, 4), axis=0)) > 2  # not blank


def _two_panels():
    from sleepmeta.plots._style import new_figure

    fig = new_figure(7.0, 2.0)
    left, middle, right = fig.subplots(1, 3)
    left.plot([-0.37, 3.9], [0.03, 7.7])
    left.set_xlabel("daily dose (mg/day)")
    middle.plot([1.0, 2.0], [100000.1, 100000.4])  # y labels with an offset text
    right.plot([1.0, 2.0], [0.3, 40.0])
    right.set_yscale("log")
    return fig


def test_only_the_drawn_ticks_are_kept_and_the_pixels_do_not_change():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.ticker import FixedLocator

    from sleepmeta.review.build import _drawn_ticks_only

    plain, trimmed = _two_panels(), _two_panels()
    left = trimmed.axes[0]
    lo, hi = left.get_xlim()
    before = left.xaxis.get_majorticklocs()
    assert ((before < lo) | (before > hi)).any()  # the automatic locator goes past the limits
    for ax in trimmed.axes:
        for axis in (ax.xaxis, ax.yaxis):
            _drawn_ticks_only(axis)
    after = left.xaxis.get_majorticklocs()
    assert isinstance(left.xaxis.get_major_locator(), FixedLocator)
    assert list(after) == [t for t in before if lo <= t <= hi]
    middle = trimmed.axes[1].yaxis
    assert middle.get_major_formatter().get_offset() and \
        not isinstance(middle.get_major_locator(), FixedLocator)  # left to matplotlib
    FigureCanvasAgg(plain).draw()
    FigureCanvasAgg(trimmed).draw()
    assert np.array_equal(np.asarray(plain.canvas.buffer_rgba()),
                          np.asarray(trimmed.canvas.buffer_rgba()))
