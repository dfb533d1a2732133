"""Tests for the public entry point and registry in sleepmeta.effects (__init__)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sleepmeta.effects import MEASURES, effect_size

ALL = ["MD", "SMD", "SMDH", "ROM", "RR", "OR", "RD", "AS", "PETO",
       "COR", "ZCOR", "PR", "PLN", "PLO", "PAS", "PFT"]


def test_registry_holds_every_measure_with_metafor_default_correction():
    assert sorted(MEASURES) == sorted(ALL)
    # escalc: add=1/2 by default, but add=0 for AS, PAS, PFT (and no counts for the rest)
    corrected = {name for name, spec in MEASURES.items() if spec.add}
    assert corrected == {"RR", "OR", "RD", "PETO", "PR", "PLN", "PLO"}
    assert all(spec.description for spec in MEASURES.values())


def test_data_may_be_a_mapping():
    es = effect_size("COR", {"r": [0.1, 0.2], "n": [10, 20]}, r="r", n="n")
    np.testing.assert_allclose(es.yi, [0.1, 0.2])


def test_proportion_correction_is_described():
    es = effect_size("PLO", pd.DataFrame({"x": [0, 4], "n": [10, 10]}), events="x", n="n",
                     labels=["Kassell", "Swift"])
    assert es.correction == (
        "continuity correction: 0.5 added to events and non-events of 1 study "
        "with no events or only events: 'Kassell'"
    )


def test_effect_size_rejects_non_string_measure():
    with pytest.raises(ValueError, match="unknown measure"):
        effect_size(None, r=[0.1], n=[10])
