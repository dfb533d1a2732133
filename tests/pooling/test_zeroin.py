"""Brent's root finder, batched, as R's uniroot runs it."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta.pooling.zeroin import DEFAULT_TOL, zeroin


def test_roots_of_known_functions():
    # x² = c has root sqrt(c) (hand calculation)
    c = np.array([2.0, 3.0, 10.0])

    def f(x, idx):
        return x**2 - c[idx]

    lo, hi = np.zeros(3), np.full(3, 4.0)
    root, _, ok = zeroin(f, lo, hi, f(lo, np.arange(3)), f(hi, np.arange(3)), tol=1e-13)
    assert ok.all()
    assert root == pytest.approx(np.sqrt(c), abs=1e-12)


def test_end_point_root_is_returned_at_once():
    def f(x, idx):
        return x - 1.0

    lo, hi = np.array([1.0]), np.array([3.0])
    root, it, ok = zeroin(f, lo, hi, f(lo, [0]), f(hi, [0]))
    assert root[0] == 1.0 and ok[0]


def test_default_tolerance_is_rs():
    assert DEFAULT_TOL == pytest.approx(np.finfo(float).eps ** 0.25)


@pytest.mark.r
def test_same_answers_as_r_uniroot(metafor):
    # R's uniroot with its default tol returns an answer only as precise as the
    # tolerance; the same algorithm must return the same number.
    ref = metafor("""
    out <- NULL
    for (a in 1:5) { r <- uniroot(function(x) cos(x) - a * x, c(0, 2))
      out <- rbind(out, data.frame(a=a, root=r$root)) }
    write.csv(out, stdout(), row.names=FALSE)""")
    a = ref["a"].to_numpy(float)

    def f(x, idx):
        return np.cos(x) - a[idx] * x

    lo, hi = np.zeros(a.size), np.full(a.size, 2.0)
    idx = np.arange(a.size)
    root, _, ok = zeroin(f, lo, hi, f(lo, idx), f(hi, idx))
    assert ok.all()
    assert root == pytest.approx(ref["root"].to_numpy(), rel=1e-12)
