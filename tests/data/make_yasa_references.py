"""Pin YASA's sleep statistics for the hypnograms the tests compare against.

Run with YASA installed (``pip install 'sleepmeta[yasa]'``):

    python tests/data/make_yasa_references.py

It writes ``tests/data/yasa_references.json``: for each case the integer
hypnogram (YASA's codes), the epoch length and what YASA returns for it --
``yasa.sleep_statistics(codes, sf_hyp=1/epoch)`` (the legacy API) and the
``SOL_5min``, ``WAKE``, ``ART``, ``UNS`` of
``yasa.Hypnogram(labels, freq=...).sleep_statistics()`` -- with YASA's
version and the date. The tests compare sleepmeta with these numbers when
YASA is not installed, and with YASA itself when it is.
"""

from __future__ import annotations

import datetime
import json
import math
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "yasa_references.json"
CLASS_LABELS = {-2: "UNS", -1: "ART", 0: "WAKE", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}

EDGE_CASES = {
    "yasa docstring night": ([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0], 30),
    "no sleep at all": ([0, 0, 0, -1, 0, -2], 30),
    "sleep to the last epoch": ([0, 0, 2, 2, 0, 3, 3, 4], 30),
    "sleep from the first epoch": ([1, 2, 2, 0, 0, 2, 4, 0], 30),
    "artefact inside and outside the SPT": ([-1, 0, 1, -1, 2, 0, -2, 2, 4, -1, 0], 30),
    "20-s epochs": ([0] * 7 + [1, 2] + [2] * 40 + [0, 0, 3, 3, 4, 4, 0], 20),
    "60-s epochs": ([0, 0, 1] + [2] * 12 + [0, 4, 4, 0, 0], 60),
    "only artefact and unscored": ([-1, -2, -1], 30),
    "no REM": ([0, 1, 2, 3, 2, 0], 30),
}


def cases() -> dict:
    """The edge cases, 20 simulated 2-h nights with artefacts, and 40 random hypnograms."""
    from sleepmeta.sleep.simulate import simulate_nights

    out = {name: (list(codes), ep) for name, (codes, ep) in EDGE_CASES.items()}
    for i, h in enumerate(simulate_nights(20, hours=2, artefact_rate=0.02, seed=11)):
        out[f"simulated night {i}"] = ([int(c) for c in h.codes], 30)
    rng = np.random.default_rng(20240607)
    for i in range(40):
        n = int(rng.integers(2, 121))
        out[f"random {i}"] = ([int(c) for c in rng.integers(-2, 5, n)],
                              int(rng.choice([20, 30, 60])))
    return out


def _plain(x):
    x = float(x)
    return None if math.isnan(x) else x


def main() -> None:
    import yasa

    refs = {}
    for name, (codes, ep) in cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy = yasa.sleep_statistics(np.asarray(codes), sf_hyp=1 / ep)
        cls = yasa.Hypnogram([CLASS_LABELS[c] for c in codes], freq=f"{ep}s").sleep_statistics()
        refs[name] = {"codes": codes, "epoch_seconds": ep,
                      "sleep_statistics": {k: _plain(v) for k, v in legacy.items()},
                      "hypnogram_statistics": {k: _plain(cls.get(k, 0.0))
                                               for k in ("SOL_5min", "WAKE", "ART", "UNS")}}
    head = {"source": "YASA (Vallat & Walker 2021): yasa.sleep_statistics(codes, "
                      "sf_hyp=1/epoch) and yasa.Hypnogram(labels, freq=f'{epoch}s')"
                      ".sleep_statistics()",
            "yasa_version": yasa.__version__, "date": datetime.date.today().isoformat(),
            "script": "tests/data/make_yasa_references.py"}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines += [' "cases": {'] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in refs.items()]
    lines[-1] = lines[-1].rstrip(",")
    OUT.write_text("{\n" + "\n".join(lines) + "\n }\n}\n")
    json.loads(OUT.read_text())  # one case per line, and still JSON
    print(f"wrote {len(refs)} cases to {OUT}")


if __name__ == "__main__":
    main()
