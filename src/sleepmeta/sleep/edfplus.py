"""The annotations of an EDF+ file, read directly from its bytes.

EDF+ (Kemp & Olivan 2003, *Clin Neurophysiol* 114:1755; edfplus.info):
a 256-byte header, 256 bytes per signal, then data records. The signal
labelled ``EDF Annotations`` holds, in every record, Time-stamped
Annotation Lists (TALs): ``+onset[\\x15duration]\\x14text\\x14...\\x00``.
The first TAL of each record keeps time (its text is empty) and is skipped.

This reader takes only what a hypnogram needs (start date-time, onset,
duration and text of each annotation): every size the header claims is
checked against the file before anything is read, the data records are
memory-mapped (a large PSG file is not loaded), and the TALs of all records
are parsed with one regular expression - faster than a general EDF library
for files of annotations only (``benchmarks/bench_sleep.py``).
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from sleepmeta.errors import HypnogramError

# TALs after the padding is dropped, each ended by \xff (a byte UTF-8 text never holds)
_TAL = re.compile(rb"([+-][\d.]+)(?:\x15([\d.]+))?\x14([^\xff]*)\xff")
# the usual TAL: one annotation (or none, for time keeping)
_TAL1 = re.compile(rb"([+-][\d.]+)(?:\x15([\d.]+))?\x14([^\x14\xff]*)\x14\xff")
_SMALL = 16 * 1024 * 1024  # files up to this size are read in one go
_LABEL = b"EDF Annotations"


def read_edf_annotations(path, where: str):
    """``(recording start, onsets, durations, texts, text of each)`` of an EDF+ file.

    ``texts`` are the distinct annotation texts and ``text of each`` the
    index into them of every annotation (each distinct text is decoded
    once). Durations are NaN where an annotation gives none. Raises
    :class:`HypnogramError` naming the header field at fault, and when the
    file has no ``EDF Annotations`` signal.
    """
    kind, found = read_edf_hypnogram(path, where, signal=False)
    return found


def read_edf_hypnogram(path, where: str, *, signal: bool = True):
    """A hypnogram stored either way the EDF+ specification allows.

    Returns ``("annotations", (start, onsets, durations, texts, text of
    each))`` for an EDF+ file with an ``EDF Annotations`` signal (as
    :func:`read_edf_annotations`), or, when ``signal`` is true and the file
    has none, ``("signal", (start, seconds per sample, values))`` for a
    hypnogram stored as an ordinary signal (the EDF+ specification codes
    W, 1, 2, 3, 4, R, M as 0-6 and unscored as 9, one sample per epoch; the
    original Sleep-EDF ``*.hyp`` files). Values are physical (the digital
    samples scaled by the signal's ranges).
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # a hypnogram file is read in one go; of a PSG with signals, only the header (the
            # annotations are mapped below)
            whole = handle.read() if size <= _SMALL else handle.read(256 * 4097)
    except OSError as exc:
        raise HypnogramError(f"{where}: cannot be read: {exc}") from None
    head = whole[:256]
    if len(head) < 256:
        raise HypnogramError(f"{where}: not a readable EDF/EDF+ file: {size} bytes, shorter than a header")
    n_signals = _int(head[252:256], "number of signals", where, 0, 4096)
    header_bytes = _int(head[184:192], "header bytes", where, 256, 256 * 4097)
    if header_bytes != 256 * (n_signals + 1):
        raise HypnogramError(f"{where}: header says {header_bytes} header bytes, but "
                             f"{n_signals} signals need {256 * (n_signals + 1)}")
    plus = head[192:197].startswith(b"EDF+")
    if not plus and not signal:
        raise HypnogramError(f"{where}: not an EDF+ file (reserved field {head[192:236].strip()!r}); "
                             "hypnograms need EDF+ annotations")
    sig = whole[256: header_bytes]
    if len(sig) < 256 * n_signals:
        raise HypnogramError(f"{where}: file ends inside the signal headers")
    labels = [sig[16 * i: 16 * i + 16].strip() for i in range(n_signals)]
    off = 216 * n_signals  # samples per record: 8 bytes per signal after 216 bytes of other fields
    samples = [_int(sig[off + 8 * i: off + 8 * i + 8], f"samples per record of signal {i + 1}", where, 1, 10**8)
               for i in range(n_signals)]
    record_bytes = 2 * sum(samples)
    n_records = _int(head[236:244], "number of data records", where, -1, 10**9)
    available = (size - header_bytes) // record_bytes
    if n_records < 0:
        n_records = available  # -1: unknown while recording; the file says how many
    if n_records > available:
        raise HypnogramError(f"{where}: header claims {n_records:,} data records of {record_bytes:,} bytes, "
                             f"but the file holds {available:,}; nothing was allocated")
    annot = [i for i, lab in enumerate(labels) if lab == _LABEL] if plus else []
    start = _start(head, where)
    if not annot:
        if not signal:
            raise HypnogramError(f"{where}: no 'EDF Annotations' signal: not an EDF+ hypnogram")
        return "signal", _signal(path, whole, head, sig, labels, samples, header_bytes, n_records, start, where)
    empty = ("annotations", (start, np.empty(0), np.empty(0), [], np.empty(0, dtype=np.int64)))
    if n_records == 0:
        return empty
    if n_signals == 1 and len(whole) == size:  # a hypnogram: the records are the annotations
        data = whole[header_bytes: header_bytes + n_records * record_bytes]
    else:
        data = _annotation_bytes(path, whole, header_bytes, n_records, record_bytes, samples, annot)
    # each TAL ends in \x14\x00; mark the ends, then drop the zero padding (both at C speed)
    data = data.replace(b"\x14\x00", b"\x14\xff").translate(None, b"\x00")
    found = _TAL1.findall(data)
    if len(found) != data.count(b"\xff"):  # some TAL holds several annotations: the general pattern
        found = [(o, d, text) for o, d, body in _TAL.findall(data) for text in body.split(b"\x14")]
    found = [t for t in found if t[2]]  # time-keeping TALs have no text
    if not found:
        return empty
    onset, duration, body = zip(*found)
    onsets = np.array(list(map(float, onset)))
    durations = np.array([float(d) if d else np.nan for d in duration])
    index = {b: i for i, b in enumerate(dict.fromkeys(body))}
    inverse = np.array(list(map(index.__getitem__, body)), dtype=np.int64)
    texts = [u.decode("utf-8", errors="replace") for u in index]  # each distinct text decoded once
    return "annotations", (start, onsets, durations, texts, inverse)


def _signal(path, whole, head, sig, labels, samples, header_bytes, n_records, start, where):
    """(start, seconds per sample, physical values) of the one hypnogram signal of an EDF file."""
    n = len(labels)
    if n == 1:
        i = 0
    else:
        named = [k for k, lab in enumerate(labels) if b"hypno" in lab.lower()]
        if len(named) != 1:
            raise HypnogramError(f"{where}: no 'EDF Annotations' signal and {n} ordinary signals "
                                 f"({', '.join(repr(x.decode('latin-1')) for x in labels)}); a hypnogram "
                                 "signal must be the only one or be labelled 'Hypnogram'")
        i = named[0]
    duration = _float(head[244:252], "duration of a data record", where)
    if not duration > 0:
        raise HypnogramError(f"{where}: header field 'duration of a data record' is {duration:g}, not > 0")
    ranges = [_float(sig[(k * n + i) * 8: (k * n + i) * 8 + 8], field, where)
              for k, field in ((13, "physical minimum"), (14, "physical maximum"),
                               (15, "digital minimum"), (16, "digital maximum"))]
    pmin, pmax, dmin, dmax = ranges
    if dmax == dmin:
        raise HypnogramError(f"{where}: signal {i + 1}: digital minimum equals digital maximum ({dmin:g})")
    record = 2 * sum(samples)
    if n_records * samples[i] > 20_000_000:
        raise HypnogramError(f"{where}: {n_records * samples[i]:,} hypnogram samples claimed, more than "
                             "20,000,000; nothing was allocated")
    if len(whole) >= header_bytes + n_records * record:
        records = np.frombuffer(whole, dtype="<i2", count=n_records * record // 2, offset=header_bytes)
    else:
        records = np.memmap(path, dtype="<i2", mode="r", offset=header_bytes, shape=(n_records * record // 2,))
    a = sum(samples[:i])
    digital = records.reshape(n_records, record // 2)[:, a: a + samples[i]].reshape(-1).astype(float)
    values = (digital - dmin) * (pmax - pmin) / (dmax - dmin) + pmin
    return start, duration / samples[i], values


def _annotation_bytes(path, whole, header_bytes, n_records, record_bytes, samples, annot) -> bytes:
    """The bytes of the annotation signal(s), record after record."""
    total = n_records * record_bytes
    if len(whole) >= header_bytes + total:  # small files: already read
        records = np.frombuffer(whole, dtype=np.uint8, count=total, offset=header_bytes).reshape(n_records, record_bytes)
    else:  # a PSG with signals: map it, take only the annotation columns
        records = np.memmap(path, dtype=np.uint8, mode="r", offset=header_bytes, shape=(n_records, record_bytes))
    parts = []
    for i in annot:
        a = 2 * sum(samples[:i])
        parts.append(records[:, a: a + 2 * samples[i]])
    return np.ascontiguousarray(np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]).tobytes()


def _int(raw: bytes, field: str, where: str, low: int, high: int) -> int:
    text = raw.decode("ascii", errors="replace").strip()
    try:
        value = int(text)
    except ValueError:
        raise HypnogramError(f"{where}: not a readable EDF/EDF+ file: header field '{field}' is {text!r}, "
                             "not a whole number") from None
    if not low <= value <= high:
        raise HypnogramError(f"{where}: header field '{field}' is {value}, outside {low}..{high:,}")
    return value


def _float(raw: bytes, field: str, where: str) -> float:
    text = raw.decode("ascii", errors="replace").strip()
    try:
        value = float(text)
    except ValueError:
        raise HypnogramError(f"{where}: header field '{field}' is {text!r}, not a number") from None
    if not np.isfinite(value):
        raise HypnogramError(f"{where}: header field '{field}' is {text!r}, not a finite number")
    return value


def _start(head: bytes, where: str) -> pd.Timestamp:
    """Start date-time: EDF's dd.mm.yy and hh.mm.ss (years 85-99 are 19xx, 00-84 20xx)."""
    date, time = head[168:176].decode("ascii", "replace"), head[176:184].decode("ascii", "replace")
    try:
        day, month, year = (int(x) for x in date.split("."))
        hour, minute, second = (int(x) for x in time.split("."))
        year += 1900 if year >= 85 else 2000
        return pd.Timestamp(year=year, month=month, day=day, hour=hour, minute=minute, second=second)
    except (ValueError, TypeError, OverflowError):
        raise HypnogramError(f"{where}: header start date/time {date!r} {time!r} is not dd.mm.yy hh.mm.ss") from None
