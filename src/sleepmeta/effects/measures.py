"""Look-ups in the registry of effect measures (:data:`sleepmeta.effects.MEASURES`).

Every part of the package that needs to know about a measure — whether it
is analysed on the log scale, its display name, its value of "no effect",
its columns — asks here, so the answer exists once. A measure name the
registry does not know (e.g. ``measure="XYZ"`` given to ``meta_analysis``
for yi computed elsewhere) is analysed and shown as given; a few of
metafor's ``escalc`` names that sleepmeta does not compute are recognised
(:data:`RECOGNISED`), so ``yi`` computed elsewhere as, say, log incidence
rate ratios are shown back-transformed.
"""

from __future__ import annotations

from typing import NamedTuple

from sleepmeta.effects import MEASURES

__all__ = ["RECOGNISED", "display_name", "is_log_scale", "log_scale_measures", "null_value"]


class Facts(NamedTuple):
    """Display name, log scale and value of no effect of a measure known only by name."""

    label: str
    log_scale: bool
    null: float | None


#: metafor measure names sleepmeta does not compute but recognises in ``measure=``.
RECOGNISED: dict[str, Facts] = {"IRR": Facts("Incidence rate ratio", True, 1.0)}


def _facts(measure):
    if not isinstance(measure, str):
        return None
    return MEASURES.get(measure) or RECOGNISED.get(measure)


def is_log_scale(measure: str | None) -> bool:
    """Whether ``measure``'s yi are logarithms (shown back-transformed with exp).

    Examples
    --------
    >>> is_log_scale("RR"), is_log_scale("MD"), is_log_scale(None), is_log_scale("IRR")
    (True, False, False, True)
    """
    m = _facts(measure)
    return bool(m is not None and m.log_scale)


def log_scale_measures() -> frozenset[str]:
    """The names of the measures analysed on the log scale.

    Examples
    --------
    >>> sorted(log_scale_measures())
    ['IRR', 'OR', 'PETO', 'PLN', 'PLO', 'ROM', 'RR']
    """
    return frozenset(name for table in (MEASURES, RECOGNISED) for name, m in table.items()
                     if m.log_scale)


def display_name(measure: str | None, default: str = "Estimate") -> str:
    """The display name of ``measure`` on its natural scale (``default`` if unknown).

    Examples
    --------
    >>> display_name("RR"), display_name("SMD"), display_name("XYZ")
    ('Risk ratio', 'Standardised mean difference', 'Estimate')
    """
    m = _facts(measure)
    return m.label if m is not None and m.label else default


def null_value(measure: str | None) -> float | None:
    """The value of "no effect" on the natural scale (1 for ratios, 0 for differences).

    ``None`` for a measure without one (a single proportion); 0 for an
    unknown measure (analysed as given).

    Examples
    --------
    >>> null_value("OR"), null_value("MD"), null_value("PR")
    (1.0, 0.0, None)
    """
    m = _facts(measure)
    return 0.0 if m is None else m.null
