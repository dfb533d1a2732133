"""Stage 4: pooling effect sizes — one batched engine, metafor's definitions.

Public names are imported on first use, so reading the registries
(:mod:`.registry`, e.g. for command-line help) does not load the engine.

>>> from sleepmeta.pooling import meta_analysis, ESTIMATOR_INFO
>>> ESTIMATOR_INFO["DL"].label
'DerSimonian-Laird'
"""

from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sleepmeta.pooling' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
