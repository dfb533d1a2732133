"""Benefit–risk by dose: NNT/NNH and extra events per 1,000 from a dose curve.

At each dose the pooled ratio against the reference (with its CI, from
:meth:`DoseResponseResult.predict`) and a control-group risk give the risk
difference, the number needed to treat or harm with Altman's CI, and the
extra (or fewer) events per 1,000 treated -- through
:func:`sleepmeta.benefit_risk.number_needed_from_ratio` (Cochrane Handbook
v6.4, 15.4.4). The uncertainty is that of the curve at that dose; the
control risk is taken as known (give its CI limits as further rows to see
their effect).
"""

from __future__ import annotations

import pandas as pd

from sleepmeta.benefit_risk import number_needed_from_ratio
from sleepmeta.errors import InputError

__all__ = ["dose_number_needed"]


def dose_number_needed(result, doses, control_risk: float, *, reference: float = 0.0,
                       events: str = "harmful") -> pd.DataFrame:
    """NNT/NNH and events per 1,000 at ``doses`` from a ratio dose curve.

    Parameters
    ----------
    result : DoseResponseResult
        A curve of risk ratios or odds ratios.
    doses : sequence of float
    control_risk : float
        Risk at the reference dose (e.g. the pooled placebo risk), in (0, 1).
    reference : float
        The reference dose of the curve (default 0).
    events : {"harmful", "beneficial"}

    Returns
    -------
    DataFrame
        One row per dose: ``dose``, ``ratio``, ``ratio_low``, ``ratio_high``,
        ``per_1000`` (extra events per 1,000), ``per_1000_low``,
        ``per_1000_high``, ``kind`` (NNT/NNH), ``number``, ``text``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sleepmeta.dose import dose_response
    >>> df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 150, 300] * 2,
    ...                    "events": [5, 10, 20, 4, 9, 15], "n": [100] * 6})
    >>> res = dose_response(df, study="id", dose="dose", events="events", n="n")
    >>> t = dose_number_needed(res, [150, 300], 0.05)
    >>> import numpy as np
    >>> bool(np.allclose(t["per_1000"], 1000 * 0.05 * (t["ratio"] - 1)))
    True
    """
    if not result.ratio:
        raise InputError(f"numbers needed need a risk or odds ratio curve, not {result.measure}")
    pred = result.predict(doses, reference=reference)
    rows = []
    for _, r in pred.iterrows():
        nn = number_needed_from_ratio(r["estimate"], r["ci_low"], r["ci_high"], control_risk,
                                      measure=result.measure, events=events)
        rows.append({"dose": r["dose"], "ratio": r["estimate"], "ratio_low": r["ci_low"],
                     "ratio_high": r["ci_high"], "per_1000": 1000 * nn.rd,
                     "per_1000_low": 1000 * nn.rd_ci_low, "per_1000_high": 1000 * nn.rd_ci_high,
                     "kind": nn.kind, "number": nn.value, "text": nn.text})
    return pd.DataFrame(rows)
