"""Shared limits of the fault campaign's fuzz tests: a wall-clock bound on each example."""

from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np

from sleepmeta.errors import SleepmetaError


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
