"""The result of :func:`sleepmeta.effects.effect_size`: study effects with variances."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sleepmeta.effects.intervals import wald_interval


@dataclass(frozen=True, eq=False)
class EffectSizes:
    """Effect sizes ``yi`` with sampling variances ``vi``, one per study.

    Attributes
    ----------
    yi, vi : ndarray
        Observed effects and their sampling variances (metafor's names).
    labels : list of str
        Study labels, in the order of ``yi``.
    measure : str
        The measure's abbreviation (``"SMD"``, ``"RR"``, ...).
    correction : str
        What continuity correction was applied, to which studies and how
        much; ``""`` when none.
    dropped : list of str
        Labels of studies dropped by ``missing="drop"``.
    corrected : ndarray of bool
        Which studies were continuity-corrected.

    Examples
    --------
    >>> import numpy as np
    >>> es = EffectSizes(np.array([0.5]), np.array([0.04]), ["A"], "MD")
    >>> len(es), es.to_frame()["sei"].round(3).tolist()
    (1, [0.2])
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    measure: str
    correction: str = ""
    dropped: list[str] = field(default_factory=list)
    corrected: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.corrected is None:
            object.__setattr__(self, "corrected", np.zeros(len(self.yi), dtype=bool))

    def __len__(self) -> int:
        return len(self.yi)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per study: study, yi, vi, sei, ci_low, ci_high, corrected.

        The confidence interval is the Wald interval ``yi +- z * sei`` with
        ``z`` the ``(1 + level)/2`` normal quantile (as metafor's
        ``summary.escalc``).
        """
        sei = self.sei
        ci_low, ci_high = wald_interval(self.yi, sei, level)
        return pd.DataFrame(
            {
                "study": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "corrected": np.asarray(self.corrected, dtype=bool),
            }
        )

    def summary(self, level: float = 0.95) -> str:
        """A text table a person can read, with the correction and dropped studies."""
        frame = self.to_frame(level)
        frame["corrected"] = np.where(frame["corrected"], "*", "")
        lines = [f"Effect sizes: {self.measure}, k = {len(self)}"]
        lines.append(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if self.correction:
            lines.append(f"* {self.correction}")
        if self.dropped:
            lines.append(f"Dropped (incomplete): {', '.join(self.dropped)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()
