"""Risk-of-bias tables: validation (each rule), look-ups and the shipped table."""

from __future__ import annotations

import pandas as pd
import pytest

from sleepmeta.data import data_path, pregabalin
from sleepmeta.errors import SpecError
from sleepmeta.review.rob import DOMAINS, check_rob, read_rob


def _row(**kw):
    base = {"study_id": "A", "source": "https://example.org", **{d: "low" for d in DOMAINS},
            "overall": "low"}
    base.update(kw)
    return base


def test_valid_table_and_lookup_by_outcome():
    rob = check_rob(pd.DataFrame([_row(), _row(outcome="WASO", selection="some concerns",
                                               overall="some concerns")]), studies={"A"})
    assert rob.judgement("A") == "low"
    assert rob.judgement("A", outcome="WASO") == "some concerns"
    assert rob.judgement("A", outcome="TST") == "low"  # falls back to the study row
    assert rob.judgement("Z") == "not assessed"
    assert rob.not_assessed(["A", "Z"]) == ["Z"]


@pytest.mark.parametrize("kw, match", [
    ({"study_id": "Nobody 1999"}, "row 2 .*unknown study"),
    ({"measurement": "unclear"}, "measurement: unknown judgement 'unclear'"),
    ({"overall": "moderate"}, "overall: unknown judgement"),
    ({"source": ""}, "source: a judgement"),
    ({"randomisation": "high", "overall": "some concerns"}, "any high domain"),
    ({"missing_data": "some concerns", "overall": "low"}, "every domain judged 'low'"),
    ({"overall": "not assessed"}, "give the overall judgement"),
])
def test_each_rule_names_row_and_column(kw, match):
    with pytest.raises(SpecError, match=match):
        check_rob(pd.DataFrame([_row(**kw)]), studies={"A"})


def test_unknown_domain_column_and_duplicates():
    with pytest.raises(SpecError, match="unknown column 'blinding'"):
        check_rob(pd.DataFrame([_row(blinding="low")]))
    with pytest.raises(SpecError, match="row 3 .*duplicate"):
        check_rob(pd.DataFrame([_row(), _row()]))


def test_missing_domains_are_not_assessed_and_cannot_be_low_overall():
    rob = check_rob(pd.DataFrame([{"study_id": "A", "randomisation": "some concerns",
                                   "overall": "some concerns", "source": "x"}]))
    assert rob.judgement("A", "measurement") == "not assessed"
    with pytest.raises(SpecError, match="'low' needs every domain"):
        check_rob(pd.DataFrame([{"study_id": "A", "randomisation": "low", "overall": "low",
                                 "source": "x"}]))


def test_shipped_table_names_only_trials_of_the_evidence():
    ev = pregabalin()
    studies = set(ev.efficacy["study_id"]) | set(ev.harms["study_id"])
    rob = read_rob(data_path("pregabalin_risk_of_bias.csv"), studies)
    t = rob.table
    # every independent trial of the shipped evidence has a row (pooled summaries do not)
    trials = {s for df in (ev.efficacy, ev.harms) for s in
              df.loc[~df["notes"].fillna("").str.contains("pooled", case=False), "study_id"]}
    assert trials <= set(t["study_id"])
    # every judgement other than "not assessed" has a support text and a source
    for d in (*DOMAINS, "overall"):
        judged = t[t[d] != "not assessed"]
        assert (judged[f"{d}_support"].str.len() > 0).all(), d
        assert (judged["source"].str.len() > 0).all(), d
    # the source prints that Boyle 2012's placebo comparison was not randomised
    assert rob.judgement("Boyle 2012", "randomisation") == "high"
    assert rob.judgement("Boyle 2012") == "high"


def test_read_rob_missing_file(tmp_path):
    with pytest.raises(SpecError, match="data.risk_of_bias: file 'no.csv' not found"):
        read_rob(tmp_path / "no.csv")


# --- hostile tables (a RoB file may come from someone else; this found an empty file raising
# pandas' EmptyDataError): a SpecError or a table, never
# another exception, within a time bound
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz._limits import fuzz_settings, within  # noqa: E402

_CELL = st.one_of(st.sampled_from(["low", "some concerns", "high", "not assessed", "", "A",
                                   "https://example.org"]), st.text(max_size=12))


@fuzz_settings(60)
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.lists(_CELL, min_size=1, max_size=10), min_size=1, max_size=5)
                 .map(lambda rows: "\n".join(",".join(f'"{c}"' for c in r) for r in
                                             [["study_id", "source", *DOMAINS, "overall"]] + rows)
                      .encode("utf-8", "surrogatepass"))))
def test_any_file_gives_a_table_or_a_spec_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("rob") / "rob.csv"
    try:
        path.write_bytes(content)
    except UnicodeEncodeError:
        return
    with within(20, "read_rob"):
        try:
            read_rob(path, studies={"A"})
        except SpecError:
            pass
