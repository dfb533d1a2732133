"""The review specification: a TOML file naming data, outcomes, claims and settings.

A spec is parsed with :mod:`tomllib` and validated once, here; every error
is a :class:`~sleepmeta.errors.SpecError` naming the key (``outcomes.WASO.measure``,
``claims[3].outcomes``) and the rule broken. Checks that need the data
(columns, rows) are in :func:`sleepmeta.review.tables.check_against_data`.

Layout (see ``sleepmeta/data/pregabalin_review.toml`` for a full example)::

    [review]     title, drug, comparator
    [data]       efficacy = [...csv], harms = [...csv], notes = [...md], risk_of_bias = "x.csv"
                 (paths relative to the spec)
    [analysis]   method, test, level, single_study_method, small_study_min_k, dose_regression_min_k,
                 few_studies_test, few_studies_k, shared_control ("multilevel", default, or "split")
    [verdict]    min_studies_supported, count_published_summaries
    [outcomes.KEY]  label, table, select, measure, better, unit, margin, subgroups, control_risks
    [grade.KEY]  <domain> = {downgrade = 0|1|2, reason = "..."}  (GRADE overrides)
    [[claims]]   id, text, outcomes, population, expects, missing
    [[directions]]  study, outcome, comparator, dose, direction, quote
    [[lhh]]      benefit, harm, population
    [dose_response]  outcomes, model, knots, reference, doses (pooled dose curves of harms)
    [labels]     code = "words" for the codes of the data (conditions, events), e.g. DPN
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sleepmeta.errors import SpecError
from sleepmeta.pooling.registry import ESTIMATOR_INFO, TESTS
from sleepmeta.review.grade import check_overrides
from sleepmeta.review.sof import check_control_risks
from sleepmeta.review.dose_spec import dose_response_spec
from sleepmeta.review.paths import allowed_roots, review_path, spec_paths

__all__ = ["Claim", "Direction", "Outcome", "ReviewSpec", "load_spec",
           "parse_spec"]

MEASURES = {"efficacy": ("MD", "RR"), "harms": ("RR",)}
#: estimators that pool a single study (no tau² to estimate), for ``single_study_method``
SINGLE_STUDY_METHODS = tuple(n for n, e in ESTIMATOR_INFO.items() if not e.estimates_tau2)
EXPECTS = ("benefit", "harm", "dose")
DIRECTIONS = ("increase", "decrease", "no difference")
SUBGROUPS = ("condition", "dose")


@dataclass(frozen=True)
class Outcome:
    """One analysable outcome: which rows, which measure, which way is better."""

    key: str
    label: str
    table: str
    select: dict
    measure: str
    better: str
    unit: str
    margin: float = 0.0
    subgroups: tuple = ("condition", "dose")
    control_risks: tuple = ()  # (low, high) assumed control risks for the SoF table

    @property
    def column(self) -> str:
        """The column naming the outcome in its table (``outcome`` or ``event``)."""
        return "outcome" if self.table == "efficacy" else "event"


@dataclass(frozen=True)
class Claim:
    """A claim and the outcomes and populations that test it."""

    id: str
    text: str
    outcomes: tuple
    population: tuple
    expects: str
    missing: str = ""


@dataclass(frozen=True)
class Direction:
    """A reviewer's coding of the direction a source states in words (no numbers)."""

    study: str
    outcome: str
    comparator: str
    dose: tuple | None
    direction: str
    quote: str


@dataclass(frozen=True)
class ReviewSpec:
    """A validated review specification."""

    path: Path
    title: str
    drug: str
    comparator: str
    data: dict
    notes: tuple
    method: str
    test: str
    level: float
    single_study_method: str
    small_study_min_k: int
    dose_regression_min_k: int
    min_studies_supported: int
    count_published_summaries: bool
    outcomes: dict
    claims: tuple
    directions: tuple
    lhh: tuple
    sha256: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    risk_of_bias: str = ""  # path of the RoB 2 table, relative to the spec
    grade_overrides: dict = field(default_factory=dict)  # outcome -> domain -> (n, reason)
    few_studies_test: str = "adhoc"  # the test used when k < few_studies_k
    few_studies_k: int = 5
    allow_outside: tuple = ()  # folders outside the spec's own that its paths may name
    shared_control: str = "multilevel"  # arms sharing a control: multilevel model or split
    labels: dict = field(default_factory=dict)  # data code -> the words a reader sees
    dose_response: object = None  # review.dose_spec.DoseResponseSpec

    def file(self, key: str, name: str) -> Path:
        """The path ``name`` of spec key ``key``, confined to the spec's folder
        (see :func:`sleepmeta.review.paths.review_path`)."""
        return review_path(self.path.parent, name, key, self.allow_outside)



