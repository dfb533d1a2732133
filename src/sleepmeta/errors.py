"""Typed errors of sleepmeta.

Every error caused by the input is a subclass of :class:`ValueError`, so
``except ValueError`` catches them all. Messages name the study (row label
or index), the field and the rule broken, for example
``study 'Roth 2012': sd1 must be > 0, got -3.1``.
"""

from __future__ import annotations


class SleepmetaError(Exception):
    """Root of every error sleepmeta raises on purpose."""


class InputError(SleepmetaError, ValueError):
    """The input breaks a documented rule (a value, a length, a type)."""


class ColumnError(InputError, KeyError):
    """A column name given for ``data=`` is not one of its columns."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnknownOptionError(InputError):
    """An option (measure, method, test, ...) is not one of the valid choices."""


class FormulaError(InputError):
    """A formula uses a term outside the safe subset (see :mod:`sleepmeta.pooling.formula_safety`)."""


class ModelError(InputError):
    """The model cannot be fitted to these data (too few studies, rank-deficient design)."""


class ConvergenceError(SleepmetaError, ValueError):
    """An iterative estimator did not converge.

    The message gives the estimator, the analysis, the iteration count and the
    last value, so the failure can be reproduced.
    """


class HypnogramError(InputError):
    """A hypnogram, or a file holding one, is malformed."""


class DiaryError(InputError):
    """A sleep-diary night is impossible (negative or overlapping times)."""


class DesignError(InputError):
    """A trial's participants do not fit the stated design."""


class SpecError(InputError):
    """A review specification (TOML) names something that is not there."""


class OutputError(InputError):
    """An output path cannot be written: a folder, link, FIFO or device where a file
    goes, a folder that is not a report, a path under a file, a full disk, a
    read-only folder. The message names the path and the reason."""


class ResourceError(InputError):
    """The work asked for would need more memory than this machine has; the message
    says how much and how to split it."""


class SchedulerError(SleepmetaError, ValueError):
    """A Dask scheduler could not be reached or used."""


class DependencyError(SleepmetaError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def unknown_option(kind: str, value: object, valid) -> UnknownOptionError:
    """Build the error for an option that is not one of ``valid``.

    >>> str(unknown_option("measure", "XX", ["MD", "SMD"]))
    "unknown measure 'XX'; valid: MD, SMD"
    """
    return UnknownOptionError(f"unknown {kind} {value!r}; valid: {', '.join(map(str, valid))}")
