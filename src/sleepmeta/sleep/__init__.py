"""Stage 1: nights to sleep endpoints.

Hypnograms (one stage per epoch), sleep/wake series and sleep diaries
become one row per night of endpoints over lights off..lights on: TIB, SPT,
TST, SOL, LPS, WASO (YASA's and the AASM's), SE, stage minutes and %, REM
latency, wake bouts, thirds and hours of the night (``hourly_table``),
fragmentation, cycles (every
column documented by ``field_table()``). Readers for CSV, one-stage-per-line
text, EDF+ (Sleep-EDF), NSRR / Profusion / Embla XML and actigraphy
sleep/wake series; a hypnogram plot; a seeded simulator.

>>> from sleepmeta.sleep import Hypnogram, sleep_statistics
>>> sleep_statistics(Hypnogram(["W", "N1", "N2", "N2"]))["TST"]
1.5
"""

from __future__ import annotations

from sleepmeta.sleep.architecture import sleep_cycles, transition_matrix
from sleepmeta.sleep.by_hour import hourly_table
from sleepmeta.sleep.diary import diary_table
from sleepmeta.sleep.fields import field_table
from sleepmeta.sleep.hypnogram import Hypnogram
from sleepmeta.sleep.io import read_hypnogram, read_nights, write_hypnogram
from sleepmeta.sleep.io_csv import read_hypnogram_csv, write_hypnogram_csv
from sleepmeta.sleep.io_edf import read_hypnogram_edf, write_hypnogram_edf
from sleepmeta.sleep.io_text import read_hypnogram_text
from sleepmeta.sleep.io_xml import read_hypnogram_xml, write_hypnogram_xml
from sleepmeta.sleep.plot import plot_hypnogram
from sleepmeta.sleep.simulate import simulate_nights, simulate_trial
from sleepmeta.sleep.sleep_wake import from_sleep_wake, read_sleep_wake
from sleepmeta.sleep.statistics import FIELDS, night_table, sleep_statistics

__all__ = [
    "FIELDS",
    "Hypnogram",
    "diary_table",
    "field_table",
    "from_sleep_wake",
    "hourly_table",
    "night_table",
    "plot_hypnogram",
    "read_hypnogram",
    "read_hypnogram_csv",
    "read_hypnogram_edf",
    "read_hypnogram_text",
    "read_hypnogram_xml",
    "read_nights",
    "read_sleep_wake",
    "simulate_nights",
    "simulate_trial",
    "sleep_cycles",
    "sleep_statistics",
    "transition_matrix",
    "write_hypnogram",
    "write_hypnogram_csv",
    "write_hypnogram_edf",
    "write_hypnogram_xml",
]
