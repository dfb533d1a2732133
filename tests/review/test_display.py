"""The report's one formatter (review/display.py): each expectation is worked out by hand;
only web addresses and DOIs become links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.review import display
from sleepmeta.review.display import safe_url


def test_counts_are_integers():
    # the label table prints n = 321 and 459: never "321.0 / 459.0"
    assert display.count(321.0) == "321" and display.count(459) == "459"
    assert display.count(None) == "—" and display.count(float("nan")) == "—"


def test_dose_ranges():
    assert display.dose_text(300.0, 450.0) == "300–450 mg/day"
    assert display.dose_text(150.0, 150.0) == "150 mg/day"
    assert display.dose_text(None, 600) == "600 mg/day"
    assert display.dose_text(None, None) == "dose not printed"  # never "—–—"


def test_same_value_prints_the_same_wherever_it_was_computed():
    # -3.61 -/+ 2.425 (a CI of -6.03 to -1.18 printed by the source, re-centred): the study
    # row and its one-study pooled row differ only in the last binary digit
    study, pooled = -3.61 + 2.425, -3.61 + 2.425 * (1 + 2e-16)
    assert display.num(study) == display.num(pooled) == "-1.19"
    assert display.ci_text(-6.035, -1.185) == "-6.04 to -1.19"  # halves round away from zero


def test_large_numbers_keep_one_decimal_and_counts_none():
    assert display.num(1234.56) == "1234.6" and display.num(321.0, 0) == "321"


def test_human_labels():
    assert display.human("other:abnormal_gait") == "abnormal gait"
    assert display.human("DPN", {"DPN": "diabetic peripheral neuropathy"}) == \
        "diabetic peripheral neuropathy"
    assert display.human(["GAD", "healthy"], {"GAD": "generalised anxiety disorder"}) == \
        "generalised anxiety disorder, healthy volunteers"
    assert display.human([]) == "all populations"


def test_direction_words_never_repeat_not_stated():
    assert display.direction_text(None, "not stated") == "direction not stated"
    assert display.direction_text(-1, "printed means (treatment minus control)") == \
        "lower with treatment (printed means (treatment minus control))"


def test_forest_alt_text_says_what_the_plot_shows():
    pooled = {"k": 2, "studies": 2, "level": 0.95,
              "natural": {"estimate": 3.52, "ci_low": 1.66, "ci_high": 7.5}}
    assert display.forest_alt("dizziness", pooled, "RR") == (
        "Forest plot of dizziness: 2 studies, pooled risk ratio 3.52, 95% CI 1.66 to 7.50.")


def test_link_text_is_a_short_name():
    assert display.short_name("FDA Lyrica label DPN pool") == "FDA Lyrica label DPN pool"
    long = "US prescribing information, section 9 (Lyrica / Lyrica CR) and more words here"
    assert display.short_name(long).endswith("…") and len(display.short_name(long)) <= 49


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " \tjavascript:alert(1)",
    "java\nscript:alert(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example/x", "https:alert(1)",
    "https://example.org/a b", 'https://example.org/"onmouseover="x', "https://ex\x00ample.org",
    "ftp://example.org/f", "mailto:a@example.org", "", "   ", None, 3.5,
])
def test_non_web_urls_never_become_links(url):
    # issue 11: a url cell from a shared table must not become a script or data link
    assert safe_url(url) is None


@pytest.mark.parametrize(("url", "link"), [
    ("https://pubmed.ncbi.nlm.nih.gov/22459770/", "https://pubmed.ncbi.nlm.nih.gov/22459770/"),
    ("  http://example.org/a?b=1&c=2  ", "http://example.org/a?b=1&c=2"),
    ("HTTPS://EXAMPLE.ORG", "HTTPS://EXAMPLE.ORG"),
    ("doi:10.1016/j.sleep.2011.10.004", "https://doi.org/10.1016/j.sleep.2011.10.004"),
    ("10.1093/sleep/zsx016", "https://doi.org/10.1093/sleep/zsx016"),
])
def test_web_addresses_and_dois_are_links(url, link):
    assert safe_url(url) == link


@settings(max_examples=300, deadline=1000)
@given(st.text(max_size=40) | st.sampled_from(["javascript:", "data:", "https://", "doi:10.1/"])
       .flatmap(lambda head: st.text(max_size=20).map(lambda tail: head + tail)))
def test_fuzz_a_link_is_always_a_web_address(text):
    link = safe_url(text)
    if link is not None:
        assert link.lower().startswith(("http://", "https://"))
        assert not any(c.isspace() or c in '"<>`' for c in link)


def test_malformed_host_is_text_not_an_error():
    # found by the fuzz test: urllib raises ValueError("Invalid IPv6 URL") on an unclosed '['
    assert safe_url("https://[") is None and safe_url("http://[::1") is None
