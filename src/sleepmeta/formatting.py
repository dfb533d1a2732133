"""Decimal text for numbers shown to people: one rounding rule for the report and the plots.

A value reached by two computations that differ in the last binary digit
(a study's CI, ``yi - z * sqrt(vi)``, and the same study's one-study pooled
CI, ``yi - z / sqrt(w)``) must print the same. Rounding the binary value
directly can split them at a half (``-1.18499999`` vs ``-1.18500001``), so the
value is first rounded to 12 significant digits and then rounded half away
from zero, as people round by hand.

>>> decimal_text(-1.1849999999999998, 2), decimal_text(-1.1850000000000003, 2)
('-1.19', '-1.19')
>>> decimal_text(2.675, 2), decimal_text(-0.004, 2), decimal_text(321.0, 0)
('2.68', '0.00', '321')
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["decimal_text"]


def decimal_text(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals, rounded half away from zero after 12 significant digits.

    A result that rounds to zero prints without a minus sign. Non-finite
    values print as ``"NA"`` (the caller decides what a missing value shows).
    """
    x = float(x)
    if not math.isfinite(x):
        return "NA"
    d = Decimal(f"{x:.12g}").quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)
    return f"{d:f}"
