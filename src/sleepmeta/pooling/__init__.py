"""Stage 4: pooling effect sizes — one batched engine, metafor's definitions."""

from sleepmeta.pooling.api import meta_analysis, meta_analysis_batch
from sleepmeta.pooling.engine import BatchFit
from sleepmeta.pooling.estimators import ESTIMATORS
from sleepmeta.pooling.result import MetaResult

__all__ = ["ESTIMATORS", "BatchFit", "MetaResult", "meta_analysis", "meta_analysis_batch"]
