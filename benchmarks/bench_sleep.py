"""Benchmark: night_table (all endpoints) against a loop of YASA, and reading EDF+ hypnograms.

Run: ``python benchmarks/bench_sleep.py [--nights 10000] [--repeat 5] [--files 1000]``.

* ``night_table`` on ``--nights`` SIMULATED 8-h nights (30-s epochs, seed
  2024), every endpoint (45 columns), against a loop of
  ``yasa.sleep_statistics`` over the same nights (YASA's 19 quantities).
  Both are timed the same way, interleaved: ``--repeat`` runs each, wall
  and CPU time, min and median. The numbers are checked equal on YASA's
  fields. Goal (issue 12): YASA loop / night_table >= 20.
* First-call cost of the compiled kernel in a fresh process: with the disk
  cache warm (the usual case) and with an empty cache (compilation).
* Reading ``--files`` EDF+ hypnograms (written by ``write_hypnogram`` from
  simulated nights) with ``read_hypnogram_edf``, against pyedflib's
  ``EdfReader.readAnnotations`` alone. Goal (issue 12): <= 0.25 s per
  1,000 files (measured when pyedflib alone took 0.18 s).

The machine is shared: timings are noisy; compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from sleepmeta.sleep import night_table, read_hypnogram_edf, simulate_nights, write_hypnogram


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _interleaved(fns: dict, repeat: int):
    """Run each function ``repeat`` times, alternating; {name: (walls, cpus, last result)}."""
    res = {k: ([], [], None) for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            w, c, out = _timed(fn)
            res[name][0].append(w)
            res[name][1].append(c)
            res[name] = (res[name][0], res[name][1], out)
    return res


def _row(label, walls, cpus):
    return (f"{label:<44} {min(walls):9.4f} {statistics.median(walls):9.4f} "
            f"{min(cpus):9.4f} {statistics.median(cpus):9.4f}")


def _first_call(cache_dir: str | None) -> float:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    code = ("import time; from sleepmeta.sleep import Hypnogram, night_table; h = [Hypnogram(['W', 'N2'])]; "
            "t = time.perf_counter(); night_table(h); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def bench_night_table(n: int, repeat: int) -> None:
    import yasa

    nights = simulate_nights(n, hours=8, epoch_seconds=30, seed=2024)
    night_table(nights[:2])  # load the compiled kernel before timing

    def yasa_loop():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated in YASA 0.8, same numbers
            return [yasa.sleep_statistics(h.codes, sf_hyp=1 / h.epoch_seconds) for h in nights]

    res = _interleaved({"ours": lambda: night_table(nights), "yasa": yasa_loop}, repeat)
    table, stats = res["ours"][2], res["yasa"][2]
    fields = list(stats[0])
    theirs = np.array([[s[f] for f in fields] for s in stats])
    mine = table[fields].to_numpy()
    both_nan = np.isnan(theirs) & np.isnan(mine)
    max_diff = float(np.nanmax(np.abs(np.where(both_nan, 0.0, mine - theirs))))
    ratio_wall = min(res["yasa"][0]) / min(res["ours"][0])
    ratio_cpu = min(res["yasa"][1]) / min(res["ours"][1])
    with tempfile.TemporaryDirectory() as empty:
        cold = _first_call(empty)
    warm = min(_first_call(None) for _ in range(3))

    print(f"night_table: {n:,} SIMULATED 8-h nights (30-s epochs), {repeat} interleaved runs each")
    print(f"{'':<44} {'wall min':>9} {'wall med':>9} {'cpu min':>9} {'cpu med':>9}   (seconds)")
    print(_row(f"sleepmeta night_table ({table.shape[1]} columns)", res["ours"][0], res["ours"][1]))
    print(_row(f"YASA {yasa.__version__} sleep_statistics loop ({len(fields)} fields)", res["yasa"][0],
               res["yasa"][1]))
    print(f"{'speed-up, YASA / sleepmeta (min)':<44} {ratio_wall:9.1f}x wall {ratio_cpu:9.1f}x cpu   "
          f"goal >= 20x: {'met' if ratio_wall >= 20 else 'NOT met'}")
    print(f"{'max |ours - YASA| on YASA fields':<44} {max_diff:.2e}  NaN pattern equal: "
          f"{bool(np.array_equal(np.isnan(theirs), np.isnan(mine)))}")
    print(f"{'first call in a new process, cache warm':<44} {warm:9.4f} s")
    print(f"{'first call in a new process, empty cache':<44} {cold:9.4f} s  (numba compiles the kernel)")
    print()


def bench_edf(n_files: int, repeat: int) -> None:
    import pyedflib

    folder = Path(tempfile.mkdtemp())
    for i, night in enumerate(simulate_nights(n_files, hours=8, seed=7)):
        write_hypnogram(night, folder / f"n{i:04d}.edf")
    files = sorted(folder.glob("*.edf"))

    def pyedflib_alone():
        out = []
        for f in files:
            reader = pyedflib.EdfReader(str(f))
            out.append(reader.readAnnotations())
            reader.close()
        return out

    res = _interleaved({"ours": lambda: [read_hypnogram_edf(f) for f in files], "pyedflib": pyedflib_alone},
                       repeat)
    best = min(res["ours"][0])
    print(f"reading {n_files:,} EDF+ hypnograms (SIMULATED 8-h nights), {repeat} interleaved runs each")
    print(f"{'':<44} {'wall min':>9} {'wall med':>9} {'cpu min':>9} {'cpu med':>9}   (seconds)")
    print(_row("sleepmeta read_hypnogram_edf", res["ours"][0], res["ours"][1]))
    print(_row("pyedflib EdfReader.readAnnotations alone", res["pyedflib"][0], res["pyedflib"][1]))
    print(f"{'ours / pyedflib alone (min)':<44} {best / min(res['pyedflib'][0]):9.2f}   "
          f"goal <= 0.25 s per 1,000: {'met' if best * 1000 / n_files <= 0.25 else 'NOT met'} "
          f"({best * 1000 / n_files:.3f} s per 1,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=1_000)
    args = parser.parse_args()
    try:
        import yasa  # noqa: F401
    except ImportError:
        print("yasa is not installed: pip install yasa (the comparison needs it)")
    else:
        bench_night_table(args.nights, args.repeat)
    bench_edf(args.files, args.repeat)


if __name__ == "__main__":
    main()
