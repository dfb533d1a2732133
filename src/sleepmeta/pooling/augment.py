"""Refit a model with one more column in its design (Egger's test, PET-PEESE, trim-and-fill's side).

The refit is one engine call; the result is built by the fitted result's own
class (``type(res).from_fit``), so this module depends on the engine and
never on :mod:`.result` or :mod:`.api`.
"""

from __future__ import annotations

import numpy as np

from sleepmeta.errors import ModelError
from sleepmeta.pooling.design import Design
from sleepmeta.pooling.engine import fit_batch
from sleepmeta.pooling.feasibility import check_fit

__all__ = ["fit_with_column"]


def fit_with_column(res, column: np.ndarray, name: str, method: str, test: str):
    """Fit the design of ``res`` plus ``column`` (named ``name``) with ``method`` and ``test``.

    Raises :class:`ModelError` when the augmented design is rank-deficient,
    has too few studies (:func:`.feasibility.check_fit`) or does not converge.

    Examples
    --------
    >>> import numpy as np
    >>> from sleepmeta.pooling import meta_analysis
    >>> res = meta_analysis([0.9, 0.5, 0.4, 0.2], [0.25, 0.09, 0.04, 0.01], method="FE")
    >>> fit_with_column(res, np.sqrt(res.vi), "sei", "FE", "z").coefficients.index.tolist()
    ['intrcpt', 'sei']
    """
    X = np.column_stack([res.X, column])
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        raise ModelError(f"the design is rank-deficient after adding {name!r} "
                         "(e.g. all studies have the same variance); the test cannot be done")
    try:
        check_fit(res.k, p, method, test)
    except ModelError as exc:
        raise ModelError(f"{exc} (with {name!r} added to the model)") from None
    fit = fit_batch(res.yi[None], res.vi[None], np.ones((1, res.k), bool), X[None],
                    method=method, test=test, level=res.level, intercept=res.intercept,
                    control=res.extras.get("control"))
    if not fit.converged[0]:
        raise ModelError(f"the {method} estimator of tau² did not converge for the model with "
                         f"{name!r}")
    design = Design(X, (*res.coefficients.index, name), res.intercept)
    return type(res).from_fit(fit, 0, res.yi, res.vi, design, res.labels, res.measure)
