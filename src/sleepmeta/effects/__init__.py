"""Stage 3: study effect sizes ``yi`` with sampling variances ``vi``.

One public entry point, :func:`effect_size`, computes any measure in the
registry :data:`MEASURES` with the definitions and defaults of metafor's
``escalc`` (Viechtbauer 2010, J Stat Softw 36(3), 1-48).

================  ===============================  =====================================
family            column arguments                 measures
================  ===============================  =====================================
continuous        mean1, sd1, n1, mean2, sd2, n2   MD, SMD, SMDH, ROM
counts (2x2)      events1, n1, events2, n2         RR, OR, RD, AS, PETO
correlations      r, n                             COR, ZCOR
proportions       events, n                        PR, PLN, PLO, PAS, PFT
================  ===============================  =====================================
"""

from __future__ import annotations

import numpy as np

from sleepmeta.effects import binary, continuous, correlation, proportion
from sleepmeta.effects.columns import (
    as_frame,
    check_finite,
    handle_missing,
    resolve_columns,
    resolve_labels,
    study_error,
)
from sleepmeta.effects._registry import Measure
from sleepmeta.effects.result import EffectSizes
from sleepmeta.errors import unknown_option

__all__ = ["MEASURES", "EffectSizes", "effect_size"]

#: Every measure by its metafor abbreviation.
MEASURES: dict[str, Measure] = {
    **continuous.MEASURES,
    **binary.MEASURES,
    **correlation.MEASURES,
    **proportion.MEASURES,
}


def effect_size(measure, data=None, *, labels=None, missing="raise", **columns) -> EffectSizes:
    """Compute effect sizes and sampling variances, one per study.

    Parameters
    ----------
    measure : str
        One of :data:`MEASURES`: ``MD, SMD, SMDH, ROM`` (two-group means),
        ``RR, OR, RD, AS, PETO`` (two groups of counts), ``COR, ZCOR``
        (correlations), ``PR, PLN, PLO, PAS, PFT`` (single proportions).
        Log-scale measures (RR, OR, PETO, ROM, PLN, PLO) are returned on the
        log scale.
    data : DataFrame, optional
        When given, column arguments may be its column names.
    labels : str or sequence, optional
        Study labels: a column of ``data`` or a sequence. Default: the index
        of ``data`` if it is not a RangeIndex, else ``"1".."k"``.
    missing : {"raise", "drop"}
        What to do with a study that has a missing (NaN/None) value.
        ``"drop"`` drops it and lists it in ``EffectSizes.dropped``.
    **columns
        The column arguments of the measure (group 1 = treatment):
        ``mean1, sd1, n1, mean2, sd2, n2``; ``events1, n1, events2, n2``;
        ``r, n``; ``events, n``.

    Returns
    -------
    EffectSizes

    Notes
    -----
    Continuity correction follows ``escalc``'s defaults (``add=1/2,
    to="only0", drop00=FALSE``): 1/2 is added to every cell of a 2x2 table
    with a zero cell for RR, OR, RD and PETO, and to events and non-events of
    a proportion with no or only events for PR, PLN and PLO; AS, PAS and PFT
    are not corrected. The correction is reported in ``correction`` and
    ``corrected``.

    Raises
    ------
    UnknownOptionError
        ``measure`` or ``missing`` is not a valid choice.
    ColumnError
        A column name is not in ``data``.
    InputError
        A required argument is missing, lengths differ, or a value breaks a
        rule (the message names the study, the field and the rule).

    Examples
    --------
    BCG trial 1 (Aronson 1948; Viechtbauer 2010, p. 4):

    >>> es = effect_size("RR", events1=[4], n1=[123], events2=[11], n2=[139])
    >>> round(float(es.yi[0]), 4), round(float(es.vi[0]), 4)
    (-0.8893, 0.3256)
    """
    spec = MEASURES.get(measure) if isinstance(measure, str) else None
    if spec is None:
        raise unknown_option("measure", measure, list(MEASURES))
    frame = as_frame(data)
    arrays = resolve_columns(measure, spec.family.columns, columns, frame)
    k = len(next(iter(arrays.values())))
    study_labels = resolve_labels(labels, frame, k)
    arrays, study_labels, dropped = handle_missing(arrays, study_labels, missing)
    check_finite(arrays, study_labels)
    spec.family.validate(arrays, study_labels, measure)

    prepared, corrected = spec.family.prepare(arrays, spec.add)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # checked just below
        yi, vi = spec.compute(**prepared)
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi >= 0))
    if bad.any():  # the validation rules should make this unreachable
        i = int(np.flatnonzero(bad)[0])
        raise study_error(study_labels[i], f"{measure} is not defined for these values")
    return EffectSizes(
        yi=yi,
        vi=vi,
        labels=study_labels,
        measure=measure,
        correction=_describe_correction(spec, corrected, study_labels),
        dropped=dropped,
        corrected=corrected,
    )


def _describe_correction(spec: Measure, corrected: np.ndarray, labels: list[str]) -> str:
    if not corrected.any():
        return ""
    which = ", ".join(repr(lab) for lab, c in zip(labels, corrected) if c)
    n = int(corrected.sum())
    cells = "every cell" if spec.family is binary.FAMILY else "events and non-events"
    return (
        f"continuity correction: {spec.add:g} added to {cells} of {n} "
        f"stud{'y' if n == 1 else 'ies'} with {spec.family.zero_rule}: {which}"
    )
