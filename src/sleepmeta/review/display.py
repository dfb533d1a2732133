"""Display helpers for the HTML template: numbers rounded only here, safe links.

>>> num(3.14159), num(None), num(1234.5)
('3.14', '—', '1234.5')
>>> safe_url("javascript:alert(1)"), safe_url("https://example.org/a")
(None, 'https://example.org/a')
"""

from __future__ import annotations

import math

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
    """The URL if it is http(s), else None (never a ``javascript:`` link)."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    return u if u.lower().startswith(("http://", "https://")) else None


def direction_text(d) -> str:
    """Direction of treatment minus control in words."""
    return {1: "higher with treatment", -1: "lower with treatment",
            0: "no difference"}.get(d, "not stated")


def verdict_class(v: str) -> str:
    """CSS class of a verdict."""
    return "v-" + v.replace(" ", "-")


def per_thousand(x) -> str:
    """A risk per 1,000 as a whole number, halves up (``302.72`` -> ``303``).

    >>> per_thousand(302.72), per_thousand(85.5), per_thousand(None)
    ('303', '86', '—')
    """
    if x is None:
        return "—"
    return str(int(math.floor(float(x) + 0.5)))


def unit_text(unit: str) -> str:
    """A unit code in words (``score_0_10`` -> ``points (0-10 scale)``)."""
    return UNITS.get(unit, (unit or "").replace("_", " "))


FILTERS = {"num": num, "pct": pct, "pvalue": pvalue, "safe_url": safe_url,
           "direction_text": direction_text, "verdict_class": verdict_class,
           "per_thousand": per_thousand, "unit_text": unit_text}
GLOBALS = {"estimate_text": estimate_text}
