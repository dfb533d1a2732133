"""Look-ups in the registry of effect measures (:data:`sleepmeta.effects.MEASURES`).

Every part of the package that needs to know about a measure — whether it
is analysed on the log scale, its display name, its value of "no effect",
its columns — asks here, so the answer exists once. A measure name the
registry does not know (e.g. ``measure="XYZ"`` given to ``meta_analysis``
for yi computed elsewhere) is analysed and shown as given.
"""

from __future__ import annotations

from sleepmeta.effects import MEASURES

__all__ = ["display_name", "is_log_scale", "log_scale_measures", "null_value"]


def is_log_scale(measure: str | None) -> bool:
    """Whether ``measure``'s yi are logarithms (shown back-transformed with exp).

    Examples
    --------
    >>> is_log_scale("RR"), is_log_scale("MD"), is_log_scale(None)
    (True, False, False)
    """
    m = MEASURES.get(measure) if isinstance(measure, str) else None
    return bool(m is not None and m.log_scale)


def log_scale_measures() -> frozenset[str]:
    """The names of the measures analysed on the log scale.

    Examples
    --------
    >>> sorted(log_scale_measures())
    ['OR', 'PETO', 'PLN', 'PLO', 'ROM', 'RR']
    """
    return frozenset(name for name, m in MEASURES.items() if m.log_scale)


def display_name(measure: str | None, default: str = "Estimate") -> str:
    """The display name of ``measure`` on its natural scale (``default`` if unknown).

    Examples
    --------
    >>> display_name("RR"), display_name("SMD"), display_name("XYZ")
    ('Risk ratio', 'Standardised mean difference', 'Estimate')
    """
    m = MEASURES.get(measure) if isinstance(measure, str) else None
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
    m = MEASURES.get(measure) if isinstance(measure, str) else None
    return 0.0 if m is None else m.null
