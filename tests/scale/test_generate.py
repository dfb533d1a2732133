"""Data generation at the participant-summary level (sleepmeta.scale.generate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from sleepmeta.scale.generate import generate


def _cond(**kw):
    c = {"measure": "MD", "k": 4, "effect": 0.3, "tau2": 0.1, "n": 25, "sd": 2.0,
         "baseline_risk": None}
    c.update(kw)
    return c


def _continuous_by_hand(cond, size, seed):
    """The draws of the module docstring, made one by one in the documented order."""
    rng = np.random.default_rng(seed)
    shape = (size, cond["k"])
    n, sd = float(cond["n"]), cond["sd"]
    theta = cond["effect"] + np.sqrt(cond["tau2"]) * rng.standard_normal(shape)
    delta = theta if cond["measure"] == "MD" else theta * sd
    m1 = delta + sd / np.sqrt(n) * rng.standard_normal(shape)
    m2 = sd / np.sqrt(n) * rng.standard_normal(shape)
    s1 = sd * np.sqrt(rng.chisquare(np.full(shape, n - 1)) / (n - 1))
    s2 = sd * np.sqrt(rng.chisquare(np.full(shape, n - 1)) / (n - 1))
    return m1, s1, m2, s2, n


def test_md_by_hand():
    cond = _cond()
    m1, s1, m2, s2, n = _continuous_by_hand(cond, 5, seed=11)
    yi, vi = generate(cond, 5, np.random.default_rng(11))
    # escalc "MD": yi = m1 - m2, vi = s1²/n1 + s2²/n2 (Viechtbauer 2010, vtype "LS")
    np.testing.assert_allclose(yi, m1 - m2, rtol=1e-15)
    np.testing.assert_allclose(vi, s1**2 / n + s2**2 / n, rtol=1e-15)


def test_same_seed_same_data_other_seed_other_data():
    a = generate(_cond(), 50, np.random.default_rng(3))
    b = generate(_cond(), 50, np.random.default_rng(3))
    c = generate(_cond(), 50, np.random.default_rng(4))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_or_with_zero_cells_by_hand():
    # rare events in small arms: many tables with a zero cell get 1/2 in every cell
    cond = _cond(measure="OR", n=8, baseline_risk=0.05, effect=0.5, tau2=0.2, sd=None)
    size = 200
    rng = np.random.default_rng(5)
    shape = (size, cond["k"])
    theta = 0.5 + np.sqrt(0.2) * rng.standard_normal(shape)
    p1 = expit(logit(0.05) + theta)
    a = rng.binomial(8, p1).astype(float)
    c = rng.binomial(8, np.full(shape, 0.05)).astype(float)
    b, d = 8 - a, 8 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    assert zero.any() and (~zero).any()
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    yi, vi = generate(cond, size, np.random.default_rng(5))
    # Woolf (1955): yi = log(ad/bc), vi = 1/a + 1/b + 1/c + 1/d
    np.testing.assert_allclose(yi, np.log(a * d / (b * c)), rtol=1e-12)
    np.testing.assert_allclose(vi, 1 / a + 1 / b + 1 / c + 1 / d, rtol=1e-12)


def test_rr_risk_is_capped_at_one():
    # p2 = 0.9, exp(effect) = 2: p1 = min(1, 1.8) = 1, so every treated participant has an event
    cond = _cond(measure="RR", effect=np.log(2), tau2=0.0, n=10, baseline_risk=0.9, sd=None)
    yi, vi = generate(cond, 100, np.random.default_rng(1))
    assert np.isfinite(yi).all() and (vi > 0).all()


def test_uniform_sizes_and_risks_stay_in_range():
    cond = _cond(measure="RR", n={"dist": "uniform", "low": 5, "high": 9}, tau2=0.0,
                 baseline_risk={"dist": "uniform", "low": 0.2, "high": 0.4}, sd=None)
    yi, vi = generate(cond, 2000, np.random.default_rng(2))
    # RR: vi = 1/a - 1/n1 + 1/c - 1/n2 <= 1/a + 1/c <= 4, since every cell is >= 1/2
    # after the continuity correction (a zero cell gets 1/2)
    assert np.isfinite(vi).all() and (vi > 0).all() and (vi <= 4).all()


def test_md_moments():
    """Var(yi) = tau² + 2 sd²/n for MD with equal arms; mean = mu. Checked against MCSEs."""
    cond = _cond(k=2, tau2=0.04, n=50, sd=1.0)
    yi, _ = generate(cond, 20000, np.random.default_rng(8))
    y = yi.ravel()
    N = y.size
    assert abs(y.mean() - 0.3) < 4 * y.std(ddof=1) / np.sqrt(N)
    target = 0.04 + 2 * 1.0 / 50
    assert abs(y.var(ddof=1) - target) < 4 * target * np.sqrt(2 / (N - 1))


@pytest.mark.r
def test_smd_and_or_match_escalc(metafor):
    cond = _cond(measure="SMD", k=3, n=12)
    m1, s1, m2, s2, n = _continuous_by_hand(cond, 4, seed=21)
    yi, vi = generate(cond, 4, np.random.default_rng(21))
    frame = pd.DataFrame({"m1": m1.ravel(), "s1": s1.ravel(), "m2": m2.ravel(),
                          "s2": s2.ravel(), "n": n})
    text = frame.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    r = metafor(f'd <- read.csv(text=r"({text})")\n'
                'es <- escalc("SMD", m1i=m1, sd1i=s1, n1i=n, m2i=m2, sd2i=s2, n2i=n, data=d)\n'
                'write.csv(data.frame(yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)')
    np.testing.assert_allclose(yi.ravel(), r["yi"], rtol=1e-6)
    np.testing.assert_allclose(vi.ravel(), r["vi"], rtol=1e-6)

    cond = _cond(measure="OR", n=8, baseline_risk=0.05, effect=0.5, tau2=0.2, sd=None, k=5)
    rng = np.random.default_rng(5)
    shape = (20, 5)
    theta = 0.5 + np.sqrt(0.2) * rng.standard_normal(shape)
    a = rng.binomial(8, expit(logit(0.05) + theta))
    c = rng.binomial(8, np.full(shape, 0.05))
    yi, vi = generate(cond, 20, np.random.default_rng(5))
    text = pd.DataFrame({"a": a.ravel(), "c": c.ravel()}).to_csv(index=False, lineterminator="\n")
    r = metafor(f'd <- read.csv(text=r"({text})")\n'
                'es <- escalc("OR", ai=a, n1i=rep(8, nrow(d)), ci=c, n2i=rep(8, nrow(d)), data=d)\n'
                'write.csv(data.frame(yi=as.numeric(es$yi), vi=es$vi), stdout(), row.names=FALSE)')
    np.testing.assert_allclose(yi.ravel(), r["yi"], rtol=1e-6)
    np.testing.assert_allclose(vi.ravel(), r["vi"], rtol=1e-6)
