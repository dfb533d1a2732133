"""The EDF+ annotation reader: equal to pyedflib's reading, sizes checked before reading."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleepmeta.errors import HypnogramError
from sleepmeta.sleep.edfplus import read_edf_annotations

pyedflib = pytest.importorskip("pyedflib")


def _write(annotations, start=None) -> Path:
    path = Path(tempfile.mkdtemp()) / "a.edf"
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    if start is not None:
        writer.setStartdatetime(start)
    for onset, duration, text in annotations:
        writer.writeAnnotation(onset, duration, text)
    writer.close()
    return path


TEXTS = st.sampled_from(["Sleep stage W", "Sleep stage 4", "Lights off", "Sleep stage ?", "x", "Snore y"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40_000).map(lambda k: k * 0.5), st.sampled_from([0.0, 30.0, 90.0, -1]),
                          TEXTS), min_size=1, max_size=30))
def test_same_annotations_as_pyedflib(annotations):
    path = _write(annotations)
    reader = pyedflib.EdfReader(str(path))
    onsets, durations, texts = reader.readAnnotations()
    start = reader.getStartdatetime()
    reader.close()
    got_start, got_onsets, got_durations, uniques, inverse = read_edf_annotations(path, "f")
    assert got_start == start
    np.testing.assert_allclose(got_onsets, onsets)
    np.testing.assert_allclose(got_durations, np.where(np.asarray(durations) < 0, np.nan, durations))
    assert [uniques[i] for i in inverse] == list(texts)


def _corrupt(path: Path, offset: int, text: bytes) -> Path:
    raw = bytearray(path.read_bytes())
    raw[offset: offset + len(text)] = text
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [
        (236, b"99999999", r"header claims 99,999,999 data records .* nothing was allocated"),
        (252, b"-3  ", r"header field 'number of signals' is -3"),
        (256 + 216, b"-57     ", r"'samples per record of signal 1' is -57"),
        (236, b"abc     ", r"'number of data records' is 'abc', not a whole number"),
        (168, b"31.02.24", r"start date/time '31.02.24'"),
    ],
)
def test_header_claims_are_checked_before_reading(offset, value, message):
    path = _corrupt(_write([(0, 30, "Sleep stage W")]), offset, value)
    with pytest.raises(HypnogramError, match=message):
        read_edf_annotations(path, "file 'a.edf'")


def test_truncated_and_plain_edf_files():
    path = _write([(0, 30, "Sleep stage W")])
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(HypnogramError, match="shorter than a header"):
        read_edf_annotations(path, "f")
    path = _corrupt(_write([(0, 30, "Sleep stage W")]), 192, b"        ")
    with pytest.raises(HypnogramError, match="not an EDF\\+ file"):
        read_edf_annotations(path, "f")


def test_a_million_epoch_hypnogram_reads_in_bounded_time():
    import time

    from sleepmeta.sleep import read_hypnogram

    # 1,000,000 epochs in runs of 10 (100,000 annotations alternating N2 / W); the reader is linear
    # in the annotations (about 10 us each), so this takes about a second
    n, run = 1_000_000, 10
    path = Path(tempfile.mkdtemp()) / "long.edf"
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    for k in range(n // run):
        writer.writeAnnotation(k * run * 30.0, run * 30.0, "Sleep stage W" if k % 2 else "Sleep stage 2")
    writer.close()
    t0 = time.process_time()
    h = read_hypnogram(path)
    assert h.n_epochs == n and h.codes[[0, run]].tolist() == [2, 0]
    assert time.process_time() - t0 < 60  # generous bound: never a hang


def _write_signal_hypnogram(path, digits, *, record_seconds=30, label="Hypnogram", extra_signal=False):
    """An EDF (not EDF+) file whose one signal is the hypnogram, laid out as the EDF specification
    says (256-byte header, 256 bytes per signal, int16 records), one sample per 30-s record."""
    signals = [(label, digits)] + ([("EEG Fpz-Cz", [0] * len(digits))] if extra_signal else [])
    ns = len(signals)

    def field(text, width):
        return str(text).ljust(width)[:width].encode("ascii")

    head = (field("0", 8) + field("X X X X", 80) + field("Startdate 01-JAN-2024 X X X", 80)
            + field("01.01.24", 8) + field("22.00.00", 8) + field(256 * (ns + 1), 8) + field("", 44)
            + field(len(digits), 8) + field(record_seconds, 8) + field(ns, 4))
    cols = [[field(lab, 16) for lab, _ in signals], [field("", 80)] * ns, [field("", 8)] * ns,
            [field(0, 8)] * ns, [field(9, 8)] * ns, [field(0, 8)] * ns, [field(9, 8)] * ns,
            [field("", 80)] * ns, [field(1, 8)] * ns, [field("", 32)] * ns]
    sig = b"".join(b"".join(c) for c in cols)
    data = np.array([list(v) for _, v in signals], dtype="<i2").T.tobytes()
    path.write_bytes(head + sig + data)
    return path


def test_hypnogram_stored_as_an_edf_signal_is_read_with_rk_digits(tmp_path):
    from sleepmeta.sleep import night_table, read_hypnogram

    # EDF+ specification: W,1,2,3,4,R,M coded 0-6 in a signal, 9 unscored; original Sleep-EDF *.hyp
    path = _write_signal_hypnogram(tmp_path / "sc4002e0.hyp", [9, 0, 0, 1, 2, 3, 4, 5, 6, 0, 9, 9])
    h = read_hypnogram(path)
    assert h.format == "EDF hypnogram signal (R&K digits)" and h.epoch_seconds == 30.0
    assert h.labels.tolist() == ["UNS", "W", "W", "N1", "N2", "N3", "N3", "R", "ART", "W", "UNS", "UNS"]
    assert h.start == pd.Timestamp("2024-01-01 22:00:00")
    row = night_table(h).iloc[0]  # night = epochs 1..9 (unscored ends outside): TIB 4.5, N3 1.0, REM 0.5
    assert (row["TIB"], row["N3"], row["REM"], row["lights"]) == (4.5, 1.0, 0.5, "unscored ends")
    with pytest.raises(HypnogramError, match="one sample per 30 s, not the 20-s epochs"):
        read_hypnogram(path, epoch_seconds=20)
    bad = _write_signal_hypnogram(tmp_path / "bad.edf", [0, 7, 8])
    with pytest.raises(HypnogramError, match=r"hypnogram sample 3 \(epoch 2\) is 8, not an R&K stage digit"):
        read_hypnogram(bad)
    two = _write_signal_hypnogram(tmp_path / "two.edf", [0, 1], label="Stages", extra_signal=True)
    with pytest.raises(HypnogramError, match="2 ordinary signals .* labelled 'Hypnogram'"):
        read_hypnogram(two)


def test_bare_digit_annotation_texts_need_a_coding(tmp_path):
    from sleepmeta.sleep import read_hypnogram

    path = tmp_path / "digits.edf"
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    for onset, text in [(0, "0"), (30, "2"), (60, "4"), (90, "5")]:
        writer.writeAnnotation(onset, 30.0, text)
    writer.close()
    with pytest.raises(HypnogramError, match=r"bare digits.*pass coding='rk'.*annotation text '0'"):
        read_hypnogram(path)
    assert read_hypnogram(path, coding="rk").labels.tolist() == ["W", "N2", "N3", "R"]  # R&K: 4 = stage 4
    with pytest.raises(HypnogramError, match=r"'5' is not a stage of coding 'yasa'"):
        read_hypnogram(path, coding="yasa")  # YASA: 4 = REM, and 5 is no stage
