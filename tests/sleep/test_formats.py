"""Scoring formats, written in the layouts their documentation describes, and lights times.

The files are built in the tests from the published layouts (NSRR XML and
its older SDO/SRO concept names, Compumedics Profusion CMPStudyConfig,
Embla SLEEP-S0 event types, Sleep-EDF EDF+ annotations and R&K digits,
luna/YASA one stage per line); expected stages are read off the layouts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.errors import HypnogramError, InputError
from sleepmeta.sleep import Hypnogram, night_table, read_hypnogram, read_nights
from sleepmeta.sleep.io_xml import read_hypnogram_xml


def _nsrr(events, epoch="<EpochLength>30</EpochLength>"):
    body = "".join(
        f"<ScoredEvent><EventType>{t}</EventType><EventConcept>{c}</EventConcept>"
        f"<Start>{s}</Start><Duration>{d}</Duration></ScoredEvent>" for t, c, s, d in events
    )
    return f'<?xml version="1.0"?><PSGAnnotation>{epoch}<ScoredEvents>{body}</ScoredEvents></PSGAnnotation>'


def test_nsrr_sdo_and_sro_namings(tmp_path):
    sdo = [("", "SDO:WakeState", 0, 60), ("", "SDO:NonRapidEyeMovementSleep-N2", 60, 30),
           ("", "SDO:NonRapidEyeMovementSleep-N4", 90, 30), ("", "SDO:RapidEyeMovementSleep", 120, 30)]
    p = tmp_path / "shhs.xml"
    p.write_text(_nsrr(sdo))
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["W", "W", "N2", "N3", "R"] and h.format == "NSRR XML (SDO naming)"
    sro = [("", "SRO:Wake", 0, 30), ("", "SRO:Stage1Sleep", 30, 30), ("", "SRO:Stage34Sleep", 60, 30),
           ("", "SRO:RapidEyeMovement", 90, 30)]
    p.write_text(_nsrr(sro))
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["W", "N1", "N3", "R"] and h.format == "NSRR XML (SRO naming)"


def test_nsrr_concepts_without_their_code(tmp_path):
    # luna's NSRR remapping table lists 'Wake' beside 'Wake|0' and 'Unscored' beside 'Unscored|9'
    events = [("Stages|Stages", "Wake", 0, 60), ("Stages|Stages", "Stage 2 sleep", 60, 30),
              ("Stages|Stages", "REM sleep|5", 90, 30), ("Stages|Stages", "Movement", 120, 30),
              ("Stages|Stages", "Wake|0", 150, 30), ("Stages|Stages", "Unscored", 180, 30)]
    p = tmp_path / "n.xml"
    p.write_text(_nsrr(events))
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["W", "W", "N2", "R", "ART", "W", "UNS"] and h.format == "NSRR XML"
    p.write_text(_nsrr([("Stages|Stages", "Stage 9 sleep", 0, 30)]))
    with pytest.raises(HypnogramError, match="unknown stage concept 'Stage 9 sleep'"):
        read_hypnogram(p)


def test_nsrr_empty_epoch_length_is_30_s_and_lights_events(tmp_path):
    events = [("Stages|Stages", "Wake|0", 100, 90), ("Stages|Stages", "Stage 2 sleep|2", 190, 60),
              ("Stages|Stages", "REM sleep|5", 250, 30), ("Stages|Stages", "Wake|0", 280, 60),
              ("", "Lights off|LightsOff", 130, 0), ("", "Lights on|LightsOn", 310, 0)]
    p = tmp_path / "n.xml"
    p.write_text(_nsrr(events, epoch="<EpochLength/>"))
    h = read_hypnogram_xml(p)
    assert h.epoch_seconds == 30.0 and h.n_epochs == 8
    # lights relative to the first stage event (Start 100): off at 30 s, on at 210 s
    assert (h.lights_off, h.lights_on, h.lights_source) == (30.0, 210.0, "file")
    row = night_table(h).iloc[0]
    assert row["TIB"] == 3.0 and row["SOL"] == 1.0 and row["lights"] == "file"  # epochs 1..6


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([("Stages|Stages", "Wake|0", 0, 3e13)], r"claim 1e\+12 epochs .* nothing was allocated"),
        ([("Stages|Stages", "Wake|0", 0, 1e300)], r"claim 3.33e\+298 epochs"),
        ([("Stages|Stages", "Wake|0", 0, 30), ("Stages|Stages", "Wake|0", 60, 30),
          ("Stages|Stages", "Wake|0", 30, 30)], r"ScoredEvent 3 .*out of order"),
        ([("Stages|Stages", "Wake|0", 0, 60), ("", "Lights off", 0, 0), ("", "Lights on", 900, 0)],
         r"lights annotations: .*lights_on at 900 s is outside the recording"),
        ([("Stages|Stages", "Wake|0", 0, 60), ("", "Lights off", 50, 0), ("", "Lights on", 20, 0)],
         r"lights annotations: .*not after lights_off"),
    ],
)
def test_nsrr_bad_files_name_the_event(tmp_path, events, message):
    p = tmp_path / "bad.xml"
    p.write_text(_nsrr(events))
    with pytest.raises(HypnogramError, match=r"file '.*bad.xml': .*" + message):
        read_hypnogram(p)


_PROFUSION = """<?xml version="1.0" encoding="UTF-8"?>
<CMPStudyConfig><EpochLength>{epoch}</EpochLength>
<ScoredEvents>
<ScoredEvent><Name>Lights Off</Name><Start>30</Start><Duration>0</Duration></ScoredEvent>
<ScoredEvent><Name>Arousal</Name><Start>75</Start><Duration>5</Duration></ScoredEvent>
</ScoredEvents>
<SleepStages>{stages}</SleepStages></CMPStudyConfig>
"""


def test_profusion_stages_directly_under_the_root_and_empty_epoch_length(tmp_path):
    # the NSRR wiki's "Compumedics Annotation Format" lists <SleepStage> digits; an empty
    # <EpochLength/> means 30 s. Stages: W N2 N2 R 9 9 (trailing 'not scored' -> outside the night)
    p = tmp_path / "p.xml"
    stages = "".join(f"<SleepStage>{d}</SleepStage>" for d in [0, 2, 2, 5, 9, 9])
    p.write_text(f"<CMPStudyConfig><EpochLength/>{stages}</CMPStudyConfig>")
    h = read_hypnogram(p)
    assert h.epoch_seconds == 30.0 and h.labels.tolist() == ["W", "N2", "N2", "R", "UNS", "UNS"]
    row = night_table(h).iloc[0]
    assert (row["TIB"], row["TST"], row["lights"]) == (2.0, 1.5, "unscored ends")
    p.write_text("<CMPStudyConfig><EpochLength>30</EpochLength><SleepStages/></CMPStudyConfig>")
    with pytest.raises(HypnogramError, match="<SleepStages> holds no <SleepStage> element"):
        read_hypnogram(p)


def test_profusion_digits_are_rk_and_lights_off_event(tmp_path):
    stages = "".join(f"<SleepStage>{d}</SleepStage>" for d in [0, 0, 1, 2, 3, 4, 5, 6, 9])
    p = tmp_path / "cfs-visit5-800002-profusion.xml"
    p.write_text(_PROFUSION.format(epoch=30, stages=stages))
    h = read_hypnogram(p)
    # Profusion: 0 W, 1-4 R&K stages (3 and 4 are N3), 5 REM, 6 movement, 9 unscored
    assert h.labels.tolist() == ["W", "W", "N1", "N2", "N3", "N3", "R", "ART", "UNS"]
    assert h.format == "Compumedics Profusion XML" and h.lights_off == 30.0 and h.lights_on is not None
    bad = _PROFUSION.format(epoch=30, stages="<SleepStage>0</SleepStage><SleepStage>7x</SleepStage>")
    p.write_text(bad)
    with pytest.raises(HypnogramError, match=r"<SleepStage> 2 \(epoch 1\): '7x' is not a Profusion stage"):
        read_hypnogram(p)


_EMBLA = """<?xml version="1.0"?>
<EventExport><Events>
<Event><Type>LIGHTS-OFF</Type><StartTime>2024-03-01T22:59:30</StartTime><StopTime>2024-03-01T22:59:30</StopTime></Event>
<Event><Type>SLEEP-S0</Type><StartTime>2024-03-01T22:59:00</StartTime><StopTime>2024-03-01T23:00:00</StopTime></Event>
<Event><Type>SLEEP-S2</Type><StartTime>2024-03-01T23:00:00</StartTime><StopTime>2024-03-01T23:00:30</StopTime></Event>
<Event><Type>AROUSAL</Type><StartTime>2024-03-01T23:00:10</StartTime><StopTime>2024-03-01T23:00:13</StopTime></Event>
<Event><Type>SLEEP-S4</Type><StartTime>2024-03-01T23:00:30</StartTime><StopTime>2024-03-01T23:01:00</StopTime></Event>
<Event><Type>SLEEP-REM</Type><StartTime>2024-03-01T23:01:00</StartTime><StopTime>2024-03-01T23:01:30</StopTime></Event>
<Event><Type>SLEEP-MT</Type><StartTime>2024-03-01T23:01:30</StartTime><StopTime>2024-03-01T23:02:00</StopTime></Event>
</Events></EventExport>
"""


def test_embla_event_export(tmp_path):
    p = tmp_path / "embla.xml"
    p.write_text(_EMBLA)
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["W", "W", "N2", "N3", "R", "ART"] and h.format == "Embla XML"
    # the lights-off event comes first in the file: times count from it, the night from 22:59:00
    assert h.start == pd.Timestamp("2024-03-01 22:59:00") and h.lights_off == 30.0


def test_embla_aasm_and_short_stage_names_with_seconds(tmp_path):
    # newer Embla/Nox scorings name stages by AASM (SLEEP-WAKE, SLEEP-N1..N3) or short forms,
    # any case; times as Start/Duration seconds
    p = tmp_path / "nox.xml"
    events = [("sleep-wake", 0, 60), ("SLEEP-N1", 60, 30), ("Sleep-N2", 90, 30), ("SLEEP-3", 120, 30),
              ("SLEEP-R", 150, 30), ("SLEEP-U", 180, 30), ("Lights-On", 180, 0)]
    body = "".join(f"<Event><EventType>{t}</EventType><Start>{a}</Start><Duration>{d}</Duration></Event>"
                   for t, a, d in events)
    p.write_text(f"<Scoring><Events>{body}</Events></Scoring>")
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["W", "W", "N1", "N2", "N3", "R", "UNS"] and h.format == "Embla XML"
    # lights on at 180 s ends the night before the unscored epoch; lights off defaults to the start
    assert (h.lights_off, h.lights_on, h.lights_source) == (0.0, 180.0, "file")
    p.write_text("<Scoring><Events><Event><Type>SLEEP-N4X</Type><Start>0</Start><Duration>30</Duration>"
                 "</Event></Events></Scoring>")
    with pytest.raises(HypnogramError, match=r"<Event> 1 \('SLEEP-N4X'\): unknown Embla stage 'SLEEP-N4X'"):
        read_hypnogram(p)


def test_unknown_xml_names_what_it_found(tmp_path):
    p = tmp_path / "other.xml"
    p.write_text("<Scoring><Epochs><E>1</E></Epochs><Patient/></Scoring>")
    with pytest.raises(HypnogramError, match=r"unknown XML hypnogram layout: found root element <Scoring> "
                                             r"with children <Epochs>, <Patient>"):
        read_hypnogram(p)


def test_sleep_edf_digit_text_needs_a_coding(tmp_path):
    # R&K digits as in Sleep-EDF hypnogram text files: 4 is stage 4 (N3), 5 REM; W/R/M/? letters too
    p = tmp_path / "SC4001E0.txt"
    p.write_text("0\n1\n2\n3\n4\n5\n6\n9\nR\nM\n?\nW\n")
    with pytest.raises(HypnogramError, match=r"line 1: stages are bare digits.*4 is R&K stage 4"):
        read_hypnogram(p)
    h = read_hypnogram(p, coding="rk")
    assert h.labels.tolist() == ["W", "N1", "N2", "N3", "N3", "R", "ART", "UNS", "R", "ART", "UNS", "W"]
    assert h.format == "text, one stage per line, coding 'rk'"
    q = tmp_path / "yasa.txt"
    q.write_text("0\n1\n4\n-1\n")
    assert read_hypnogram(q, coding="yasa").labels.tolist() == ["W", "N1", "R", "ART"]
    with pytest.raises(HypnogramError, match=r"line 3: unknown sleep stage '7'"):
        q.write_text("0\n1\n7\n")
        read_hypnogram(q, coding="yasa")


def test_luna_text_with_headers_and_lights_epochs(tmp_path):
    p = tmp_path / "night.eannot"
    p.write_text("# luna eannot\n# epoch_seconds: 20\nL\nL\nW\nN1\n\nN2\nR\nL\n")
    h = read_hypnogram(p)
    assert h.epoch_seconds == 20 and h.n_epochs == 7
    assert (h.lights_off, h.lights_on) == (40.0, 120.0)
    row = night_table(h).iloc[0]
    assert row["TIB"] == 4 * 20 / 60 and row["SOL"] == 20 / 60
    p.write_text("W\nL\nN2\n")
    with pytest.raises(HypnogramError, match=r"line 2: 'L' \(lights on\) between scored epochs"):
        read_hypnogram(p)


def test_superscript_digit_and_huge_csv_field_are_typed_errors(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("stage\nW\n\u00b2\n")
    with pytest.raises(HypnogramError, match=r"line 3: unknown sleep stage '\u00b2'"):
        read_hypnogram(p)
    p.write_text("stage\nW\n" + "x" * 200_000 + "\n")
    with pytest.raises(HypnogramError, match=r"line 3"):
        read_hypnogram(p)


def test_read_nights_lights_from_meta_and_arguments(tmp_path):
    for name in ("a", "b"):
        Hypnogram(["W"] * 4 + ["N2"] * 8, start="2024-01-01 23:00:00").rename(name)
        from sleepmeta.sleep import write_hypnogram

        write_hypnogram(Hypnogram(["W"] * 4 + ["N2"] * 8, start="2024-01-01 23:00:00"), tmp_path / f"{name}.csv")
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    meta = pd.DataFrame({"file": ["a.csv", "b.csv"], "subject": ["s1", "s2"],
                         "lights_off": ["23:01", None], "lights_on": [None, ""]})
    table = read_nights(files, meta=meta)
    assert table["lights"].tolist() == ["meta", "none (whole recording)"]
    assert table["TIB"].tolist() == [5.0, 6.0] and table["SOL"].tolist() == [1.0, 2.0]
    assert table["format"].tolist() == ["CSV", "CSV"] and "lights_off" in table.columns
    table = read_nights(files, lights_off=60, lights_on=300)
    assert table["lights"].tolist() == ["argument", "argument"] and table["TIB"].tolist() == [4.0, 4.0]
    with pytest.raises(HypnogramError, match=r"file '.*a.csv': argument lights: .*outside the recording"):
        read_nights(files, lights_on=9999)
    for bad in (-30, 0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="epoch_seconds must be a finite number of seconds > 0"):
            read_nights(files, epoch_seconds=bad)


def test_sleep_edf_lights_annotations_and_trailing_unscored(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    p = tmp_path / "SC4001EC-Hypnogram.edf"
    writer = pyedflib.EdfWriter(str(p), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setStartdatetime(pd.Timestamp("2024-01-01 22:00").to_pydatetime())
    for onset, duration, text in [(0, 120, "Sleep stage W"), (120, 60, "Sleep stage 2"),
                                  (180, 30, "Sleep stage R"), (210, 300, "Sleep stage ?"),
                                  (60, 0, "Lights off"), (210, 0, "Lights on")]:
        writer.writeAnnotation(onset, duration, text)
    writer.close()
    h = read_hypnogram(p)
    assert h.format == "Sleep-EDF EDF+" and (h.lights_off, h.lights_on) == (60.0, 210.0)
    row = night_table(h).iloc[0]
    # lights period: epochs 2..6 = W W N2 N2 R; the trailing unscored 5 min are outside it
    assert row["TIB"] == 2.5 and row["SOL"] == 1.0 and row["UNS"] == 0.0 and row["SE"] == 60.0
    # without lights annotations the trailing 'Sleep stage ?' is outside the night (luna's HYPNO:
    # leading/trailing unscored epochs are set to lights on): W W W W N2 N2 R = 3.5 min
    whole = night_table(read_hypnogram(p, ignore=["Lights off", "Lights on"])).iloc[0]
    assert whole["TIB"] == 3.5 and whole["UNS"] == 0.0 and whole["lights"] == "unscored ends"
    assert whole["lights_off"] == 0.0 and whole["lights_on"] == 3.5


def test_lights_round_trip_through_edf_and_xml(tmp_path):
    from sleepmeta.sleep import write_hypnogram

    h = Hypnogram(["UNS", "W", "N2", "N2", "R", "W", "UNS"], start="2024-01-01 23:00").with_lights(30, 180)
    for suffix in (".edf", ".xml"):
        write_hypnogram(h, tmp_path / f"n{suffix}")
        back = read_hypnogram(tmp_path / f"n{suffix}")
        assert (back.lights_off, back.lights_on, back.lights_source) == (30.0, 180.0, "file")
        assert back.codes.tolist() == h.codes.tolist()


def test_nsrr_unsure_stage_is_unscored(tmp_path):
    p = tmp_path / "u.xml"
    p.write_text(_nsrr([("Stages|Stages", "Wake|0", 0, 30), ("Stages|Stages", "Unsure|Unsure", 30, 60)]))
    assert read_hypnogram(p).labels.tolist() == ["W", "UNS", "UNS"]


def test_xml_entity_attacks_are_refused(tmp_path):
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><PSGAnnotation>&l9;</PSGAnnotation>'
    p = tmp_path / "bomb.xml"
    p.write_text(bomb)
    with pytest.raises(HypnogramError, match="bomb.xml"):
        read_hypnogram(p)
    p.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 "<PSGAnnotation><EpochLength>&x;</EpochLength></PSGAnnotation>")
    with pytest.raises(HypnogramError, match="not well-formed XML"):
        read_hypnogram(p)


def test_nsrr_clock_time_gives_the_start_and_places_clock_lights(tmp_path):
    events = _nsrr([("Stages|Stages", "Wake|0", 0, 120), ("Stages|Stages", "Stage 2 sleep|2", 120, 600)])
    events = events.replace("<ScoredEvents>", "<ScoredEvents><ScoredEvent><EventType/><EventConcept>Recording "
                            "Start Time</EventConcept><Start>0</Start><Duration>720</Duration>"
                            "<ClockTime>00.00.00 23.58.00</ClockTime></ScoredEvent>")
    p = tmp_path / "c.xml"
    p.write_text(events)
    h = read_hypnogram(p)
    assert h.start == pd.Timestamp("1985-01-01 23:58:00")  # unknown date: EDF+'s 1 Jan 1985
    # lights off at 00:00 the next morning = 120 s after the start
    assert h.with_lights("00:00").lights_off == 120.0
    from sleepmeta.sleep import write_hypnogram

    dated = Hypnogram(["W", "N2"], start="2024-02-03 22:30:00")
    write_hypnogram(dated, tmp_path / "d.xml")
    assert read_hypnogram(tmp_path / "d.xml").start == pd.Timestamp("2024-02-03 22:30:00")


def test_luna_plain_stage_names():
    from sleepmeta.sleep.labels import to_codes

    assert to_codes(["NREM1", "NREM4", "N4", "Stage2", "U", "M"]).tolist() == [1, 3, 3, 2, -2, -1]


def test_unscored_ends_of_a_file_are_outside_the_night_as_luna_sets_them_to_lights_on(tmp_path):
    # luna HYPNO documentation (Lights Off/Lights On): without lights markers, leading/trailing
    # unscored epochs ('?') are set to L. Night: ? ? W N1 N2 N2 R W MT ? ? ? (30-s epochs)
    p = tmp_path / "n.csv"
    p.write_text("stage\nUNS\nUNS\nW\nN1\nN2\nN2\nR\nW\nMT\nUNS\nUNS\nUNS\n")
    row = read_nights([p]).iloc[0]
    # night = epochs 2..7 (W N1 N2 N2 R W): TIB 3.0, TST 2.0, SOL 0.5, WASO_AASM 0.5 (the final W)
    assert (row["TIB"], row["TST"], row["SOL"], row["WASO_AASM"], row["UNS"], row["ART"]) == (
        3.0, 2.0, 0.5, 0.5, 0.0, 0.0)
    assert row["lights"] == "unscored ends" and (row["lights_off"], row["lights_on"]) == (1.0, 4.0)
    # a meta table that gives lights off only keeps the file's end of the night
    meta = pd.DataFrame({"file": ["n.csv"], "lights_off": [90]})
    row = read_nights([p], meta=meta).iloc[0]
    assert row["lights"] == "meta+unscored ends" and (row["lights_off"], row["lights_on"]) == (1.5, 4.0)
    assert row["TIB"] == 2.5 and row["SOL"] == 0.0
    # the same stages as an array are YASA's input: the whole hypnogram is time in bed
    whole = night_table(read_hypnogram(p).rename("x").with_lights(0, 360)).iloc[0]
    assert whole["TIB"] == 6.0 and whole["UNS"] == 2.5 and whole["ART"] == 0.5


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".xml"])
def test_a_million_epochs_read_in_bounded_time(tmp_path, suffix):
    import time

    # one million 30-s epochs (347 days) as one-stage-per-line text, CSV and Profusion XML; every
    # reader is linear in the epochs (well under a second each here); the bound only rules out hangs
    rng = np.random.default_rng(1)
    digits = rng.integers(0, 6, 1_000_000)
    labels = np.array(["W", "N1", "N2", "N3", "N3", "R"])[digits]
    p = tmp_path / f"long{suffix}"
    if suffix == ".txt":
        p.write_text("# epoch: 30\n" + "\n".join(labels) + "\n")
    elif suffix == ".csv":
        p.write_text("stage\n" + "\n".join(labels) + "\n")
    else:
        p.write_text("<CMPStudyConfig><EpochLength>30</EpochLength><SleepStages>"
                     + "".join(f"<SleepStage>{d}</SleepStage>" for d in digits) + "</SleepStages></CMPStudyConfig>")
    t0 = time.process_time()
    h = read_hypnogram(p)
    assert h.n_epochs == 1_000_000 and h.labels[:5].tolist() == labels[:5].tolist()
    assert time.process_time() - t0 < 60


def test_luna_text_aliases_and_lights_on_epochs(tmp_path):
    # luna HYPNO documentation: stage aliases (NREM2, NR = N2, 'Stage 2 sleep|2', SDO names, REM,
    # missing/unknown = '?') and lights epochs 'L' / 'lights' / 'lights_on' before and after the night
    p = tmp_path / "n.eannot"
    p.write_text("lights\nL\nwake\nNREM1\nNR\nStage 2 sleep|2\nSDO:NonRapidEyeMovementSleep-N3\nREM\nunknown\n"
                 "missing\nW\nlights_on\n")
    h = read_hypnogram(p)
    assert h.labels.tolist() == ["UNS", "UNS", "W", "N1", "N2", "N2", "N3", "R", "UNS", "UNS", "W", "UNS"]
    assert (h.lights_off, h.lights_on, h.lights_source) == (60.0, 330.0, "file")
    row = night_table(h).iloc[0]  # lights period: 9 epochs, 4 asleep, UNS 1.0 min inside it
    assert (row["TIB"], row["TST"], row["UNS"]) == (4.5, 2.5, 1.0)


def test_embla_epoch_length_from_its_events(tmp_path):
    # one event per 20-s epoch and no <EpochLength>: the epochs are 20 s; runs of whole 30-s epochs: 30 s
    p = tmp_path / "e20.xml"
    body = "".join(f"<Event><Type>{t}</Type><Start>{20 * k}</Start><Duration>20</Duration></Event>"
                   for k, t in enumerate(["SLEEP-S0", "SLEEP-S1", "SLEEP-S2", "SLEEP-S2", "SLEEP-REM"]))
    p.write_text(f"<EventExport><Events>{body}</Events></EventExport>")
    h = read_hypnogram(p)
    assert h.epoch_seconds == 20.0 and h.labels.tolist() == ["W", "N1", "N2", "N2", "R"]
    p.write_text("<EventExport><Events><Event><Type>SLEEP-S0</Type><Start>0</Start><Duration>60</Duration>"
                 "</Event><Event><Type>SLEEP-S2</Type><Start>60</Start><Duration>90</Duration></Event>"
                 "</Events></EventExport>")
    h = read_hypnogram(p)
    assert h.epoch_seconds == 30.0 and h.labels.tolist() == ["W", "W", "N2", "N2", "N2"]
