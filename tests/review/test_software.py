"""Tests for sleepmeta.review.software: the versions a report names."""

import subprocess
import sys
from importlib.metadata import version

from sleepmeta.review.software import library_version, software_versions


def test_versions_are_the_libraries_own():
    import matplotlib
    import numpy
    import pandas
    import scipy

    v = software_versions()
    assert v["matplotlib"] == matplotlib.__version__
    assert (v["numpy"], v["scipy"], v["pandas"]) == (
        numpy.__version__, scipy.__version__, pandas.__version__)


def test_version_of_a_library_not_imported_comes_from_its_metadata():
    # a fresh process: the version is read without importing matplotlib, and equals the
    # __version__ the library gives once imported
    code = ("import sys; from sleepmeta.review.software import software_versions; "
            "v = software_versions()['matplotlib']; loaded = 'matplotlib' in sys.modules; "
            "import matplotlib; print(loaded, v == matplotlib.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True"]


def test_library_version_reads_metadata_of_an_installed_distribution():
    assert library_version("jinja2") == version("jinja2")
