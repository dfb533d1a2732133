"""Display helpers of the HTML report: only web addresses become links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.review.display import safe_url


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
