"""sleepmeta: does a drug help sleep, and at what cost?

nights -> sleep endpoints -> trial contrasts -> study effect sizes ->
meta-analysis -> benefit-risk -> report. The numbers match R's metafor.
"""

from __future__ import annotations

__version__ = "0.1.0"
