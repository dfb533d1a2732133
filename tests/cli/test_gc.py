"""Tests for sleepmeta.cli._gc: the collector's policy for a command run as its own process."""

import gc
import subprocess
import sys

from sleepmeta.cli._gc import GC_THRESHOLD, import_settled, is_short_lived


def test_in_a_long_lived_process_imports_leave_the_collector_alone():
    # pytest is such a process: nothing is frozen, the collector stays on
    assert not is_short_lived()
    frozen = gc.get_freeze_count()
    import_settled("sleepmeta.review.software")
    assert gc.get_freeze_count() == frozen and gc.isenabled()
    assert "sleepmeta.review.software" in sys.modules


def test_a_paused_collector_stays_paused():
    gc.disable()
    try:
        import_settled("json")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_in_a_command_process_the_imported_objects_are_frozen():
    code = ("import gc, sys; from sleepmeta.cli._gc import mark_short_lived, import_settled; "
            "mark_short_lived(); before = gc.get_freeze_count(); "
            "import_settled('sleepmeta.review.payload'); "
            "print(gc.get_threshold()[0], before == 0, gc.get_freeze_count() > 10000, "
            "gc.isenabled(), 'sleepmeta.review.payload' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == [str(GC_THRESHOLD), "True", "True", "True", "True"]


def test_a_failing_import_still_restores_the_collector():
    try:
        import_settled("sleepmeta.no_such_module")
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("the import should fail")
    assert gc.isenabled()
