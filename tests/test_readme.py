"""Every Python block of README.md runs as written (issue 11: the README is a test).

Each block runs on its own (fresh namespace, a temporary working folder), so
its imports and inputs must be in the block itself: the package's simulators
or shipped data, never a placeholder.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                    flags=re.S | re.M)


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs_as_written(code, tmp_path, monkeypatch):
    statements = "\n".join(line.split("#")[0] for line in code.splitlines())
    assert "..." not in statements, "a placeholder in a README block"
    if "dask" in code:
        pytest.importorskip("distributed", reason="this README block needs the Dask extra: "
                            "pip install 'sleepmeta[dask]'")
    monkeypatch.chdir(tmp_path)
    matplotlib.use("Agg")
    exec(compile(code, f"README.md python block:\n{code[:60]}", "exec"), {"__name__": "__readme__"})
