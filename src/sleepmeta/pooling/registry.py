"""The registries of the pooling stage: tau² estimators, tests, and iteration control.

Everything that names an estimator or a test — input validation, the
printed summary, the methods text of a report, the review spec checker, the
command-line help, the plots — reads it from here. The compiled kernel's
branch of each estimator is :data:`sleepmeta.pooling.estimators.ESTIMATORS`,
keyed by the same names (a test checks that the two agree).

Examples
--------
>>> ESTIMATOR_INFO["REML"].label
'restricted maximum likelihood'
>>> [e.name for e in ESTIMATOR_INFO.values() if not e.estimates_tau2]
['FE']
>>> ESTIMATOR_INFO["DL"].min_k(p=2), ESTIMATOR_INFO["FE"].min_k(p=2)
(3, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

from sleepmeta.errors import InputError, unknown_option

__all__ = ["COMMON_EFFECT", "Control", "ESTIMATOR_INFO", "Estimator", "TESTS", "Test", "check_options",
           "estimator_names", "test_names"]


@dataclass(frozen=True)
class Estimator:
    """What the rest of the package needs to know about one tau² estimator.

    Attributes
    ----------
    name : str
        metafor's abbreviation (``"REML"``).
    label : str
        Display name (``"restricted maximum likelihood"``).
    estimates_tau2 : bool
        False only for the common-effect model (tau² = 0 by assumption).
    iterative : bool
        Whether it iterates (Fisher scoring or root finding) and so can fail
        to converge; :class:`Control` applies to these.

    Examples
    --------
    >>> ESTIMATOR_INFO["PM"].iterative, ESTIMATOR_INFO["PM"].min_k(p=3)
    (True, 4)
    """

    name: str
    label: str
    estimates_tau2: bool = True
    iterative: bool = False

    def min_k(self, p: int = 1) -> int:
        """Fewest studies for ``p`` coefficients: ``p + 1`` if tau² is estimated, else ``p``.

        Examples
        --------
        >>> ESTIMATOR_INFO["REML"].min_k()
        2
        """
        return p + 1 if self.estimates_tau2 else max(p, 1)


#: The tau² estimators by metafor's abbreviations, in metafor's order.
ESTIMATOR_INFO: dict[str, Estimator] = {e.name: e for e in (
    Estimator("FE", "common-effect model", estimates_tau2=False),
    Estimator("DL", "DerSimonian-Laird"),
    Estimator("HE", "Hedges"),
    Estimator("HS", "Hunter-Schmidt"),
    Estimator("HSk", "Hunter-Schmidt (k-corrected)"),
    Estimator("SJ", "Sidik-Jonkman"),
    Estimator("ML", "maximum likelihood", iterative=True),
    Estimator("REML", "restricted maximum likelihood", iterative=True),
    Estimator("EB", "empirical Bayes", iterative=True),
    Estimator("PM", "Paule-Mandel", iterative=True),
)}


@dataclass(frozen=True)
class Test:
    """A way of testing and building intervals for the coefficients.

    ``residual_df``: the test uses ``k - p`` degrees of freedom (then it
    needs ``k > p``, and metafor falls back to ``z`` when ``k = 1``);
    ``scaled``: the variance is multiplied by the Knapp-Hartung factor
    ``s² = Q(tau²)/(k - p)``, floored at ``scale_floor`` (1 for the ad hoc
    correction, so the interval is never narrower than the Wald one);
    ``summary_note``: the line a printed summary adds (none for ``z``);
    ``short``: the name in a model label (e.g. "Knapp-Hartung").

    Examples
    --------
    >>> TESTS["knha"].residual_df, TESTS["z"].summary_note
    (True, '')
    """

    __test__ = False  # not a pytest test class

    name: str
    label: str
    residual_df: bool = False
    summary_note: str = ""
    scaled: bool = False
    scale_floor: float = 0.0
    short: str = ""


#: Tests and intervals for the coefficients.
TESTS: dict[str, Test] = {t.name: t for t in (
    Test("z", "Wald-type z tests and confidence intervals"),
    Test("t", "t and F tests with k - p df, the variance unchanged (metafor's test='t')",
         residual_df=True, short="t tests",
         summary_note="t and F tests with k - p degrees of freedom (variance not rescaled)."),
    Test("knha", "the Knapp-Hartung adjustment (t and F tests with k - p df)", residual_df=True,
         summary_note="Knapp-Hartung adjustment: t and F tests with k - p degrees of freedom.",
         scaled=True, short="Knapp-Hartung"),
    # Röver, Knapp & Friede 2015 (BMC Med Res Methodol 15:99); metafor's test="adhoc"
    Test("adhoc", "the Knapp-Hartung adjustment with the ad hoc correction (scale factor at "
         "least 1: never narrower than the Wald interval; t and F tests with k - p df)",
         residual_df=True, scaled=True, scale_floor=1.0, short="Knapp-Hartung, ad hoc",
         summary_note="Knapp-Hartung adjustment with the ad hoc correction (s² >= 1): t and F "
                      "tests with k - p degrees of freedom."),
)}


def estimator_names() -> tuple[str, ...]:
    """The estimator abbreviations, for help texts and option checks.

    Examples
    --------
    >>> " ".join(estimator_names())
    'FE DL HE HS HSk SJ ML REML EB PM'
    """
    return tuple(ESTIMATOR_INFO)


def test_names() -> tuple[str, ...]:
    """The test names (``z``, ``t``, ``knha``, ``adhoc``).

    Examples
    --------
    >>> test_names()
    ('z', 't', 'knha', 'adhoc')
    """
    return tuple(TESTS)


test_names.__test__ = False  # not a pytest test


def check_options(method: str, test: str) -> None:
    """Raise :class:`~sleepmeta.errors.UnknownOptionError` for an unknown estimator or test.

    Examples
    --------
    >>> check_options("REML", "knha")
    >>> check_options("REM", "z")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sleepmeta.errors.UnknownOptionError: unknown method 'REM'; valid: FE, DL, ...
    """
    if method not in ESTIMATOR_INFO:
        raise unknown_option("method", method, ESTIMATOR_INFO)
    if test not in TESTS:
        raise unknown_option("test", test, TESTS)


@dataclass(frozen=True)
class Control:
    """Iteration control of the iterative tau² estimators (metafor's ``control=``).

    Parameters
    ----------
    threshold : float
        Convergence threshold of Fisher scoring (ML, REML, EB): iteration
        stops when the change in tau² is at most this (metafor: ``1e-5``).
    maxiter : int
        Iteration limit of Fisher scoring and of the Paule-Mandel root
        search (metafor: 100).
    stepadj : float
        Step length factor of Fisher scoring, in (0, 1] (metafor: 1).

    Passing no control (``control=None``) uses metafor's defaults and, for a
    member whose Fisher scoring oscillates, metafor's documented remedy
    ``Control(stepadj=0.5, maxiter=1000)`` (reported in ``notes``). An
    explicit control is used as given, as metafor does.

    Examples
    --------
    >>> Control()
    Control(threshold=1e-05, maxiter=100, stepadj=1.0)
    >>> Control(stepadj=0.5, maxiter=1000).stepadj
    0.5
    """

    threshold: float = 1e-5
    maxiter: int = 100
    stepadj: float = 1.0

    def __post_init__(self) -> None:
        if not (self.threshold > 0):
            raise InputError(f"control.threshold must be > 0, got {self.threshold!r}")
        if not (isinstance(self.maxiter, int) and self.maxiter >= 0):
            raise InputError(f"control.maxiter must be a whole number >= 0, got {self.maxiter!r}")
        if not (0 < self.stepadj <= 1):
            raise InputError(f"control.stepadj must be in (0, 1], got {self.stepadj!r}")

    @classmethod
    def of(cls, control) -> Control | None:
        """``None``, a :class:`Control`, or a mapping of its fields -> ``Control`` or ``None``.

        Examples
        --------
        >>> Control.of({"stepadj": 0.5}).stepadj
        0.5
        >>> Control.of(None) is None
        True
        """
        if control is None or isinstance(control, cls):
            return control
        if isinstance(control, dict):
            unknown = set(control) - {"threshold", "maxiter", "stepadj"}
            if unknown:
                raise unknown_option("control", sorted(unknown)[0],
                                     ("threshold", "maxiter", "stepadj"))
            return cls(**control)
        raise InputError(f"control must be a Control or a dict, got {type(control).__name__}")


#: The common-effect model (tau² = 0), where a rule calls for it (metafor's k = 1 refits,
#: Q between subgroups, the intercept-only model behind the common-effect R²).
COMMON_EFFECT = next(n for n, e in ESTIMATOR_INFO.items() if not e.estimates_tau2)

#: metafor's defaults.
DEFAULT_CONTROL = Control()
#: metafor's documented remedy for oscillating Fisher scoring.
FALLBACK_CONTROL = Control(stepadj=0.5, maxiter=1000)
