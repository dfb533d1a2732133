"""The compiled pass (``sleep/_kernel.py``) against the endpoints' definitions, epoch by epoch.

Each definition of ``sleepmeta.sleep.fields`` is written out below in plain
Python over the epochs (no runs, no compiled code) and compared with
``night_table`` on random nights: any stages including artefact, unscored
and unstaged sleep, epoch lengths of 20-60 s, lights periods, and the
options of the kernel.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.sleep import Hypnogram, night_table


def _runs(flags):
    """(start, length) of each maximal run of True."""
    out, start = [], None
    for j, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = j
        elif not f and start is not None:
            out.append((start, j - start))
            start = None
    return out


def _definitions(codes, per_min, persistent, min_awake):
    n = len(codes)
    sleep = [c >= 1 for c in codes]
    tst = sum(sleep)
    has = tst > 0
    first = sleep.index(True) if has else None
    last = n - 1 - sleep[::-1].index(True) if has else None
    need = lambda minutes: max(math.ceil(minutes * per_min - 1e-9), 1)  # noqa: E731
    bouts = _runs(sleep)
    out = {"TWT": (n - tst) / per_min, "TIB": n / per_min}
    out["WASO_AASM"] = (n - first - tst) / per_min if has else math.nan
    out["sleep_bout_mean"] = np.mean([b for _, b in bouts]) / per_min if bouts else math.nan
    out["sleep_bout_max"] = max(b for _, b in bouts) / per_min if bouts else math.nan
    lps = next((s for s, b in bouts if b >= need(persistent)), None)
    out["LPS"] = math.nan if lps is None else lps / per_min
    out["WASO_LPS"] = math.nan if lps is None else (n - lps - sum(sleep[lps:])) / per_min
    sol5 = next((s for s, b in bouts if b >= need(5.0)), None)
    out["SOL_5min"] = math.nan if sol5 is None else sol5 / per_min
    wake_runs = _runs([c == 0 for c in codes])
    counted = [(s, b) for s, b in wake_runs if has and s >= first and b >= need(min_awake)]
    out["n_wake_bouts"] = len(counted)
    out["wake_bout_mean"] = np.mean([b for _, b in counted]) / per_min if counted else math.nan
    out["n_awakenings"] = sum(1 for s, b in counted if s + b - 1 < last)
    third = [3 * j // n for j in range(n)]
    for t in range(3):
        out[f"TST_T{t + 1}"] = sum(1 for j in range(n) if third[j] == t and sleep[j]) / per_min
        out[f"WASO_T{t + 1}"] = (sum(1 for j in range(n) if third[j] == t and not sleep[j] and j >= first)
                                 / per_min if has else math.nan)
    to_wake = sum(1 for j in range(n - 1) if sleep[j] and codes[j + 1] == 0)
    out["SFI"] = to_wake / (tst / per_min / 60) if has else math.nan
    scored = [c for c in codes if c >= 0]
    shifts = sum(1 for a, b in zip(scored, scored[1:]) if a != b)
    out["n_stage_shifts"] = math.nan if 5 in codes else shifts
    return out


_LABEL = {-2: "UNS", -1: "ART", 0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "R", 5: "S"}
_code = st.sampled_from([-2, -1, 0, 0, 1, 2, 2, 3, 4])


@settings(max_examples=150, deadline=None)
@given(codes=st.lists(_code, min_size=1, max_size=300), step=st.sampled_from([20.0, 30.0, 60.0]),
       persistent=st.sampled_from([1.0, 2.5, 10.0]), min_awake=st.sampled_from([0.0, 1.0, 2.0]),
       sleep_wake=st.booleans(), lights=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_kernel_equals_the_definitions(codes, step, persistent, min_awake, sleep_wake, lights):
    if sleep_wake:  # a sleep/wake series: every stage of sleep is unstaged sleep (code 5)
        codes = [5 if c >= 1 else c for c in codes]
    n = len(codes)
    lo = int(lights[0] * (n - 1))
    hi = lo + 1 + int(lights[1] * (n - lo - 1))
    labels = [_LABEL[c] for c in codes]
    h = Hypnogram(labels, epoch_seconds=step).with_lights(lo * step, hi * step)
    row = night_table(h, persistent_minutes=persistent, min_awakening_minutes=min_awake).iloc[0]
    expected = _definitions(codes[lo:hi], 60.0 / step, persistent, min_awake)
    for field, value in expected.items():
        got = row[field]
        assert (math.isnan(value) and math.isnan(got)) or math.isclose(got, value, rel_tol=1e-12,
                                                                        abs_tol=1e-12), (field, got, value)
