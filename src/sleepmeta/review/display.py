"""The report's one formatter: every number, range, label and link the HTML shows.

Numbers are rounded only here, from the values in ``report.json``, so a value
printed in two places (a study row and its one-study pooled row) reads the
same. Counts print as integers, dose ranges as ``300–450 mg/day``, codes as
human labels.

>>> num(3.14159), num(None), num(1234.5), num(321.0, 0)
('3.14', '—', '1234.5', '321')
>>> count(459.0), count(None)
('459', '—')
>>> dose_text(300.0, 450.0), dose_text(150, 150), dose_text(None, None)
('300–450 mg/day', '150 mg/day', 'dose not printed')
>>> human("other:spinal_cord_injury_neuropathic_pain"), human("DPN", {"DPN": "diabetic neuropathy"})
('spinal cord injury neuropathic pain', 'diabetic neuropathy')
>>> safe_url("javascript:alert(1)"), safe_url("https://example.org/a")
(None, 'https://example.org/a')
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote, urlsplit

from sleepmeta.formatting import decimal_text

__all__ = ["FILTERS", "GLOBALS", "ci_text", "count", "dose_text", "estimate_text", "human",
           "num", "safe_url", "short_name"]

#: Words for codes any review may use; a spec's ``[labels]`` adds its data's codes.
CODE_LABELS = {"all": "all populations", "healthy": "healthy volunteers"}

UNITS = {"score_0_10": "points (0-10 scale)", "score_0_100": "points (0-100 scale)",
         "count": "", "other": "", "percent": "percentage points", "proportion": "",
         "minutes": "minutes"}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x, digits: int = 2) -> str:
    """A number for display: ``digits`` decimals (at most one for |x| >= 100), ``—`` if missing."""
    if _missing(x):
        return "—"
    d = min(digits, 1) if abs(float(x)) >= 100 else digits
    return decimal_text(x, d)


def count(x) -> str:
    """A count (participants, events, studies) as an integer, ``—`` when missing."""
    if _missing(x):
        return "—"
    return decimal_text(x, 0)


def pct(x) -> str:
    """A percentage as printed-like text."""
    return "—" if _missing(x) else f"{float(x):g}%"


def pvalue(p) -> str:
    """p for display: ``< 0.0001`` or four decimals."""
    if _missing(p):
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def dose_text(low, high, unit: str = "mg/day") -> str:
    """A daily dose or dose range: ``150 mg/day``, ``300–450 mg/day``, ``dose not printed``."""
    if _missing(low) and _missing(high):
        return "dose not printed"
    lo, hi = (high if _missing(low) else low), (low if _missing(high) else high)
    if float(lo) == float(hi):
        return f"{count(lo)} {unit}"
    return f"{count(lo)}–{count(hi)} {unit}"


def ci_text(low, high, digits: int = 2) -> str:
    """``"-1.18 to 0.52"`` from the two limits (``—`` for a missing limit)."""
    return f"{num(low, digits)} to {num(high, digits)}"


def human(code, labels: dict | None = None) -> str:
    """A human label for a data code: the spec's label, the data dictionary's, or the words."""
    if code is None:
        return "—"
    if isinstance(code, (list, tuple)):
        return ", ".join(human(c, labels) for c in code) or CODE_LABELS["all"]
    text = str(code)
    for table in (labels or {}, CODE_LABELS):
        if text in table:
            return table[text]
    bare = text.split(":", 1)[1] if text.startswith("other:") else text
    for table in (labels or {}, CODE_LABELS):
        if bare in table:
            return table[bare]
    return bare.replace("_", " ")


def unit_text(unit: str | None) -> str:
    """The unit of a mean difference in words (empty for unitless scores)."""
    if not unit:
        return ""
    return UNITS.get(unit, unit.replace("_", " "))


def estimate_text(pooled: dict | None, measure: str, unit: str = "") -> str:
    """``"-19.20 minutes (95% CI -26.75 to -11.65; PI ...)"`` from a pooled mapping."""
    if not pooled:
        return "not pooled"
    nat = pooled.get("natural", pooled)
    lab = "RR " if measure == "RR" else ""
    u = "" if measure == "RR" or not unit_text(unit) else f" {unit_text(unit)}"
    text = f"{lab}{num(nat['estimate'])}{u} (CI {ci_text(nat['ci_low'], nat['ci_high'])}"
    k = pooled.get("k", 0)
    if k and k >= 2 and not _missing(nat.get("pi_low")):
        text += f"; PI {ci_text(nat['pi_low'], nat['pi_high'])}"
    elif k == 1:
        text += "; PI not estimable with one study"
    return text + ")"


def forest_alt(label: str, pooled: dict | None, measure: str, unit: str = "") -> str:
    """What a forest plot shows, in words (its alt text)."""
    if not pooled:
        return f"Forest plot of {label}: nothing pooled."
    nat = pooled.get("natural", pooled)
    k = pooled.get("studies", pooled.get("k"))
    what = "pooled risk ratio" if measure == "RR" else "pooled mean difference"
    u = "" if measure == "RR" or not unit_text(unit) else f" {unit_text(unit)}"
    level = round(100 * float(pooled.get("level", 0.95) or 0.95))
    return (f"Forest plot of {label}: {count(k)} stud{'y' if k == 1 else 'ies'}, {what} "
            f"{num(nat['estimate'])}{u}, {level}% CI {ci_text(nat['ci_low'], nat['ci_high'])}.")


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
    try:
        parts = urlsplit(u)
    except ValueError:  # e.g. 'https://[' (an unclosed IPv6 host): not an address
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return u


def short_name(text, limit: int = 48) -> str:
    """A source's short name for link text: its text up to ``limit`` characters, cut at a word."""
    t = " ".join(str(text or "source").split())
    if len(t) <= limit:
        return t
    cut = t[:limit].rsplit(" ", 1)[0].rstrip(",;:(")
    return cut + "…"


def direction_text(d, source=None) -> str:
    """Direction of treatment minus control in words, with where it came from when known."""
    words = {1: "higher with treatment", -1: "lower with treatment",
             0: "no difference"}.get(d, "not stated")
    if source and source != "not stated" and d is not None:
        return f"{words} ({source})"
    return "direction not stated" if d is None else words


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


FILTERS = {"num": num, "count": count, "pct": pct, "pvalue": pvalue, "safe_url": safe_url,
           "direction_text": direction_text, "verdict_class": verdict_class,
           "human": human, "short_name": short_name, "unit_text": unit_text,
           "per_thousand": per_thousand}
GLOBALS = {"estimate_text": estimate_text, "dose_text": dose_text, "ci_text": ci_text,
           "forest_alt": forest_alt}
