"""sleepmeta: does a drug help sleep, and at what cost?

nights -> sleep endpoints -> trial contrasts -> study effect sizes ->
meta-analysis -> benefit-risk -> report. The pooled numbers match R's
metafor. Public names are imported lazily, so ``import sleepmeta`` is quick.

>>> import sleepmeta
>>> sorted(sleepmeta.ESTIMATORS)[:3]
['DL', 'EB', 'FE']
"""

from __future__ import annotations

from sleepmeta.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "effect_size": "sleepmeta.effects",
    "EffectSizes": "sleepmeta.effects",
    "meta_analysis": "sleepmeta.pooling",
    "meta_analysis_batch": "sleepmeta.pooling",
    "meta_analysis_subgroups": "sleepmeta.pooling",
    "Control": "sleepmeta.pooling",
    "MetaResult": "sleepmeta.pooling",
    "BatchFit": "sleepmeta.pooling",
    "ESTIMATORS": "sleepmeta.pooling",
    "meta_analysis_mv": "sleepmeta.pooling.multilevel",
    "meta_analysis_mv_batch": "sleepmeta.pooling.multilevel",
    "MultilevelResult": "sleepmeta.pooling.multilevel",
    "shared_control_vcov": "sleepmeta.pooling.multilevel",
    "correlated_outcomes_vcov": "sleepmeta.pooling.multilevel",
    "dose_response": "sleepmeta.dose",
    "DoseResponseResult": "sleepmeta.dose",
    "mantel_haenszel": "sleepmeta.pooling.counts",
    "peto": "sleepmeta.pooling.counts",
    "simulate": "sleepmeta.scale",
    "sweep": "sleepmeta.scale",
}
_SUBPACKAGES = ("benefit_risk", "data", "dose", "effects", "plots", "pooling", "review", "scale",
                "sleep", "trials")

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, _dir = lazy_exports(__name__, _EXPORTS, globals(), _SUBPACKAGES)


def __dir__():
    return __all__
