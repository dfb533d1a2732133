"""Readers and writers: round trips on files the tests write, and malformed files."""

from __future__ import annotations

import pandas as pd
import pytest

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep import (
    Hypnogram,
    read_hypnogram,
    read_hypnogram_csv,
    read_hypnogram_edf,
    read_hypnogram_xml,
    write_hypnogram,
)
from sleepmeta.sleep.simulate import simulate_nights

NIGHT = Hypnogram(
    ["W", "W", "N1", "N2", "N2", "N3", "N3", "N2", "R", "R", "W", "ART", "N2", "UNS", "W"],
    start="2024-05-01 22:30:00",
)


@pytest.mark.parametrize("suffix", [".csv", ".edf", ".xml"])
@pytest.mark.parametrize("epoch", [20.0, 30.0, 60.0])
def test_round_trip(tmp_path, suffix, epoch):
    night = Hypnogram(NIGHT.codes, epoch_seconds=epoch, start=NIGHT.start)
    path = tmp_path / f"night{suffix}"
    write_hypnogram(night, path)
    options = {"epoch_seconds": epoch} if suffix == ".edf" else {}
    back = read_hypnogram(path, **options)
    assert back.codes.tolist() == night.codes.tolist()
    assert back.epoch_seconds == epoch and back.name == "night"
    if suffix != ".xml":  # NSRR XML carries no date
        assert back.start == night.start
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_round_trip_simulated_night(tmp_path):
    night = simulate_nights(1, hours=2, seed=4, artefact_rate=0.05)[0]
    for suffix in (".csv", ".edf", ".xml"):
        write_hypnogram(night, tmp_path / f"x{suffix}")
        assert read_hypnogram(tmp_path / f"x{suffix}").codes.tolist() == night.codes.tolist()


def test_csv_single_stage_column_and_headerless(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("Stage\nW\nS1\nS4\nREM\n")
    assert read_hypnogram_csv(p).codes.tolist() == [0, 1, 3, 4]
    q = tmp_path / "b.txt"
    q.write_text("0\n2\n2\n4\n")
    with pytest.raises(HypnogramError, match="bare digits.*pass coding='rk'"):
        read_hypnogram(q, epoch_seconds=20)  # 4 is REM for YASA, stage 4 for Sleep-EDF: refuse to guess
    h = read_hypnogram(q, epoch_seconds=20, coding="yasa")
    assert h.codes.tolist() == [0, 2, 2, 4] and h.epoch_seconds == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("onset,duration,stage\n0,30,W\n30,30,N2\n60,20,N2\n", r"line 4: duration 20 s differs from 30 s on line 2"),
        ("onset,stage\n0,W\n30,N2\n90,N2\n", r"line 4: onset 90 s, expected 60 s"),
        ("stage\nW\nN2\nN7\n", r"line 4: unknown sleep stage 'N7'"),
        ("stage\nW\n\nN2\nX\n", r"line 5: unknown sleep stage 'X'"),
        ("stage,onset\nW,0\nN2\n", r"line 3: 1 fields, header has 2"),
        ("onset,stage\n0,W\nabc,N2\n", r"line 3: onset 'abc' is not a number"),
        ("", r"empty file"),
        ("stage\n", r"header only"),
        ("W,N2\nN2,N2\n", r"line 1: expected one stage per line"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, text, message):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(HypnogramError, match=rf"file '.*bad.csv': {message}"):
        read_hypnogram_csv(p)


def test_csv_epoch_length_disagrees_with_argument(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("onset,duration,stage\n0,30,W\n30,30,N2\n")
    with pytest.raises(HypnogramError, match=r"epochs of 30 s in the file, but epoch_seconds=20"):
        read_hypnogram_csv(p, epoch_seconds=20)


def _edf(path, annotations, start="2024-01-01 23:00"):
    pyedflib = pytest.importorskip("pyedflib")
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setStartdatetime(pd.Timestamp(start).to_pydatetime())
    for onset, duration, text in annotations:
        writer.writeAnnotation(onset, duration, text)
    writer.close()


def test_sleep_edf_style_file(tmp_path):
    p = tmp_path / "SC4001E0-Hypnogram.edf"
    _edf(p, [(0, 60, "Sleep stage W"), (60, 30, "Sleep stage 1"), (90, 90, "Sleep stage 4"),
             (180, 30, "Sleep stage R"), (210, 30, "Movement time"), (240, 60, "Sleep stage ?")])
    h = read_hypnogram_edf(p)
    # 60 s of W = 2 epochs, stage 4 -> N3 (3 epochs), movement time -> artefact
    assert h.codes.tolist() == [0, 0, 1, 3, 3, 3, 4, -1, -2, -2]
    assert h.start == pd.Timestamp("2024-01-01 23:00")


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ([(0, 60, "Sleep stage W"), (60, 45, "Sleep stage 2")],
         r"annotation 2 \('Sleep stage 2' at 60 s\): duration 45 s is not a positive whole number"),
        ([(0, 60, "Sleep stage W"), (90, 30, "Sleep stage 2")], r"annotation 2 .* leaving a gap after"),
        ([(0, 60, "Sleep stage W"), (30, 30, "Sleep stage 2")], r"annotation 2 .* an overlap with"),
        ([(0, 30, "Sleep stage W"), (30, 30, "Snoring")], r"annotation 2 \('Snoring' at 30 s\): not a sleep stage"),
    ],
)
def test_malformed_edf_names_annotation(tmp_path, annotations, message):
    p = tmp_path / "bad.edf"
    _edf(p, annotations)
    with pytest.raises(HypnogramError, match=message):
        read_hypnogram_edf(p)


