"""Shipped datasets: BCG and the pregabalin evidence (shipped unchanged)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sleepmeta.data import CITATION, bcg, data_path, pregabalin

SHARED = Path(__file__).resolve().parents[3] / "shared" / "evidence"


def test_bcg_columns_and_derived():
    df = bcg()
    assert len(df) == 13
    # Colditz 1994 / dat.bcg trial 1: Aronson 1948, 4/123 vaccinated, 11/139 not
    first = df.iloc[0]
    assert first["study"] == "Aronson 1948" and first["n1"] == 4 + 119 and first["n2"] == 11 + 128
    assert (df["n1"] == df["tpos"] + df["tneg"]).all() and (df["n2"] == df["cpos"] + df["cneg"]).all()
    assert "JAMA" in CITATION["bcg"] and "271" in CITATION["bcg"]


def test_pregabalin_frames():
    ev = pregabalin()
    # line counts of the shipped CSVs: 39 + 36 + 2 efficacy rows, 96 + 30 harms rows
    assert len(ev.efficacy) == 39 + 36 + 2 and len(ev.harms) == 96 + 30
    assert ev.efficacy["row_id"].is_unique and ev.harms["row_id"].is_unique
    assert set(ev.published["table"]) == {"efficacy", "harms"}
    assert ev.published["notes"].str.contains("pooled", case=False).all()
    assert "Numbers are copied as printed" in ev.dictionary
    assert "Schedule V" in ev.dependence
    ohta = ev.harms[(ev.harms.study_id == "Ohta 2012") & (ev.harms.event == "dizziness")].iloc[0]
    assert (ohta.events_treat, ohta.n_treat, ohta.events_ctrl, ohta.n_ctrl) == (74, 250, 15, 248)


PINNED = json.loads((Path(__file__).resolve().parent / "evidence_sha256.json").read_text())


def test_shipped_files_match_the_pinned_evidence_hashes():
    # the sha256 of each file of the evidence folder, pinned when it was copied
    shipped = sorted(p.name for p in data_path("pregabalin").iterdir())
    assert shipped == sorted(PINNED["sha256"])  # the review's own RoB table lives beside the spec
    for name, digest in PINNED["sha256"].items():
        assert hashlib.sha256(data_path(f"pregabalin/{name}").read_bytes()).hexdigest() == digest


@pytest.mark.skipif(not SHARED.is_dir(), reason=(
    "the evidence folder the shipped data was copied from (shared/evidence, beside the "
    "repository) is not on this machine; the shipped files were checked against the pinned "
    "hashes in tests/data/evidence_sha256.json instead"))
def test_shipped_files_are_byte_identical_to_the_evidence():
    for src in sorted(SHARED.iterdir()):
        shipped = data_path(f"pregabalin/{src.name}")
        assert hashlib.sha256(shipped.read_bytes()).digest() == \
            hashlib.sha256(src.read_bytes()).digest(), src.name
