"""Stage 1: nights to sleep endpoints.

Hypnograms (one stage per epoch) and sleep diaries become one row per night
of endpoints: TIB, SPT, TST, SOL, LPS, WASO, SE, stage minutes and %, REM
latency, awakenings. Readers and writers for CSV, EDF+ (Sleep-EDF style) and
NSRR XML; a seeded simulator for examples and tests.

>>> from sleepmeta.sleep import Hypnogram, sleep_statistics
>>> sleep_statistics(Hypnogram(["W", "N1", "N2", "N2"]))["TST"]
1.5
"""

from __future__ import annotations

from sleepmeta.sleep.diary import diary_table
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.io import read_hypnogram, read_nights, write_hypnogram
from sleepmeta.sleep.io_csv import read_hypnogram_csv, write_hypnogram_csv
from sleepmeta.sleep.io_edf import read_hypnogram_edf, write_hypnogram_edf
from sleepmeta.sleep.io_xml import read_hypnogram_xml, write_hypnogram_xml
from sleepmeta.sleep.simulate import simulate_nights, simulate_trial
from sleepmeta.sleep.statistics import FIELDS, night_table, sleep_statistics

__all__ = [
    "FIELDS",
    "Hypnogram",
    "diary_table",
    "night_table",
    "read_hypnogram",
    "read_hypnogram_csv",
    "read_hypnogram_edf",
    "read_hypnogram_xml",
    "read_nights",
    "simulate_nights",
    "simulate_trial",
    "sleep_statistics",
    "write_hypnogram",
    "write_hypnogram_csv",
    "write_hypnogram_edf",
    "write_hypnogram_xml",
]