def test_edf_ignore_and_unreadable(tmp_path):
    p = tmp_path / "x.edf"
    _edf(p, [(0, 30, "Lights off"), (0, 30, "Sleep stage W"), (30, 30, "Sleep stage 2")])
    assert read_hypnogram_edf(p, ignore=["Lights off"]).codes.tolist() == [0, 2]
    junk = tmp_path / "junk.edf"
    junk.write_text("not an edf file")
    with pytest.raises(HypnogramError, match=r"file '.*junk.edf': not a readable EDF"):
        read_hypnogram_edf(junk)


_XML = """<?xml version="1.0" encoding="UTF-8"?>
<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>
<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>
<Duration>32000</Duration><ClockTime>00.00.00 22.15.00</ClockTime></ScoredEvent>
{events}
</ScoredEvents></PSGAnnotation>
"""


def _event(concept, start, duration, etype="Stages|Stages"):
    return (f"<ScoredEvent><EventType>{etype}</EventType><EventConcept>{concept}</EventConcept>"
            f"<Start>{start}</Start><Duration>{duration}</Duration></ScoredEvent>")


def test_nsrr_xml_file(tmp_path):
    events = [_event("Wake|0", 0, 60), _event("Stage 2 sleep|2", 60, 30),
              _event("Arousal|Arousal ()", 70, 5, etype="Arousals|Arousals"),
              _event("Stage 4 sleep|4", 90, 30), _event("REM sleep|5", 120, 30),
              _event("Movement|6", 150, 30), _event("Unscored|9", 180, 30)]
    p = tmp_path / "shhs1-200001-nsrr.xml"
    p.write_text(_XML.format(events="\n".join(events)))
    # NSRR codes: 0 W, 2 N2, 4 (R&K stage 4) -> N3, 5 REM, 6 movement -> ART, 9 unscored
    assert read_hypnogram_xml(p).codes.tolist() == [0, 0, 2, 3, 4, -1, -2]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([_event("Wake|0", 0, 30), _event("Stage 8 sleep|8", 30, 30)],
         r"ScoredEvent 3 \('Stage 8 sleep\|8', Start=30\): unknown stage concept"),
        ([_event("Wake|0", 0, 30), _event("Stage 2 sleep|2", 30, 20)],
         r"ScoredEvent 3 .*duration 20 s is not a positive whole number of 30-s epochs"),
        ([_event("Wake|0", 0, 30), _event("Stage 2 sleep|2", "x", 30)], r"ScoredEvent 3 .*Start 'x' is not a number"),
        ([_event("Wake|0", 0, 30), _event("Stage 2 sleep|2", 60, 30)], r"ScoredEvent 3 .*gap"),
        ([], r"no stage events"),
        ([_event("Wake|0", 0, 0.0005)],  # rounds to no epoch at all: never an empty night
         r"ScoredEvent 2 .*duration 0.0005 s is not a positive whole number of 30-s epochs"),
    ],
)
def test_malformed_xml_names_event(tmp_path, events, message):
    p = tmp_path / "bad.xml"
    p.write_text(_XML.format(events="\n".join(events)))
    with pytest.raises(HypnogramError, match=message):
        read_hypnogram_xml(p)


def test_xml_not_well_formed_names_line(tmp_path):
    p = tmp_path / "broken.xml"
    p.write_text("<PSGAnnotation>\n<ScoredEvents>\n<ScoredEvent>\n</PSGAnnotation>\n")
    with pytest.raises(HypnogramError, match=r"not well-formed XML at line 4"):
        read_hypnogram_xml(p)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(HypnogramError, match=r"unknown hypnogram format '.json'"):
        read_hypnogram(tmp_path / "a.json")
    with pytest.raises(HypnogramError, match=r"no such file"):
        read_hypnogram(tmp_path / "nope.csv")
    with pytest.raises(HypnogramError, match=r"unknown hypnogram format"):
        write_hypnogram(NIGHT, tmp_path / "a.json")


def test_a_trailing_unscored_annotation_may_end_mid_epoch(tmp_path):
    # a Sleep-EDF recording can stop inside its final 'Sleep stage ?' stretch: 75 s = 2 whole epochs
    # and a partial one, which is dropped; a scored stage of broken length stays an error
    p = tmp_path / "end.edf"
    _edf(p, [(0, 60, "Sleep stage W"), (60, 30, "Sleep stage 2"), (90, 75, "Sleep stage ?")])
    assert read_hypnogram_edf(p).codes.tolist() == [0, 0, 2, -2, -2]
    _edf(p, [(0, 60, "Sleep stage W"), (60, 45, "Sleep stage 2")])
    with pytest.raises(HypnogramError, match="duration 45 s is not a positive whole number"):
        read_hypnogram_edf(p)
