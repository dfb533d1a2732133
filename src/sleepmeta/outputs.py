"""Where sleepmeta writes: checks on output paths, typed write errors, folder swaps.

Every file sleepmeta writes goes to a temporary name beside its target and is
renamed into place (:func:`os.replace`). This module holds the rules around
that, shared by the CLI, the report and the simulation store:

* :func:`check_output_file` -- an output path may name a regular file (replaced)
  or nothing yet; a folder, a symlink, a FIFO or a device is refused, never
  replaced, and so is a path under a file.
* :func:`check_report_folder` -- a report folder is replaced only if it is one
  (holds nothing but the report's own files).
* :func:`swap_folder` -- put a complete new folder in place of the old one.
  On Linux the two are exchanged atomically (``renameat2`` with
  ``RENAME_EXCHANGE``), so there is never a moment without a complete report.
  Elsewhere the old folder is renamed to ``.NAME.old-PID`` first; a run killed
  between the two renames leaves it there, and :func:`recover_folder` (called
  by the next run) puts it back.
* :func:`clean_stale` -- remove temporary files and folders that an earlier,
  killed run left behind: only names sleepmeta makes, and only when the
  process that made them is gone or they are over an hour old.
* :func:`output_error` -- an :class:`OSError` while writing (disk full,
  read-only folder, permission) as a one-line :class:`~sleepmeta.errors.OutputError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import time
from pathlib import Path

from sleepmeta.errors import OutputError

__all__ = ["check_output_file", "check_report_folder", "clean_stale", "output_error",
           "recover_folder", "swap_folder", "temp_prefix"]

#: Temporary files older than this (seconds) are stale even if their process lives.
STALE_AFTER = 3600.0

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


def output_error(exc: OSError, path, what: str = "output") -> OutputError:
    """A one-line :class:`OutputError` for an :class:`OSError` met while writing ``path``.

    >>> import errno
    >>> str(output_error(OSError(errno.ENOSPC, "No space left on device"), "out.csv"))
    "cannot write output 'out.csv': the disk is full (No space left on device)"
    """
    reason = _REASONS.get(exc.errno, "")
    detail = exc.strerror or type(exc).__name__
    text = f"{reason} ({detail})" if reason else detail
    return OutputError(f"cannot write {what} {str(path)!r}: {text}")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a file" if stat.S_ISREG(mode) else "not a regular file"


def _check_parent(path: Path, what: str) -> None:
    for parent in path.parents:
        try:
            st = os.stat(parent)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise output_error(exc, path, what) from None
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"cannot write {what} {str(path)!r}: {str(parent)!r} is a file, "
                              "not a folder")
        return


def _existing_mode(path: Path, what: str) -> int | None:
    """The ``lstat`` mode of ``path``, or None when nothing is there (its parent checked)."""
    try:
        return os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        _check_parent(path, what)
        return None
    except OSError as exc:
        raise output_error(exc, path, what) from None


def check_output_file(path, what: str = "output") -> Path:
    """Check that ``path`` may be written as a file: nothing there yet, or a regular file.

    Raises
    ------
    OutputError
        ``path`` is a folder, a symbolic link, a FIFO, a device or a socket
        (sleepmeta never replaces those), or lies under a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_output_file(pathlib.Path(d) / "x.json").name
    'x.json'
    """
    path = Path(path)
    mode = _existing_mode(path, what)
    if mode is None:
        return path
    if not stat.S_ISREG(mode):
        raise OutputError(f"cannot write {what} {str(path)!r}: it is {_kind(mode)}; "
                          "sleepmeta only replaces regular files: choose another path")
    return path


def check_report_folder(path, own_names, what: str = "--out") -> Path:
    """Check that ``path`` is absent, an empty folder, or a folder of only ``own_names``.

    Raises
    ------
    OutputError
        ``path`` is a file, a symbolic link or another non-folder, lies under a
        file, or is a folder holding anything else (it is not replaced).
    """
    path = Path(path)
    mode = _existing_mode(path, what)
    if mode is None:
        return path
    if not stat.S_ISDIR(mode):
        raise OutputError(f"{what} {str(path)!r} is {_kind(mode)}, not a report folder; "
                          "sleepmeta does not replace it: choose a folder name")
    other = sorted(p.name for p in path.iterdir() if p.name not in set(own_names))
    if other:
        raise OutputError(f"{what} {str(path)!r} is a folder that is not a sleepmeta report "
                          f"(it holds {other[0]!r}); sleepmeta does not replace it: choose "
                          "another folder")
    return path


def temp_prefix(name: str, kind: str) -> str:
    """The prefix of a temporary file or folder for ``name``: ``.NAME.KIND-PID-``."""
    return f".{name}.{kind}-{os.getpid()}-"


_OURS = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)(-.*)?$|"
                   r"^\.(?P<name2>.+)\.[^.]+\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder, names, *, now: float | None = None) -> list[Path]:
    """Remove temporaries that sleepmeta left beside ``names`` in ``folder`` when killed.

    A temporary is ours when its name is ``.NAME.tmp-PID-...`` or
    ``.NAME.XXXX.tmp`` for one of ``names``; it is stale when it is over
    :data:`STALE_AFTER` seconds old or (for the first form) its process is
    gone. Leftover ``.NAME.old-PID`` folders are handled by
    :func:`recover_folder`, not here. Returns the paths removed.
    """
    folder = Path(folder)
    now = time.time() if now is None else now
    wanted = set(names)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _OURS.match(p.name)
        if not m or m.group("kind") == "old":
            continue
        name = m.group("name") or m.group("name2")
        if name not in wanted:
            continue
        try:
            age = now - os.lstat(p).st_mtime
        except OSError:
            continue
        pid = m.group("pid")
        dead = pid is not None and int(pid) != os.getpid() and not _alive(int(pid))
        if dead or age > STALE_AFTER:
            with contextlib.suppress(OSError):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed.append(p)
    return removed


def recover_folder(out) -> Path | None:
    """Put back a previous folder that a killed swap left as ``.NAME.old-PID``.

    If ``out`` is missing, the newest leftover is renamed to ``out``; if
    ``out`` exists, leftovers are complete old copies and are deleted.
    Returns the folder put back, if any.
    """
    out = Path(out)
    prefix = f".{out.name}.old-"  # not glob(): the name may hold pattern characters
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return None
    olds = sorted((p for p in entries if p.name.startswith(prefix)
                   and p.name[len(prefix):].isdigit() and p.is_dir() and not p.is_symlink()),
                  key=lambda p: p.stat().st_mtime)
    restored = None
    if olds and not os.path.lexists(out):
        restored = olds.pop()
        os.replace(restored, out)
    for p in olds:
        shutil.rmtree(p, ignore_errors=True)
    return restored


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_folder(new, out) -> None:
    """Put the complete folder ``new`` at ``out`` (same parent), replacing any old one.

    The old folder is exchanged atomically with the new one where the
    system allows it, then deleted; otherwise it is renamed aside first and
    put back if the second rename fails (and by :func:`recover_folder` if
    the process is killed in between).
    """
    new, out = Path(new), Path(out)
    if not os.path.lexists(out):
        os.replace(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # now holds the old folder
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
