"""Benchmark: night_table on 10,000 simulated nights against a loop over YASA.

Run: ``python benchmarks/bench_sleep.py [--nights 10000] [--repeat 3]``.

The nights are SIMULATED (sleepmeta.sleep.simulate_nights, seed 2024),
8 h at 30-s epochs. sleepmeta's time is the best of ``--repeat`` calls of
``night_table`` on all nights. YASA's time is one loop of
``yasa.sleep_statistics(hypno, sf_hyp=1/30)`` over the nights; when the
full loop would take longer than ``--yasa-budget`` seconds (estimated from a
first 1,000 nights) only that subsample is run and the per-night time is
extrapolated - the table says which. Both give the same numbers: the maximum
absolute difference over YASA's fields on the nights YASA ran is printed.
Goal (issue 4): <= 1 s for 10,000 nights and >= 50x faster than the loop.
For context the table also extrapolates YASA's object API
(``yasa.Hypnogram(labels).sleep_statistics()``, timed on 200 nights).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from sleepmeta.sleep import night_table, simulate_nights


def _yasa_loop(nights):
    import yasa

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in YASA 0.8, same numbers
        start = time.perf_counter()
        for h in nights:
            out.append(yasa.sleep_statistics(h.codes, sf_hyp=1 / h.epoch_seconds))
        return time.perf_counter() - start, out


def _yasa_class_per_night(nights, k=200):
    """Per-night time of YASA's object API: yasa.Hypnogram(...).sleep_statistics()."""
    import yasa

    names = np.array(["UNS", "ART", "WAKE", "N1", "N2", "N3", "REM"], dtype=object)
    labels = [names[h.codes.astype(int) + 2] for h in nights[:k]]
    start = time.perf_counter()
    for lab in labels:
        yasa.Hypnogram(lab, freq="30s").sleep_statistics()
    return (time.perf_counter() - start) / len(labels), len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--yasa-budget", type=float, default=120.0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    nights = simulate_nights(args.nights, hours=8, epoch_seconds=30, seed=2024)
    t_sim = time.perf_counter() - t0

    ours = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        table = night_table(nights)
        ours.append(time.perf_counter() - t0)
    t_ours = min(ours)

    try:
        import yasa
    except ImportError:
        print("yasa is not installed: pip install yasa (the comparison needs it)")
        return
    sub = min(1000, args.nights)
    t_sub, stats = _yasa_loop(nights[:sub])
    per_night = t_sub / sub
    if sub < args.nights and per_night * args.nights <= args.yasa_budget:
        t_full, stats = _yasa_loop(nights)
        per_night, ran, note = t_full / args.nights, args.nights, "measured on all nights"
    else:
        ran = sub
        note = f"measured on the first {sub:,} nights, extrapolated per night"
    t_yasa = per_night * args.nights

    fields = list(stats[0])
    theirs = np.array([[s[f] for f in fields] for s in stats])
    mine = table[fields].to_numpy()[:ran]
    both = ~(np.isnan(theirs) & np.isnan(mine))
    max_diff = float(np.nanmax(np.abs(np.where(both, mine - theirs, 0.0))))
    nan_agree = bool(np.array_equal(np.isnan(theirs), np.isnan(mine)))

    per_obj, k_obj = _yasa_class_per_night(nights)
    n = args.nights
    rows = [
        ("nights (SIMULATED, 8 h, 30-s epochs)", f"{n:,}"),
        ("simulate_nights (not compared)", f"{t_sim:8.3f} s"),
        (f"sleepmeta night_table (best of {args.repeat})", f"{t_ours:8.3f} s"),
        (f"YASA {yasa.__version__} sleep_statistics loop", f"{t_yasa:8.3f} s  ({note})"),
        ("YASA per night", f"{per_night * 1e6:8.1f} us"),
        ("speed-up (YASA / sleepmeta)", f"{t_yasa / t_ours:8.1f} x"),
        ("YASA Hypnogram.sleep_statistics (object API)", f"{per_obj * n:8.3f} s  (first {k_obj} nights, extrapolated; {per_obj * n / t_ours:.0f} x)"),
        ("goal: <= 1 s and >= 50x", "met" if t_ours <= 1 and t_yasa / t_ours >= 50 else "NOT met"),
        (f"max |ours - YASA| over {len(fields)} fields, {ran:,} nights", f"{max_diff:.2e} (NaN pattern equal: {nan_agree})"),
    ]
    width = max(len(a) for a, _ in rows)
    print(f"{'quantity':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")


if __name__ == "__main__":
    main()
