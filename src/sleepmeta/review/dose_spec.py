"""The optional ``[dose_response]`` section of a review spec.

::

    [dose_response]
    outcomes = ["dizziness", "somnolence"]   # outcome keys with arm counts (measure RR)
    model = "spline"                         # linear | quadratic | spline | emax
    knots = [75, 300, 600]                   # spline knots, mg/day (default: percentiles)
    reference = 0                            # the reference dose
    doses = [150, 300, 450, 600]             # where the report gives RR, per 1,000, NNH
"""

from __future__ import annotations

from dataclasses import dataclass

from sleepmeta.errors import SpecError

__all__ = ["DoseResponseSpec", "dose_response_spec"]

KEYS = ("outcomes", "model", "knots", "reference", "doses")
MODELS = ("linear", "quadratic", "spline", "emax")


@dataclass(frozen=True)
class DoseResponseSpec:
    """``[dose_response]``: which outcomes get a pooled dose curve, and how."""

    outcomes: tuple
    model: str = "spline"
    knots: tuple = ()
    reference: float = 0.0
    doses: tuple = (150.0, 300.0, 450.0, 600.0)


def _doses(dr: dict, key: str, default) -> tuple:
    vals = dr.get(key, default)
    if not isinstance(vals, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in vals):
        raise SpecError(f"dose_response.{key}: must be a list of doses >= 0, got {vals!r}")
    return tuple(float(v) for v in vals)


def dose_response_spec(raw: dict, outcomes: dict) -> DoseResponseSpec | None:
    """Validate ``raw["dose_response"]`` against the spec's outcomes (None when absent).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> dose_response_spec({"dose_response": {"outcomes": ["dizzy"], "model": "linear"}},
    ...                    {"dizzy": NS(measure="RR")}).model
    'linear'
    """
    dr = raw.get("dose_response")
    if dr is None:
        return None
    if not isinstance(dr, dict):
        raise SpecError("dose_response: must be a table")
    extra = sorted(set(dr) - set(KEYS))
    if extra:
        raise SpecError(f"dose_response: unknown key {extra[0]!r}; valid keys: {', '.join(KEYS)}")
    keys = dr.get("outcomes")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise SpecError("dose_response.outcomes: required, a list of outcome keys")
    for k in keys:
        if k not in outcomes:
            raise SpecError(f"dose_response.outcomes: unknown outcome {k!r}")
        if outcomes[k].measure != "RR":
            raise SpecError(f"dose_response.outcomes: outcome {k!r} has measure "
                            f"{outcomes[k].measure!r}; dose curves here need arm counts (RR)")
    model = dr.get("model", "spline")
    if model not in MODELS:
        raise SpecError(f"dose_response.model: unknown value {model!r}; valid: {', '.join(MODELS)}")
    knots, doses = _doses(dr, "knots", []), _doses(dr, "doses", [150, 300, 450, 600])
    if knots and (model != "spline" or len(knots) < 3 or list(knots) != sorted(set(knots))):
        raise SpecError(f"dose_response.knots: give 3 or more increasing knots, and only for "
                        f"model = 'spline', got {list(knots)} with {model!r}")
    ref = dr.get("reference", 0)
    if not isinstance(ref, (int, float)) or isinstance(ref, bool) or ref < 0:
        raise SpecError(f"dose_response.reference: must be a dose >= 0, got {ref!r}")
    return DoseResponseSpec(outcomes=tuple(keys), model=model, knots=knots,
                            reference=float(ref), doses=doses)
