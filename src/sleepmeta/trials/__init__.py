"""Stage 2: per-participant endpoints to one contrast per trial and endpoint.

>>> import pandas as pd
>>> from sleepmeta.trials import contrast
>>> nights = pd.DataFrame({"subject": ["a", "b", "c", "d"],
...                        "arm": ["drug", "drug", "placebo", "placebo"],
...                        "TST": [400.0, 420.0, 380.0, 390.0]})
>>> float(contrast(nights, "TST")["md"].iloc[0])
25.0
"""

from __future__ import annotations

from sleepmeta.trials.contrast import COLUMNS, contrast

__all__ = ["COLUMNS", "contrast"]
