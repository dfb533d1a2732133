"""Stage 4: pooling effect sizes — one batched engine, metafor's definitions.

Public names are imported on first use, so reading the registries
(:mod:`.registry`, e.g. for command-line help) does not load the engine.

>>> from sleepmeta.pooling import meta_analysis, ESTIMATOR_INFO
>>> ESTIMATOR_INFO["DL"].label
'DerSimonian-Laird'
"""

from __future__ import annotations

from sleepmeta.lazy import lazy_exports

_EXPORTS = {
    "meta_analysis": "sleepmeta.pooling.api",
    "meta_analysis_batch": "sleepmeta.pooling.api",
    "meta_analysis_subgroups": "sleepmeta.pooling.api",
    "BatchFit": "sleepmeta.pooling.engine",
    "ESTIMATORS": "sleepmeta.pooling.estimators",
    "ESTIMATOR_INFO": "sleepmeta.pooling.registry",
    "TESTS": "sleepmeta.pooling.registry",
    "Control": "sleepmeta.pooling.registry",
    "MetaResult": "sleepmeta.pooling.result",
    "SubgroupResult": "sleepmeta.pooling.subgroups",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
