"""A small tmpfs for fault tests (a full disk, a read-only folder); skipped where it cannot be mounted."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "64k", read_only: bool = False):
    """Mount a tmpfs of ``size`` at ``path`` for the block; skip the test if that is not possible."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root (and mount) to make a small tmpfs standing in for a full or "
                    "read-only disk; run the suite as root, e.g. in a container")
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size},mode=0755" + (",ro" if read_only else "")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip()}); run as root in a "
                    "container that allows mounts")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
