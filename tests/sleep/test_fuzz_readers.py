"""Fuzz tests for every sleep reader (issues 11 and 18).

Invariant: a reader either returns a night whose endpoints are finite
numbers or NaN (with the ``undefined`` column saying why), or raises a
``sleepmeta.errors`` type - never another exception, never a hang (each
example has a deadline).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleepmeta.errors import SleepmetaError
from sleepmeta.sleep import diary_table, night_table, read_hypnogram, read_sleep_wake
from sleepmeta.sleep.fields import KERNEL_FIELDS

FUZZ = settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])

NUMBERS = st.sampled_from(["0", "30", "60", "-30", "20", "1e300", "3e13", "nan", "inf", "-inf", "", "x",
                           "1e-300", "29.9999", "\u00b2", "0x10", "  45 ", "9" * 400, "-0"])
LABELS = st.sampled_from(["W", "N1", "N2", "N3", "R", "REM", "S1", "S4", "MT", "?", "UNS", "ART", "S", "L",
                          "0", "1", "4", "5", "9", "-2", "\u00b2", "N9", "", "#", "# epoch_seconds: 20",
                          "# coding: rk", "Sleep stage 4", "wake", "\x00", "\u212b", "1e9", "x" * 300])


def _check(read):
    """Run a reader; a result must give finite-or-NaN endpoints, anything raised must be ours."""
    try:
        h = read()
    except SleepmetaError:
        return
    row = night_table(h).iloc[0]
    for key in KERNEL_FIELDS:
        value = float(row[key])
        assert math.isfinite(value) or math.isnan(value), key
        assert not math.isinf(value), key
    assert row["TIB"] > 0


def _write(name: str, data) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(lines=st.lists(LABELS, max_size=40), coding=st.sampled_from([None, "rk", "yasa", "other"]),
       epoch=st.sampled_from([None, 30.0, 20.0]))
def test_text_reader(lines, coding, epoch):
    p = _write("n.txt", "\n".join(lines) + "\n")
    _check(lambda: read_hypnogram(p, coding=coding, epoch_seconds=epoch))


@FUZZ
@given(header=st.sampled_from(["onset,duration,stage", "stage", "Stage,time", "onset,stage", "a,b", ""]),
       rows=st.lists(st.tuples(NUMBERS, NUMBERS, LABELS), max_size=20),
       coding=st.sampled_from([None, "rk"]))
def test_csv_reader(header, rows, coding):
    width = max(1, header.count(",") + 1)
    body = "\n".join(",".join([a, b, c][:width]) for a, b, c in rows)
    p = _write("n.csv", header + "\n" + body + "\n")
    _check(lambda: read_hypnogram(p, coding=coding))


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".txt", ".xml", ".edf", ".eannot"]))
def test_any_bytes_in_any_reader(data, suffix):
    p = _write("junk" + suffix, data)
    _check(lambda: read_hypnogram(p))


CONCEPTS = st.sampled_from(["Wake|0", "Stage 2 sleep|2", "Stage 4 sleep|4", "REM sleep|5", "Unscored|9",
                            "Stage 8 sleep|8", "SDO:WakeState", "SRO:Stage34Sleep", "Lights off", "Lights on",
                            "Arousal|Arousal", "", "Wake|", "Wake|\u00b2"])


@FUZZ
@given(epoch=st.sampled_from(["<EpochLength>30</EpochLength>", "<EpochLength/>", "<EpochLength>0</EpochLength>",
                              "<EpochLength>-30</EpochLength>", "<EpochLength>nan</EpochLength>",
                              "<EpochLength>1e300</EpochLength>", ""]),
       events=st.lists(st.tuples(st.sampled_from(["Stages|Stages", "", "Arousals|Arousals"]), CONCEPTS,
                                 NUMBERS, NUMBERS), max_size=12))
def test_nsrr_xml_reader(epoch, events):
    body = "".join(f"<ScoredEvent><EventType>{t}</EventType><EventConcept>{c}</EventConcept>"
                   f"<Start>{s}</Start><Duration>{d}</Duration></ScoredEvent>" for t, c, s, d in events)
    p = _write("n.xml", f"<PSGAnnotation>{epoch}<ScoredEvents>{body}</ScoredEvents></PSGAnnotation>")
    _check(lambda: read_hypnogram(p))


@FUZZ
@given(epoch=NUMBERS, stages=st.lists(st.sampled_from(["0", "1", "4", "5", "6", "7", "9", "", "x", "-1", "\u00b2"]),
                                      max_size=30),
       lights=st.lists(st.tuples(st.sampled_from(["Lights Off", "Lights On", "Arousal"]), NUMBERS), max_size=3))
def test_profusion_reader(epoch, stages, lights):
    events = "".join(f"<ScoredEvent><Name>{n}</Name><Start>{s}</Start></ScoredEvent>" for n, s in lights)
    body = "".join(f"<SleepStage>{x}</SleepStage>" for x in stages)
    p = _write("p.xml", f"<CMPStudyConfig><EpochLength>{epoch}</EpochLength><ScoredEvents>{events}"
                        f"</ScoredEvents><SleepStages>{body}</SleepStages></CMPStudyConfig>")
    _check(lambda: read_hypnogram(p))


TIMES = st.sampled_from(["2024-03-01T23:00:00", "2024-03-01T23:00:30", "2024-03-01T23:01:00",
                         "2024-03-01T23:00:00+01:00", "", "nonsense", "NaT", "1e300"])


@FUZZ
@given(events=st.lists(st.tuples(st.sampled_from(["SLEEP-S0", "SLEEP-S2", "SLEEP-REM", "SLEEP-S9", "LIGHTS-OFF",
                                                  "LIGHTS-ON", "AROUSAL", "SLEEP-"]),
                                 st.one_of(st.tuples(TIMES, TIMES), st.tuples(NUMBERS, NUMBERS)),
                                 st.booleans()), max_size=10))
def test_embla_reader(events):
    parts = []
    for etype, (a, b), stamps in events:
        when = (f"<StartTime>{a}</StartTime><StopTime>{b}</StopTime>" if stamps
                else f"<Start>{a}</Start><Duration>{b}</Duration>")
        parts.append(f"<Event><Type>{etype}</Type>{when}</Event>")
    p = _write("e.xml", f"<EventExport><Events>{''.join(parts)}</Events></EventExport>")
    _check(lambda: read_hypnogram(p))


@FUZZ
@given(annotations=st.lists(st.tuples(st.sampled_from([0.0, 30.0, 60.0, 90.0, 45.0, 1e6]),
                                      st.sampled_from([30.0, 60.0, 0.0, 45.0, 3e6, -1.0]),
                                      st.sampled_from(["Sleep stage W", "Sleep stage 4", "Sleep stage R",
                                                       "Lights off", "Lights on", "Snore", "Sleep stage ?"])),
                            max_size=8))
def test_edf_reader(annotations):
    pyedflib = pytest.importorskip("pyedflib")
    p = _write("h.edf", b"")
    writer = pyedflib.EdfWriter(str(p), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    for onset, duration, text in annotations:
        writer.writeAnnotation(onset, duration, text)
    writer.close()
    _check(lambda: read_hypnogram(p))


@FUZZ
@given(header=st.sampled_from(["time,state", "state", "timestamp,sleep,extra", "a,b"]),
       rows=st.lists(st.tuples(TIMES, st.sampled_from(["0", "1", "S", "W", "awake", "asleep", "", "2", "x",
                                                       "True", "nan"]), NUMBERS), max_size=15),
       sleep=st.sampled_from([None, 0, 1]), epoch=st.sampled_from([None, 30.0]))
def test_sleep_wake_reader(header, rows, sleep, epoch):
    width = header.count(",") + 1
    body = "\n".join(",".join([a, b, c][:width] if width > 1 else [b]) for a, b, c in rows)
    p = _write("w.csv", header + "\n" + body + "\n")
    _check(lambda: read_sleep_wake(p, sleep=sleep, epoch_seconds=epoch))


DIARY_VALUES = st.sampled_from(["22:45", "23:00", "06:00", "25:99", "", "nan", "NaT", None, float("nan"),
                                pd.NaT, pd.Timestamp("2024-01-01 23:00"), pd.Timestamp("2024-01-02 06:00", tz="UTC"),
                                True, 30, -5, 1e300, "2024-01-01 22:00", [1]])


@FUZZ
@given(values=st.lists(DIARY_VALUES, min_size=7, max_size=7),
       max_hours=st.sampled_from([24.0, float("nan"), 0.0, 1e300, 12]))
def test_diary_table(values, max_hours):
    cols = ["bed_time", "try_time", "sol_minutes", "n_awakenings", "waso_minutes", "final_wake", "out_of_bed"]
    frame = pd.DataFrame([dict(zip(cols, values))], index=["n1"])
    try:
        out = diary_table(frame, max_hours=max_hours)
    except SleepmetaError:
        return
    numbers = out[["TIB", "SOL", "WASO", "TST", "SE", "EMA"]].to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