def _req(table: dict, key: str, where: str, kind=str):
    if key not in table:
        raise SpecError(f"{where}.{key}: required key is missing")
    return _typed(table[key], f"{where}.{key}", kind)


def _typed(value, where: str, kind):
    ok = isinstance(value, kind) and not (kind in (int, float, (int, float)) and isinstance(value, bool))
    if not ok:
        name = getattr(kind, "__name__", None) or " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{where}: must be a {name}, got {value!r}")
    return value


def _opt(table: dict, key: str, where: str, kind, default):
    return _typed(table[key], f"{where}.{key}", kind) if key in table else default


def _str_list(value, where: str) -> tuple:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: must be a list of strings, got {value!r}")
    return tuple(value)


def _choice(value, where: str, valid) -> str:
    if value not in valid:
        raise SpecError(f"{where}: unknown value {value!r}; valid: {', '.join(valid)}")
    return value


def _unknown_keys(table: dict, valid, where: str) -> None:
    extra = sorted(set(table) - set(valid))
    if extra:
        raise SpecError(f"{where}: unknown key {extra[0]!r}; valid keys: {', '.join(valid)}")


def _outcome(key: str, t: dict) -> Outcome:
    where = f"outcomes.{key}"
    if not isinstance(t, dict):
        raise SpecError(f"{where}: must be a table")
    _unknown_keys(t, ("label", "table", "select", "measure", "better", "unit", "margin",
                      "subgroups", "control_risks"), where)
    table = _choice(_req(t, "table", where), f"{where}.table", tuple(MEASURES))
    measure = _choice(_req(t, "measure", where), f"{where}.measure", MEASURES[table])
    select = _req(t, "select", where, dict)
    if not select:
        raise SpecError(f"{where}.select: name at least one column and its values")
    select = {col: _str_list(vals, f"{where}.select.{col}") for col, vals in select.items()}
    margin = float(_opt(t, "margin", where, (int, float), 0.0))
    if not math.isfinite(margin) or margin < 0 or (measure == "RR" and 0 < margin < 1):
        raise SpecError(f"{where}.margin: must be >= 0 (a ratio margin must be >= 1), got {margin}")
    subgroups = _str_list(_opt(t, "subgroups", where, (list, str), list(SUBGROUPS)),
                          f"{where}.subgroups")
    for s in subgroups:
        _choice(s, f"{where}.subgroups", SUBGROUPS)
    return Outcome(key=key, label=_opt(t, "label", where, str, key), table=table, select=select,
                   measure=measure,
                   better=_choice(_req(t, "better", where), f"{where}.better", ("lower", "higher")),
                   unit=_opt(t, "unit", where, str, ""), margin=margin, subgroups=subgroups,
                   control_risks=check_control_risks(t.get("control_risks"),
                                                     f"{where}.control_risks", measure))


def _claim(i: int, t: dict, outcomes: dict, seen: set) -> Claim:
    where = f"claims[{i}]"
    _unknown_keys(t, ("id", "text", "outcomes", "population", "expects", "missing"), where)
    cid = _req(t, "id", where)
    if cid in seen:
        raise SpecError(f"{where}.id: duplicate claim id {cid!r}")
    seen.add(cid)
    outs = _str_list(_req(t, "outcomes", where, (list, str)), f"{where}.outcomes")
    # an empty list is allowed: the claim is then "no data in this review" (say why in `missing`)
    for o in outs:
        if o not in outcomes:
            raise SpecError(f"{where}.outcomes (claim {cid!r}): unknown outcome {o!r}; "
                            f"defined outcomes: {', '.join(outcomes)}")
    return Claim(id=cid, text=_req(t, "text", where), outcomes=outs,
                 population=_str_list(_opt(t, "population", where, (list, str), []),
                                      f"{where}.population"),
                 expects=_choice(_req(t, "expects", where), f"{where}.expects", EXPECTS),
                 missing=_opt(t, "missing", where, str, ""))


