"""The grid of a simulation study: conditions, replicates, methods and seed.

A grid is a TOML file or a dict of the same shape. Top-level keys name the
study's settings; the ``[conditions]`` table names the data-generating
parameters, each a single value or a list of values, and the conditions are
all combinations of the lists (in the order of :data:`CONDITION_KEYS`)::

    replicates = 1000          # meta-analyses per condition
    seed = 20240607            # root of numpy.random.SeedSequence
    estimators = ["DL", "REML"]
    tests = ["z", "knha"]      # CI methods: Wald z, Knapp-Hartung
    level = 0.95               # optional (0.95)
    chunk_size = 50000         # optional: analyses per engine batch

    [conditions]
    measure = "MD"             # MD, SMD (continuous); OR, RR (binary)
    k = [5, 10]                # studies per meta-analysis (>= 2)
    effect = [0.0, 0.5]        # true mean effect mu (log scale for OR, RR)
    tau2 = [0.0, 0.1]          # between-study variance (>= 0)
    n = [20, {dist = "uniform", low = 20, high = 200}]   # per arm
    sd = 1.0                   # within-arm SD (continuous)
    baseline_risk = 0.2        # control-arm risk (binary); or a uniform dist

Parameters that a measure does not use (``sd`` for binary, ``baseline_risk``
for continuous outcomes) are left out of its conditions.

A three-level study (estimates nested in clusters, fitted with
:func:`sleepmeta.meta_analysis_mv` and ``random = "~ 1 | cluster/estimate"``)
gives ``clusters`` and a variance per level instead of ``tau2``; its
estimators are ``"REML"``/``"ML"`` and its tests ``"z"``/``"t"``::

    [conditions]
    measure = "MD"
    k = 20                     # estimates per meta-analysis
    clusters = [4, 10]         # clusters (studies) they are nested in (2 <= clusters <= k)
    sigma2_cluster = 0.1       # variance between clusters (metafor's sigma^2.1)
    sigma2_within = 0.05       # variance of estimates within a cluster (sigma^2.2)
    effect = 0.3
    n = 40
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sleepmeta.errors import InputError, SpecError, unknown_option
from sleepmeta.pooling.inputs import VI_MAX, YI_MAX
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS

CONTINUOUS = ("MD", "SMD")
BINARY = ("OR", "RR")
SIM_MEASURES = CONTINUOUS + BINARY
CONDITION_KEYS = ("measure", "k", "effect", "tau2", "n", "sd", "baseline_risk")
THREE_LEVEL_KEYS = ("clusters", "sigma2_cluster", "sigma2_within")
THREE_LEVEL_ESTIMATORS = ("REML", "ML")
THREE_LEVEL_TESTS = ("z", "t")
_DEFAULTS = {"sd": 1.0, "baseline_risk": 0.2}
_TOP_KEYS = ("replicates", "seed", "estimators", "tests", "level", "chunk_size", "conditions")
DEFAULT_CHUNK_SIZE = 50_000  # at k = 10 a chunk costs ~90 ms, far above its dispatch
_FORMAT = 1  # bump when the meaning of a grid (or the generated data) changes


@dataclass(frozen=True)
class Grid:
    """A validated simulation grid (see the module docstring for the keys).

    ``conditions`` is a tuple of dicts, one per condition; ``n`` and
    ``baseline_risk`` are numbers or ``{"dist": "uniform", "low", "high"}``.

    Examples
    --------
    >>> g = parse_grid({"replicates": 10, "seed": 1, "estimators": ["DL"],
    ...                 "conditions": {"measure": "MD", "k": [3, 5], "effect": 0.2,
    ...                                "tau2": 0.1, "n": 30}})
    >>> len(g.conditions), g.methods
    (2, (('DL', 'z'),))
    """

    replicates: int
    seed: int
    estimators: tuple[str, ...]
    tests: tuple[str, ...]
    level: float
    chunk_size: int
    conditions: tuple[dict, ...]

    @property
    def methods(self) -> tuple[tuple[str, str], ...]:
        """Every (estimator, test) pair compared."""
        return tuple(itertools.product(self.estimators, self.tests))

    @property
    def chunks_per_condition(self) -> int:
        """Number of chunks of at most ``chunk_size`` replicates per condition."""
        return math.ceil(self.replicates / self.chunk_size)

    def to_dict(self) -> dict:
        """The canonical, JSON-safe form (what :meth:`hash` digests)."""
        return {"format": _FORMAT, "replicates": self.replicates, "seed": self.seed,
                "estimators": list(self.estimators), "tests": list(self.tests),
                "level": self.level, "chunk_size": self.chunk_size,
                "conditions": [dict(c) for c in self.conditions]}

    def hash(self) -> str:
        """SHA-256 of the canonical grid: two runs share chunks only if equal."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def condition_frame(self) -> pd.DataFrame:
        """One row per condition: ``condition`` (its index) and its parameters.

        ``n`` and ``baseline_risk`` are numbers when every condition fixes
        them, otherwise text labels such as ``"uniform(20, 200)"``.
        """
        three = any("clusters" in c for c in self.conditions)
        keys = CONDITION_KEYS + (THREE_LEVEL_KEYS if three else ())
        rows = [{"condition": i, **{key: _label(c.get(key)) for key in keys}}
                for i, c in enumerate(self.conditions)]
        frame = pd.DataFrame(rows)
        for key in ("n", "baseline_risk", "sd") + (("tau2",) if three else ()):
            if frame[key].isna().all():
                frame = frame.drop(columns=key)
            elif any(isinstance(v, str) for v in frame[key]):
                frame[key] = frame[key].map(lambda v: None if _isnan(v) else str(v))
        return frame


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _label(value):
    if isinstance(value, dict):
        return f"{value['dist']}({value['low']:g}, {value['high']:g})"
    return math.nan if value is None else value


