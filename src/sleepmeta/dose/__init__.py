"""Dose–response meta-analysis: what does 300 mg/day do, compared with 150 and 600?

Arm-level rows (one per dose arm, the reference arm included) become
contrasts against each study's reference with their covariance
(:mod:`~sleepmeta.dose.covariance`: Greenland–Longnecker, Hamling,
Gleser–Olkin), a dose basis (:mod:`~sleepmeta.dose.bases`: linear,
quadratic, restricted cubic spline), and
one pooled curve (:func:`dose_response`, one- or two-stage), with
predictions at any dose against any reference and the numbers needed to
treat or harm by dose (:mod:`~sleepmeta.dose.benefit`).

>>> import pandas as pd
>>> from sleepmeta.dose import dose_response
>>> df = pd.DataFrame({"id": ["A"] * 3 + ["B"] * 3, "dose": [0, 150, 300] * 2,
...                    "events": [5, 10, 20, 4, 9, 15], "n": [100] * 6})
>>> dose_response(df, study="id", dose="dose", events="events", n="n").k
2
"""

from sleepmeta.dose.bases import DoseBasis, make_basis, rcs_basis
from sleepmeta.dose.covariance import (crude_ratio_contrasts, greenland_longnecker, hamling,
                                       shared_control_md, shared_control_smd)
from sleepmeta.dose.fit import dose_response
from sleepmeta.dose.result import DoseResponseResult

__all__ = ["DoseBasis", "DoseResponseResult", "crude_ratio_contrasts", "dose_response",
           "greenland_longnecker", "hamling", "make_basis", "rcs_basis", "shared_control_md",
           "shared_control_smd"]
