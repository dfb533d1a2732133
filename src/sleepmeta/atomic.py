"""Atomic file writing, the one way sleepmeta writes a file.

A file is written to a temporary file in the same folder and renamed over
its target (:func:`os.replace`), so a failed run never leaves a
half-written file. The temporary file is made private (0600) by
:func:`tempfile.mkstemp`; before the rename it gets the mode a plain
``open(path, "w")`` would give -- 0666 less the user's umask -- so results
are as readable to the user's group as their other files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text", "default_dir_mode", "default_file_mode"]


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask.

    >>> old = os.umask(0o022)
    >>> oct(default_file_mode())
    '0o644'
    >>> _ = os.umask(old)
    """
    return 0o666 & ~_umask()


def default_dir_mode() -> int:
    """The mode ``os.mkdir`` gives a new folder: ``0o777`` less the umask.

    >>> old = os.umask(0o027)
    >>> oct(default_dir_mode())
    '0o750'
    >>> _ = os.umask(old)
    """
    return default_file_mode() | (0o111 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, prefix: str | None = None):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    On any error the temporary file is removed and ``path`` is untouched.
    ``prefix`` names the temporary file (default ``.NAME.``); callers that
    clean up after killed runs pass :func:`sleepmeta.outputs.temp_prefix`.

    >>> import pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), oct(target.stat().st_mode & 0o777) == oct(default_file_mode())
    ('done', True)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix or f".{path.name}.", suffix=".tmp",
                               dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