def load_grid(source, **overrides) -> Grid:
    """Read a grid from a TOML file (path) or a dict, and validate it.

    ``overrides`` (``replicates``, ``seed``, ...; ``None`` values ignored)
    replace or add top-level keys.

    Raises
    ------
    SpecError
        The file cannot be read, or a key is unknown or missing.
    UnknownOptionError
        An unknown measure, estimator or test.
    InputError
        A value breaks its rule (``k >= 2``, ``tau2 >= 0``, ...); the
        message names the key.
    """
    overrides = {key: v for key, v in overrides.items() if v is not None}
    if isinstance(source, Grid):
        if overrides:
            raise InputError(f"settings {sorted(overrides)} cannot override a Grid object; "
                             "pass the grid as a dict or a TOML file")
        return source
    if isinstance(source, dict):
        raw = dict(source)
    else:
        path = Path(source)
        try:
            with path.open("rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise SpecError(f"grid file {str(path)!r} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"grid file {str(path)!r} is not valid TOML: {exc}") from None
        except RecursionError:
            raise SpecError(f"grid file {str(path)!r} nests tables or arrays too deeply "
                            "to be a grid") from None
        except IsADirectoryError:
            raise SpecError(f"grid file {str(path)!r} is a folder, not a TOML file") from None
        except OSError as exc:
            raise SpecError(f"grid file {str(path)!r} cannot be read: {exc.strerror}") from None
    raw.update(overrides)
    return parse_grid(raw)


def parse_grid(raw: dict) -> Grid:
    """Validate a grid given as a dict (the TOML layout); see :class:`Grid`."""
    for key in raw:
        if key not in _TOP_KEYS:
            raise SpecError(f"grid: unknown key {key!r}; valid: {', '.join(_TOP_KEYS)}")
    for key in ("replicates", "seed", "estimators", "conditions"):
        if key not in raw:
            raise SpecError(f"grid: missing key {key!r}")
    replicates = _int(raw["replicates"], "replicates", 2)
    seed = _int(raw["seed"], "seed", 0)
    chunk_size = _int(raw.get("chunk_size", DEFAULT_CHUNK_SIZE), "chunk_size", 1)
    level = raw.get("level", 0.95)
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"grid: level must be a number between 0 and 1, got {level!r}")
    estimators = _options(raw["estimators"], "estimator", tuple(ESTIMATOR_INFO))
    tests = _options(raw.get("tests", ["z"]), "test", tuple(TESTS))
    conditions = _conditions(raw["conditions"])
    if "clusters" in conditions[0]:
        for kind, chosen, valid in (("estimator", estimators, THREE_LEVEL_ESTIMATORS),
                                    ("test", tests, THREE_LEVEL_TESTS)):
            for v in chosen:
                if v not in valid:
                    raise InputError(f"grid: a three-level study (conditions.clusters) fits "
                                     f"meta_analysis_mv: {kind} {v!r} is not one of "
                                     f"{', '.join(valid)}")
    return Grid(replicates, seed, estimators, tests, float(level), chunk_size, conditions)


