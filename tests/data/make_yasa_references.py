"""Write tests/data/yasa_references.json: YASA's outputs on fixed nights.

Run (needs YASA): ``python tests/data/make_yasa_references.py``. The
nights' stage codes are stored in the file with YASA's answers, so the
comparisons in ``tests/sleep/test_yasa_pinned.py`` run without YASA
installed. Calls recorded per night:

* ``yasa.sleep_statistics(codes, sf_hyp=1/epoch_seconds)``
* ``yasa.Hypnogram(labels, freq=f"{epoch_seconds}s").sleep_statistics()``
  (labels UNS ART WAKE N1 N2 N3 REM) and ``.transition_matrix()``
* two-stage nights: ``yasa.Hypnogram(labels, freq=..., n_stages=2).sleep_statistics()``
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import numpy as np
import yasa

OUT = Path(__file__).with_name("yasa_references.json")
NAMES = {-2: "UNS", -1: "ART", 0: "WAKE", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}


def _nights():
    rng = np.random.default_rng(20261130)
    nights = [
        ("yasa docstring night", [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0], 30),
        ("no sleep", [0, 0, 0, -1, 0, -2], 30),
        ("sleep to the last epoch", [0, 0, 2, 2, 0, 3, 3, 4], 30),
        ("artefact inside and outside the SPT", [-1, 0, 1, -1, 2, 0, -2, 2, 4, -1, 0], 30),
        ("60-s epochs", [0, 0, 1] + [2] * 12 + [0, 4, 4, 0, 0], 60),
    ]
    # random Markov nights: a sticky transition matrix over -2..4
    for k in range(12):
        n = int(rng.integers(40, 400))
        codes, state = [], 0
        for _ in range(n):
            if rng.random() < 0.15:
                state = int(rng.choice([-2, -1, 0, 1, 2, 3, 4], p=[0.03, 0.05, 0.22, 0.15, 0.3, 0.1, 0.15]))
            codes.append(state)
        nights.append((f"random night {k + 1}", codes, [20, 30, 60][k % 3]))
    return nights


def main() -> None:
    out = {"yasa_version": yasa.__version__, "date": dt.date.today().isoformat(),
           "script": "tests/data/make_yasa_references.py", "nights": [], "two_stage": []}
    for name, codes, epoch in _nights():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = yasa.sleep_statistics(np.asarray(codes), sf_hyp=1 / epoch)
        hyp = yasa.Hypnogram([NAMES[c] for c in codes], freq=f"{epoch}s")
        counts, _ = hyp.transition_matrix()
        out["nights"].append({
            "name": name, "epoch_seconds": epoch, "codes": codes,
            "sleep_statistics": {k: (None if np.isnan(v) else float(v)) for k, v in legacy.items()},
            "hypnogram_sleep_statistics": {k: (None if np.isnan(v) else float(v))
                                           for k, v in hyp.sleep_statistics().items()},
            "transition_counts": {"stages": [str(s) for s in counts.index],
                                  "counts": counts.to_numpy().tolist()},
        })
    rng = np.random.default_rng(7)
    for k in range(6):
        n = int(rng.integers(20, 300))
        labels = list(np.where(rng.random(n) < 0.6, "SLEEP", "WAKE"))
        labels = sorted(labels[: n // 4]) [::-1] + labels[n // 4:]  # wake first, then mixed
        epoch = [15, 30, 60][k % 3]
        stats = yasa.Hypnogram(labels, freq=f"{epoch}s", n_stages=2).sleep_statistics()
        out["two_stage"].append({"epoch_seconds": epoch, "labels": labels,
                                 "sleep_statistics": {key: (None if np.isnan(v) else float(v))
                                                      for key, v in stats.items()}})
    # one night per line: readable diffs, small file
    head = {k: v for k, v in out.items() if k not in ("nights", "two_stage")}
    lines = [json.dumps(head)[:-1] + ', "nights": [']
    lines += [json.dumps(x) + "," for x in out["nights"]]
    lines[-1] = lines[-1][:-1]
    lines += ['], "two_stage": [']
    lines += [json.dumps(x) + "," for x in out["two_stage"]]
    lines[-1] = lines[-1][:-1]
    lines += ["]}"]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