def _direction(i: int, t: dict, outcomes: dict) -> Direction:
    where = f"directions[{i}]"
    _unknown_keys(t, ("study", "outcome", "comparator", "dose", "direction", "quote"), where)
    dose = t.get("dose")
    if dose is not None:
        if not (isinstance(dose, list) and len(dose) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                        and math.isfinite(x) for x in dose)):
            raise SpecError(f"{where}.dose: must be [min, max] in mg/day, got {dose!r}")
        dose = (float(dose[0]), float(dose[1]))
    return Direction(study=_req(t, "study", where), outcome=_req(t, "outcome", where),
                     comparator=_opt(t, "comparator", where, str, "placebo"), dose=dose,
                     direction=_choice(_req(t, "direction", where), f"{where}.direction",
                                       DIRECTIONS),
                     quote=_req(t, "quote", where))


def parse_spec(raw: dict, path: str | Path = "review.toml", sha256: str = "") -> ReviewSpec:
    """Validate a parsed TOML mapping into a :class:`ReviewSpec`.

    Examples
    --------
    >>> spec = parse_spec({
    ...     "review": {"title": "T", "drug": "d"},
    ...     "data": {"efficacy": ["e.csv"]},
    ...     "outcomes": {"TST": {"table": "efficacy", "select": {"outcome": ["TST"]},
    ...                          "measure": "MD", "better": "higher"}},
    ...     "claims": [{"id": "c1", "text": "d increases TST", "outcomes": ["TST"],
    ...                 "expects": "benefit"}]})
    >>> spec.method, spec.test, [c.id for c in spec.claims]
    ('REML', 'knha', ['c1'])
    """
    path = Path(path)
    if not isinstance(raw, dict):
        raise SpecError("the spec must be a TOML table")
    _unknown_keys(raw, ("review", "data", "analysis", "verdict", "outcomes", "claims",
                        "directions", "lhh", "grade", "labels", "dose_response"), "spec")
    review = _req(raw, "review", "spec", dict)
    data = _req(raw, "data", "spec", dict)
    _unknown_keys(data, ("efficacy", "harms", "notes", "risk_of_bias"), "data")
    files = {k: _str_list(data.get(k, []), f"data.{k}") for k in ("efficacy", "harms")}
    if not files["efficacy"] and not files["harms"]:
        raise SpecError("data: name at least one efficacy or harms file")
    an = _opt(raw, "analysis", "spec", dict, {})
    _unknown_keys(an, ("method", "test", "level", "single_study_method", "small_study_min_k",
                       "dose_regression_min_k", "few_studies_test", "few_studies_k",
                       "shared_control"), "analysis")
    ve = _opt(raw, "verdict", "spec", dict, {})
    _unknown_keys(ve, ("min_studies_supported", "count_published_summaries"), "verdict")
    outs_raw = _req(raw, "outcomes", "spec", dict)
    outcomes = {k: _outcome(k, v) for k, v in outs_raw.items()}
    for o in outcomes.values():
        if not files[o.table]:
            raise SpecError(f"outcomes.{o.key}.table: {o.table!r} but data.{o.table} names no file")
    claims_raw = _req(raw, "claims", "spec", list)
    if not claims_raw:
        raise SpecError("claims: name at least one claim")
    seen: set = set()
    claims = tuple(_claim(i, _typed(c, f"claims[{i}]", dict), outcomes, seen)
                   for i, c in enumerate(claims_raw))
    directions = tuple(_direction(i, _typed(d, f"directions[{i}]", dict), outcomes)
                       for i, d in enumerate(_opt(raw, "directions", "spec", list, [])))
    lhh = []
    for i, pair in enumerate(_opt(raw, "lhh", "spec", list, [])):
        where = f"lhh[{i}]"
        pair = _typed(pair, where, dict)
        _unknown_keys(pair, ("benefit", "harm", "population"), where)
        for role in ("benefit", "harm"):
            name = _req(pair, role, where)
            if name not in outcomes:
                raise SpecError(f"{where}.{role}: unknown outcome {name!r}")
        lhh.append({"benefit": pair["benefit"], "harm": pair["harm"],
                    "population": _str_list(pair.get("population", []), f"{where}.population")})
    labels = _opt(raw, "labels", "spec", dict, {})
    for code, text in labels.items():
        _typed(text, f"labels.{code}", str)
    level = float(_opt(an, "level", "analysis", (int, float), 0.95))
    if not 0 < level < 1:
        raise SpecError(f"analysis.level: must be between 0 and 1, got {level}")
    min_k = _opt(ve, "min_studies_supported", "verdict", int, 2)
    if min_k < 1:
        raise SpecError(f"verdict.min_studies_supported: must be >= 1, got {min_k}")
    return ReviewSpec(
        path=path, title=_req(review, "title", "review"), drug=_req(review, "drug", "review"),
        comparator=_opt(review, "comparator", "review", str, "placebo"), data=files,
        notes=_str_list(data.get("notes", []), "data.notes"),
        method=_choice(_opt(an, "method", "analysis", str, "REML"), "analysis.method",
                       tuple(ESTIMATOR_INFO)),
        test=_choice(_opt(an, "test", "analysis", str, "knha"), "analysis.test", tuple(TESTS)),
        level=level,
        single_study_method=_choice(_opt(an, "single_study_method", "analysis", str, "FE"),
                                    "analysis.single_study_method", SINGLE_STUDY_METHODS),
        small_study_min_k=_opt(an, "small_study_min_k", "analysis", int, 10),
        dose_regression_min_k=_opt(an, "dose_regression_min_k", "analysis", int, 3),
        min_studies_supported=min_k,
        count_published_summaries=_opt(ve, "count_published_summaries", "verdict", bool, True),
        outcomes=outcomes, claims=claims, directions=directions, lhh=tuple(lhh), sha256=sha256,
        raw=raw, labels=dict(labels), risk_of_bias=_opt(data, "risk_of_bias", "data", str, ""),
        grade_overrides=check_overrides(_opt(raw, "grade", "spec", dict, {}), outcomes),
        few_studies_test=_choice(_opt(an, "few_studies_test", "analysis", str, "adhoc"),
                                 "analysis.few_studies_test", tuple(TESTS)),
        few_studies_k=_few_k(an),
        shared_control=_choice(_opt(an, "shared_control", "analysis", str, "multilevel"),
                               "analysis.shared_control", ("multilevel", "split")),
        dose_response=dose_response_spec(raw, outcomes))


def _few_k(an: dict) -> int:
    k = _opt(an, "few_studies_k", "analysis", int, 5)
    if k < 2:
        raise SpecError(f"analysis.few_studies_k: must be >= 2, got {k}")
    return k


def load_spec(path: str | Path, *, allow_outside=None) -> ReviewSpec:
    """Read and validate a review spec (TOML).

    Every path the spec names must lie inside the spec's folder (symbolic
    links followed), or inside a folder listed in ``allow_outside``.

    Raises
    ------
    SpecError
        The file is missing or not valid TOML, a key breaks a rule, or a
        path leaves the spec's folder; the message names the key.

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> spec = load_spec(data_path("pregabalin_review.toml"))
    >>> len(spec.claims)
    10
    """
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"review spec {str(path)!r} cannot be read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"review spec {path.name!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"review spec {path.name!r} nests tables or arrays too deeply to "
                        "be a review spec") from None
    spec = parse_spec(raw, path, hashlib.sha256(content).hexdigest())
    spec = replace(spec, allow_outside=allowed_roots(allow_outside))
    for key, name in spec_paths(spec).items():
        spec.file(key, name)
    return spec