def _int(value, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"grid: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _options(values, kind: str, valid) -> tuple[str, ...]:
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InputError(f"grid: {kind}s must be a name or a list of names, got {values!r}")
    if not values:
        raise InputError(f"grid: name at least one {kind}")
    for v in values:
        if v not in valid:
            raise unknown_option(kind, v, valid)
    return tuple(dict.fromkeys(values))


def _conditions(table) -> tuple[dict, ...]:
    if not isinstance(table, dict):
        raise SpecError("grid: 'conditions' must be a table of parameters")
    three = "clusters" in table
    keys = CONDITION_KEYS + THREE_LEVEL_KEYS if three else CONDITION_KEYS
    for key in table:
        if key not in keys or (three and key == "tau2"):
            valid = [k for k in keys if not (three and k == "tau2")]
            raise SpecError(f"grid: unknown key conditions.{key!r}; valid: {', '.join(valid)}"
                            + (" (a three-level study gives sigma2_cluster and sigma2_within "
                               "instead of tau2)" if three and key == "tau2" else ""))
    required = ("measure", "k", "effect", "n") + (THREE_LEVEL_KEYS if three else ("tau2",))
    for key in required:
        if key not in table:
            raise SpecError(f"grid: missing key conditions.{key!r}")
    levels = {}
    for key in keys:
        if three and key == "tau2":
            levels[key] = [None]
            continue
        raw = table.get(key, _DEFAULTS.get(key))
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise InputError(f"grid: conditions.{key} is an empty list")
        levels[key] = [_CHECKS[key](v) for v in values]
    out, seen = [], set()
    for combo in itertools.product(*(levels[key] for key in keys)):
        cond = dict(zip(keys, combo))
        unused = "baseline_risk" if cond["measure"] in CONTINUOUS else "sd"
        cond[unused] = None
        if three and not cond["clusters"] <= cond["k"]:
            raise InputError(f"grid: conditions.clusters must be <= k (each cluster holds at "
                             f"least one estimate), got clusters = {cond['clusters']}, "
                             f"k = {cond['k']}")
        ident = json.dumps(cond, sort_keys=True)
        if ident not in seen:
            seen.add(ident)
            out.append(cond)
    return tuple(out)


def _measure(v):
    if v not in SIM_MEASURES:
        raise unknown_option("measure", v, SIM_MEASURES)
    return v


def _number(key, rule, ok):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not ok(v):
            raise InputError(f"grid: conditions.{key} must be {rule}, got {v!r}")
        return float(v)
    return check


def _k(v, key="k", what="studies per meta-analysis"):
    if isinstance(v, bool) or not isinstance(v, int) or v < 2:
        raise InputError(f"grid: conditions.{key} must be an integer >= 2 ({what}), got {v!r}")
    return v


def _n(v):
    """Per-arm size: an integer >= 2 or ``{dist = "uniform", low, high}`` (integers)."""
    if isinstance(v, dict):
        return _uniform(v, "n", lambda x: isinstance(x, int) and not isinstance(x, bool)
                        and x >= 2, "integers >= 2")
    if isinstance(v, bool) or not isinstance(v, int) or v < 2:
        raise InputError(f"grid: conditions.n (per-arm size) must be an integer >= 2 or "
                         f"{{dist = \"uniform\", low = ..., high = ...}}, got {v!r}")
    return v


def _risk(v):
    if isinstance(v, dict):
        return _uniform(v, "baseline_risk", lambda x: isinstance(x, (int, float))
                        and 0 < x < 1, "numbers in (0, 1)")
    return _number("baseline_risk", "a number in (0, 1)", lambda x: 0 < x < 1)(v)


def _uniform(v: dict, key: str, ok, rule: str) -> dict:
    if set(v) != {"dist", "low", "high"} or v["dist"] != "uniform":
        raise InputError(f"grid: conditions.{key} as a distribution must be "
                         f"{{dist = \"uniform\", low = ..., high = ...}}, got {v!r}")
    if not (ok(v["low"]) and ok(v["high"]) and v["low"] <= v["high"]):
        raise InputError(f"grid: conditions.{key}: low and high must be {rule} with "
                         f"low <= high, got {v!r}")
    return {"dist": "uniform", "low": v["low"], "high": v["high"]}


_CHECKS = {
    "measure": _measure,
    "k": _k,
    # the engine's accepted range (sleepmeta.pooling.inputs): |yi| <= YI_MAX, vi <= VI_MAX
    "effect": _number("effect", f"a number in [-{YI_MAX:g}, {YI_MAX:g}]",
                      lambda x: abs(x) <= YI_MAX),
    "tau2": _number("tau2", f"a number in [0, {VI_MAX:g}]", lambda x: 0 <= x <= VI_MAX),
    "n": _n,
    "sd": _number("sd", "a finite number > 0", lambda x: x > 0),
    "baseline_risk": _risk,
    "clusters": lambda v: _k(v, "clusters", "clusters per meta-analysis"),
    "sigma2_cluster": _number("sigma2_cluster", f"a number in [0, {VI_MAX:g}]",
                              lambda x: 0 <= x <= VI_MAX),
    "sigma2_within": _number("sigma2_within", f"a number in [0, {VI_MAX:g}]",
                             lambda x: 0 <= x <= VI_MAX),
}
