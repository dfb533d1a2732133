"""Risk of bias as data: a RoB 2 table per review, validated once.

The table (CSV, named by the spec's ``[data] risk_of_bias``) has one row per
study, and one more per study and outcome where a judgement differs for that
outcome (RoB 2 judges a result, not a trial: Sterne et al. 2019, BMJ
366:l4898). Columns:

=====================  ==========================================================
``study_id``           as in the evidence tables
``outcome``            empty = every outcome of the study; else an outcome or event
                       value (``WASO``, ``weight_gain``) for which this row holds
``randomisation``      D1, bias arising from the randomisation process
``deviations``         D2, bias due to deviations from intended interventions
``missing_data``       D3, bias due to missing outcome data
``measurement``        D4, bias in measurement of the outcome
``selection``          D5, bias in selection of the reported result
``overall``            the overall judgement
``<domain>_support``   a short support text for each judgement above
``source``             where the support was read (a URL or a citation)
=====================  ==========================================================

Judgements are ``low``, ``some concerns``, ``high`` or ``not assessed`` (the
source read does not support a judgement). The overall judgement follows
RoB 2's algorithm where it is determined (Higgins et al. 2019, Cochrane
Handbook v6.4, section 8.2.4): ``high`` if any domain is high; ``low`` only
if every domain is low; otherwise at least ``some concerns`` (a reviewer may
judge several concerns as high). With some domains not assessed and none high,
the overall judgement cannot be low.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sleepmeta.errors import SpecError
from sleepmeta.review.tables import read_table

__all__ = ["DOMAINS", "DOMAIN_LABELS", "JUDGEMENTS", "RiskOfBias", "check_rob", "read_rob"]

#: The five RoB 2 domains, in order (D1..D5), then the overall judgement.
DOMAINS = ("randomisation", "deviations", "missing_data", "measurement", "selection")
DOMAIN_LABELS = {
    "randomisation": "D1 Randomisation process",
    "deviations": "D2 Deviations from intended interventions",
    "missing_data": "D3 Missing outcome data",
    "measurement": "D4 Measurement of the outcome",
    "selection": "D5 Selection of the reported result",
    "overall": "Overall",
}
#: Valid judgements, best to worst, then "not assessed".
JUDGEMENTS = ("low", "some concerns", "high", "not assessed")
_RANK = {"low": 0, "some concerns": 1, "high": 2}


class RiskOfBias:
    """A validated risk-of-bias table with look-ups by study and outcome.

    Examples
    --------
    >>> rob = check_rob(pd.DataFrame([{"study_id": "A", "randomisation": "high",
    ...                                "overall": "high", "source": "abstract"}]))
    >>> rob.judgement("A", "overall"), rob.judgement("B", "overall")
    ('high', 'not assessed')
    """

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self._rows: dict | None = None  # (study_id, outcome) -> first such row, built once

    def row(self, study: str, outcome: str | None = None) -> dict:
        """The row for ``study`` (the outcome-specific one if any); every domain 'not assessed'
        with an empty support text for a study the table does not name."""
        if self._rows is None:
            self._rows = {}
            for rec in self.table.to_dict("records"):
                self._rows.setdefault((rec["study_id"], rec["outcome"]), rec)
        hit = self._rows.get((study, outcome or ""))
        if hit is None:
            hit = self._rows.get((study, ""))
        if hit is None:
            base = {d: "not assessed" for d in (*DOMAINS, "overall")}
            base.update({f"{d}_support": "not in the risk-of-bias table"
                         for d in (*DOMAINS, "overall")})
            return {"study_id": study, "outcome": outcome or "", "source": "", **base}
        return dict(hit)

    def judgement(self, study: str, domain: str = "overall", outcome: str | None = None) -> str:
        """One judgement (a domain or ``"overall"``)."""
        return str(self.row(study, outcome)[domain])

    def not_assessed(self, studies) -> list[str]:
        """Studies among ``studies`` whose overall judgement is 'not assessed'."""
        return sorted({s for s in studies if self.judgement(s) == "not assessed"})

    def to_records(self) -> list[dict]:
        """The table as a list of plain dicts (for JSON)."""
        return self.table.to_dict("records")


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def check_rob(table: pd.DataFrame, studies=None, where: str = "risk of bias") -> RiskOfBias:
    """Validate a risk-of-bias table (see the module docstring for its columns).

    Parameters
    ----------
    table : DataFrame
        The table as read.
    studies : collection of str, optional
        The review's study ids; a row naming another study is an error.
    where : str
        Names the table in error messages (e.g. the spec key).

    Raises
    ------
    SpecError
        A missing column, an unknown study, an unknown judgement, a duplicate
        row, a judgement without a source, or an overall judgement that
        contradicts the domains; the message names the row and the column.

    Examples
    --------
    >>> check_rob(pd.DataFrame([{"study_id": "A", "randomisation": "bad",
    ...                          "overall": "high", "source": "x"}]))
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: risk of bias row 2 (study 'A'): randomisation: unknown judgement 'bad'; valid: low, some concerns, high, not assessed
    """
    if "study_id" not in table.columns:
        raise SpecError(f"{where}: no column 'study_id'")
    known = {"study_id", "outcome", "source", "overall", "overall_support", *DOMAINS,
             *(f"{d}_support" for d in DOMAINS)}
    extra = sorted(set(map(str, table.columns)) - known)
    if extra:
        raise SpecError(f"{where}: unknown column {extra[0]!r}; valid: "
                        f"study_id, outcome, {', '.join(DOMAINS)}, overall, <domain>_support, "
                        "source")
    rows, seen = [], set()
    study_set = None if studies is None else set(map(str, studies))
    for i, (_, r) in enumerate(table.iterrows()):
        line = i + 2  # the CSV's line (header is line 1)
        study = _cell(r.get("study_id"))
        at = f"{where} row {line} (study {study!r})"
        if not study:
            raise SpecError(f"{where} row {line}: study_id is empty")
        if study_set is not None and study not in study_set:
            raise SpecError(f"{at}: unknown study; it is in no evidence table of this review")
        rec = {"study_id": study, "outcome": _cell(r.get("outcome")),
               "source": _cell(r.get("source"))}
        for d in (*DOMAINS, "overall"):
            j = _cell(r.get(d)).lower() or "not assessed"
            if j not in JUDGEMENTS:
                raise SpecError(f"{at}: {d}: unknown judgement {_cell(r.get(d))!r}; valid: "
                                f"{', '.join(JUDGEMENTS)}")
            rec[d] = j
            rec[f"{d}_support"] = _cell(r.get(f"{d}_support"))
        key = (study, rec["outcome"])
        if key in seen:
            raise SpecError(f"{at}: duplicate row for outcome {rec['outcome'] or '(all)'!r}")
        seen.add(key)
        judged = [d for d in (*DOMAINS, "overall") if rec[d] != "not assessed"]
        if judged and not rec["source"]:
            raise SpecError(f"{at}: source: a judgement ({judged[0]}) needs a source")
        for d in judged:
            if not rec[f"{d}_support"]:
                rec[f"{d}_support"] = ""
        _check_overall(rec, at)
        rows.append(rec)
    cols = ["study_id", "outcome", *DOMAINS, "overall", *(f"{d}_support" for d in DOMAINS),
            "overall_support", "source"]
    return RiskOfBias(pd.DataFrame(rows, columns=cols))


def _check_overall(rec: dict, at: str) -> None:
    """RoB 2's overall rule (Cochrane Handbook v6.4, 8.2.4, Table 8.2.b)."""
    doms = [rec[d] for d in DOMAINS]
    overall = rec["overall"]
    assessed = [_RANK[j] for j in doms if j != "not assessed"]
    worst = max(assessed, default=None)
    if worst == 2 and overall != "high":
        raise SpecError(f"{at}: overall: {overall!r} but a domain is 'high' (RoB 2: any high "
                        "domain makes the overall judgement high)")
    if overall == "low" and (len(assessed) < len(DOMAINS) or worst != 0):
        raise SpecError(f"{at}: overall: 'low' needs every domain judged 'low'")
    if overall == "some concerns" and worst is None:
        raise SpecError(f"{at}: overall: 'some concerns' but no domain is assessed")
    if overall == "not assessed" and worst is not None and len(assessed) == len(DOMAINS):
        raise SpecError(f"{at}: overall: every domain is judged; give the overall judgement")


def read_rob(path: str | Path, studies=None, where: str = "data.risk_of_bias") -> RiskOfBias:
    """Read and validate a risk-of-bias CSV (see :func:`check_rob`).

    Examples
    --------
    >>> from sleepmeta.data import data_path
    >>> rob = read_rob(data_path("pregabalin_risk_of_bias.csv"))
    >>> rob.judgement("Boyle 2012", "randomisation")
    'high'
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{where}: file {path.name!r} not found")
    table = read_table(path, where, lambda p: pd.read_csv(p, dtype=str, keep_default_na=False))
    return check_rob(table, studies, where=f"{where} ({path.name})")
