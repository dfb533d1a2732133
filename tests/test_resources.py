"""Memory estimates before allocating (issue 18: leave_one_out with k = 1e5 asked for 74.5 GiB)."""

from __future__ import annotations

import numpy as np
import pytest

from sleepmeta import resources
from sleepmeta.errors import ResourceError
from sleepmeta.pooling import meta_analysis
from sleepmeta.scale import simulate

GIB = 2**30


@pytest.fixture
def sixteen_gib(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 16 * GIB)


def test_require_memory_says_how_much_and_how_to_split():
    # 100,000 x 100,000 float64 = 8e10 bytes = 74.5 GiB (the figure of issue 18)
    with pytest.raises(ResourceError, match=r"would need about 74\.5 GiB of memory; 16\.0 GiB "
                                            r"is available: split it"):
        resources.require_memory(8 * 100_000**2, "x", "split it", available=16 * GIB)
    resources.require_memory(0.8 * 16 * GIB, "x", "", available=16 * GIB)  # at the share: ok


def test_largest_batch_that_fits_is_in_the_advice():
    # 16 GiB * 0.8 / (8 bytes * 16 arrays * k = 1000) = 107,374 analyses (hand calculation)
    with pytest.raises(ResourceError, match=r"at most 107,374"):
        resources.require_batch_memory(10**6, 1000, 16, "x", "at most {fits}", available=16 * GIB)


@pytest.mark.parametrize("what", ["leave_one_out", "influence", "cumulative"])
def test_diagnostics_with_k_1e5_are_refused_before_allocating(sixteen_gib, what):
    k = 100_000
    rng = np.random.default_rng(1)
    res = meta_analysis(rng.normal(size=k), rng.uniform(0.1, 1, k), method="FE")
    with pytest.raises(ResourceError, match=f"{what} with k = 100,000 studies would need"):
        getattr(res, what)()


def test_small_diagnostics_still_run(sixteen_gib):
    res = meta_analysis([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.04, 0.02], method="FE")
    assert len(res.leave_one_out()) == 4


def test_simulate_grid_too_large_is_refused_with_chunk_advice(sixteen_gib):
    grid = {"replicates": 100_000, "seed": 1, "estimators": ["DL"], "chunk_size": 20_000,
            "conditions": {"measure": "MD", "k": 10**6, "effect": 0.0, "tau2": 0.0, "n": 10}}
    # 16 GiB * 0.8 / (8 * 32 arrays * 1e6 studies) = 53 analyses per chunk (hand calculation)
    with pytest.raises(ResourceError, match=r"set chunk_size = 53 \(or less\)"):
        simulate(grid, progress=False)
