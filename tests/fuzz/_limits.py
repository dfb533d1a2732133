"""Shared limits of the fault campaign's fuzz tests: a wall-clock bound on each example."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import numpy as np
from hypothesis import HealthCheck, settings

from sleepmeta.errors import SleepmetaError


#: ``SLEEPMETA_FUZZ_SCALE=20 pytest tests/fuzz`` runs 20 times the examples, with fresh
#: random draws; by default the bounded campaign is derandomized (the same examples each run).
SCALE = float(os.environ.get("SLEEPMETA_FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int) -> settings:
    """Bounded hypothesis settings of the campaign (no per-example deadline: see :func:`within`)."""
    return settings(max_examples=max(1, int(max_examples * SCALE)), deadline=None,
                    derandomize=SCALE == 1,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


class Hang(AssertionError):
    """An example ran past its time bound."""


@contextlib.contextmanager
def within(seconds: float, what: str = "example"):
    """Fail with :class:`Hang` if the block runs longer than ``seconds`` (main thread, POSIX)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum, frame):
        raise Hang(f"{what} did not return within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def finite_or_typed(call, fields, seconds: float = 20.0):
    """Run ``call()``: it returns an object whose ``fields`` are finite, or raises a sleepmeta
    error; anything else (another exception, NaN/inf, a hang) fails. Returns the result or None."""
    with within(seconds):
        try:
            res = call()
        except SleepmetaError:
            return None
    for name in fields:
        value = np.asarray(getattr(res, name), float)
        assert np.isfinite(value).all(), f"{name} = {value!r} is not finite"
    return res
