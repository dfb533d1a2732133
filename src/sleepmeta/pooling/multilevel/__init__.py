"""Multilevel and multivariate meta-analysis (metafor's ``rma.mv``) on a batched engine.

Public API: :func:`meta_analysis_mv` returning :class:`MultilevelResult`,
:func:`meta_analysis_mv_batch` (B analyses at once, arrays in and out)
(``summary()``, ``to_frame()``, ``to_dict()``, ``predict()``,
``profile_ci()``, ``robust()``), and the covariance builders
:func:`shared_control_vcov`, :func:`correlated_outcomes_vcov`,
:func:`check_positive_definite`.

Engine interface (stable; used by ``meta_analysis_mv`` and the dose–response
models)
------------------------------------------------------------------------

The model is ``y = X beta + sum_terms (random effects) + e``, ``Var(e) = V``.

1. Describe each random term with :class:`Term` (``blocks.py``)::

       Term(Structure("SIGMA", 1), outer)            # ~ 1 | f: sigma2 * [f_i == f_j]
       Term(Structure("UN", q), outer, inner=Z)      # (Z G Z') * [outer_i == outer_j]
       Term(Structure("GEN", q), outer, inner=Z)     # random slopes: Z = slope covariates

   ``outer`` is an int array (B, n) of cluster codes, ``Z`` a float array
   (B, n, q) (one-hot inner levels, or covariates for GEN — e.g. the dose
   columns, with no intercept column for "random slopes, no random
   intercept"). Structures: SIGMA, CS, HCS, UN, ID, DIAG, AR, GEN
   (``structures.py`` documents each ``G``).

2. Lay the batch out in blocks::

       blocks = build_blocks(y, V, X, mask, terms, block=None)

   ``y`` (B, n), ``V`` (B, n, n) with zeros between studies, ``X`` (B, n, p),
   ``mask`` (B, n) bool (padding rows False). ``block`` (B, n) int optionally
   gives the study of each row (else computed as connected components).

3. Fit::

       fit = fit_blocks(blocks, [t.structure for t in terms], method="REML")

   ``fit`` is an :class:`MVFit`: ``beta`` (B, p), ``vb`` (B, p, p),
   ``theta`` (B, P) working parameters, ``ll_ml``/``ll_reml`` (B,),
   ``converged``, ``iterations``; ``fit.components(j)`` gives term j's
   ``(tau2, rho)`` as metafor reports them, and
   ``structures[j].G(theta[:, slice])`` its ``G`` matrix
   (``Parameters(structures).slices[j]`` is the slice).

Example: a random-slope (GEN, no intercept) one-stage dose–response model,
as ``rma.mv(yi, V, mods = ~ x1 + x2 - 1, random = ~ x1 + x2 - 1 | id, struct = "GEN")``::

    Z = X = np.stack([x1, x2], -1)[None]
    term = Term(Structure("GEN", 2), study_codes[None], inner=Z)
    fit = fit_blocks(build_blocks(y[None], V[None], X, mask, [term]), [term.structure])
"""

from sleepmeta.pooling.multilevel.api import meta_analysis_mv
from sleepmeta.pooling.multilevel.batch import MVBatch, meta_analysis_mv_batch
from sleepmeta.pooling.multilevel.blocks import Blocks, Term, build_blocks
from sleepmeta.pooling.multilevel.engine import MVFit, fit_blocks
from sleepmeta.pooling.multilevel.optimise import Parameters
from sleepmeta.pooling.multilevel.result import MultilevelResult
from sleepmeta.pooling.multilevel.structures import STRUCTS, Structure
from sleepmeta.pooling.multilevel.vcov import (
    check_positive_definite,
    correlated_outcomes_vcov,
    shared_control_vcov,
    vcov_from_long,
)

__all__ = ["STRUCTS", "Blocks", "MVBatch", "MVFit", "MultilevelResult", "Parameters",
           "Structure", "Term", "build_blocks", "check_positive_definite",
           "correlated_outcomes_vcov", "fit_blocks", "meta_analysis_mv", "meta_analysis_mv_batch",
           "shared_control_vcov", "vcov_from_long"]
