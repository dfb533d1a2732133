"""Display helpers for the HTML template: numbers rounded only here, safe links.

>>> num(3.14159), num(None), num(1234.5)
('3.14', '—', '1234.5')
>>> safe_url("javascript:alert(1)"), safe_url("https://example.org/a")
(None, 'https://example.org/a')
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote, urlsplit

__all__ = ["FILTERS", "GLOBALS", "estimate_text", "num", "safe_url"]


def num(x, digits: int = 2) -> str:
    """A number for display: ``digits`` decimals (fewer for large values), ``—`` when missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    x = float(x)
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def pct(x) -> str:
    """A percentage as printed-like text."""
    return "—" if x is None else f"{float(x):g}%"


def pvalue(p) -> str:
    """p for display: ``< 0.0001`` or four decimals."""
    if p is None:
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def estimate_text(pooled: dict | None, measure: str, unit: str = "") -> str:
    """``"-19.20 minutes (95% CI -26.75 to -11.65; PI ...)"`` from a pooled mapping."""
    if not pooled:
        return "not pooled"
    nat = pooled.get("natural", pooled)
    lab = "RR " if measure == "RR" else ""
    u = "" if measure == "RR" or not unit else f" {UNITS.get(unit, unit.replace('_', ' '))}"
    text = f"{lab}{num(nat['estimate'])}{u} (CI {num(nat['ci_low'])} to {num(nat['ci_high'])}"
    k = pooled.get("k", 0)
    if k and k >= 2 and nat.get("pi_low") is not None:
        text += f"; PI {num(nat['pi_low'])} to {num(nat['pi_high'])}"
    elif k == 1:
        text += "; PI not estimable with one study"
    return text + ")"


UNITS = {"score_0_10": "points (0-10 scale)", "score_0_100": "points (0-100 scale)",
         "count": "", "other": "", "percent": "percentage points", "proportion": ""}


def safe_url(url):
    """The URL if it is a web address, else None: only these become links.

    Accepted: ``http://`` and ``https://`` addresses with a host, and DOIs
    (``doi:10.1000/x`` or ``10.1000/x``, linked at ``https://doi.org/``).
    Anything else -- ``javascript:``, ``data:``, ``vbscript:``, ``file:``,
    protocol-relative ``//host``, text with spaces or control characters --
    stays text.

    >>> safe_url("doi:10.1016/j.sleep.2011.10.004")
    'https://doi.org/10.1016/j.sleep.2011.10.004'
    >>> safe_url("data:text/html,<script>alert(1)</script>") is None
    True
    """
    if not isinstance(url, str):
        return None
    u = url.strip()
    if not u or any(c.isspace() or not c.isprintable() or c in '"<>`\\' for c in u):
        return None
    doi = u[4:] if u.lower().startswith("doi:") else u
    if re.fullmatch(r"10\.\d{4,9}/\S+", doi):
        return "https://doi.org/" + quote(doi, safe="/:;()._-")
    parts = urlsplit(u)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return u


def direction_text(d) -> str:
    """Direction of treatment minus control in words."""
    return {1: "higher with treatment", -1: "lower with treatment",
            0: "no difference"}.get(d, "not stated")


def verdict_class(v: str) -> str:
    """CSS class of a verdict."""
    return "v-" + v.replace(" ", "-")


FILTERS = {"num": num, "pct": pct, "pvalue": pvalue, "safe_url": safe_url,
           "direction_text": direction_text, "verdict_class": verdict_class}
GLOBALS = {"estimate_text": estimate_text}
