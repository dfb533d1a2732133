"""Property tests (hypothesis, bounded) for the dose-response pieces."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.dose import dose_response, greenland_longnecker
from sleepmeta.dose.engine import fit_random_slopes, pad_blocks

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(st.integers(1, 60), min_size=3, max_size=5),
       st.lists(st.floats(200.0, 5000.0), min_size=5, max_size=5))
def test_gl_reproduces_crude_rate_ratio_cells(cases, pt):
    # Crude log rate ratios: the Greenland-Longnecker fitted cells are the
    # observed ones, so Cov = 1/a0 and Var = 1/a_j + 1/a0 exactly.
    a = np.array(cases, float)
    t = np.array(pt[:len(a)])
    y = np.log(a / t) - np.log(a[0] / t[0])
    v = 1 / a + 1 / a[0]
    v[0] = 0.0
    S = greenland_longnecker(y, v, a, t, type="ir")
    expected = np.full((len(a) - 1,) * 2, 1 / a[0])
    expected[np.diag_indices_from(expected)] = v[1:]
    assert S == pytest.approx(expected, rel=1e-8)


def _arms(seed, k):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(k):
        doses = [0.0] + sorted(rng.choice([75.0, 150.0, 300.0, 450.0, 600.0], 2, replace=False))
        n = rng.integers(60, 200)
        p0 = rng.uniform(0.05, 0.15)
        for d in doses:
            rows.append((f"S{i}", d, int(rng.binomial(n, min(p0 * np.exp(0.002 * d), 0.9))) + 1,
                         int(n)))
    return pd.DataFrame(rows, columns=["id", "dose", "events", "n"])


@SETTINGS
@given(st.integers(0, 10_000), st.integers(2, 6), st.sampled_from(["linear", "quadratic"]),
       st.floats(0, 600), st.floats(0, 600))
def test_predict_against_any_reference_is_a_difference(seed, k, model, d1, d2):
    res = dose_response(_arms(seed, k), study="id", dose="dose", events="events", n="n",
                        model=model, random=None)
    a = res.predict([d1, d2])["log_estimate"].to_numpy()
    b = res.predict([d2], reference=d1)["log_estimate"][0]
    assert b == pytest.approx(a[1] - a[0], abs=1e-12)


@SETTINGS
@given(st.integers(0, 10_000), st.integers(3, 6))
def test_order_invariance_and_batch_equals_one_by_one(seed, k):
    df = _arms(seed, k)
    a = dose_response(df, study="id", dose="dose", events="events", n="n")
    rev = pd.concat([df[df.id == s] for s in pd.unique(df["id"])[::-1]])
    b = dose_response(rev, study="id", dose="dose", events="events", n="n")
    assert a.coef == pytest.approx(b.coef, rel=1e-5)
    assert np.all(np.diag(a.psi) >= 0)
    # the same data set twice in one batch beside a different one
    from sleepmeta.dose.arms import study_contrasts

    def blocks(frame):
        sc = study_contrasts(frame, study="id", dose="dose", measure="RR",
                             columns={"events": "events", "n": "n"})
        return pad_blocks([s.y for s in sc], [s.S for s in sc], [s.doses[:, None] for s in sc],
                          a=2)

    y1, S1, X1, m1 = blocks(df)
    y2, S2, X2, m2 = blocks(_arms(seed + 1, k))
    fit = fit_random_slopes(np.stack([y1, y2]), np.stack([S1, S2]), np.stack([X1, X2]),
                            np.stack([m1, m2]))
    one = fit_random_slopes(y1[None], S1[None], X1[None], m1[None])
    assert fit.beta[0] == pytest.approx(one.beta[0], rel=1e-6)
    assert fit.beta[0] == pytest.approx(a.coef, rel=1e-5)


@SETTINGS
@given(st.integers(0, 10_000), st.integers(1, 3))
def test_slope_blocks_equal_build_blocks(seed, p):
    # the direct layout of the adapter equals the engine's own build_blocks
    from sleepmeta.dose.engine import slope_blocks
    from sleepmeta.pooling.multilevel import Structure, Term, build_blocks

    rng = np.random.default_rng(seed)
    B, m, a = 2, 4, 3
    # rows first, padding last in every study (as pad_blocks lays them out)
    mask = np.arange(a) < rng.integers(1, a + 1, (B, m, 1))
    mask[:, 0] = True  # one full study, so build_blocks also pads blocks to a rows
    X = np.where(mask[..., None], rng.normal(size=(B, m, a, p)), 0.0)
    y = np.where(mask, rng.normal(size=(B, m, a)), 0.0)
    L = rng.normal(size=(B, m, a, a)) * 0.1
    S = L @ np.swapaxes(L, -1, -2) + np.eye(a)
    S = np.where(mask[..., :, None] & mask[..., None, :], S, 0.0)
    S[..., np.arange(a), np.arange(a)] = np.where(mask, S[..., np.arange(a), np.arange(a)], 1.0)
    ours = slope_blocks(y, S, X, mask)
    n = m * a
    V = np.zeros((B, m, a, m, a))
    V[:, np.arange(m), :, np.arange(m), :] = np.moveaxis(S, 0, 1)
    V = V.reshape(B, n, n) * mask.reshape(B, n, 1) * mask.reshape(B, 1, n)
    study = np.broadcast_to(np.repeat(np.arange(m), a), (B, n)).copy()
    term = Term(Structure("GEN", p), study, inner=X.reshape(B, n, p))
    ref = build_blocks(y.reshape(B, n), V, X.reshape(B, n, p), mask.reshape(B, n), [term],
                       block=study)
    for name in ("y", "V", "X", "mask", "bases", "k"):
        assert np.allclose(getattr(ours, name), getattr(ref, name)), name
