"""Paths named in a review spec stay inside the spec's folder.

A review spec is shared like a document; opening it must not read the
environment (``/proc/self/environ``), a home directory or anything else
outside the review and copy it into a report that is then published. Every
path a spec names -- data tables, notes, any future path key -- is resolved
here: relative to the spec's folder, following symbolic links, and refused
with a :class:`~sleepmeta.errors.SpecError` naming the key when it ends up
outside that folder, unless the user named the place it leads to with
``--allow-outside PATH`` (``allow_outside=`` in Python).
"""

from __future__ import annotations

import os
from pathlib import Path

from sleepmeta.errors import SpecError


_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def spec_paths(spec) -> dict:
    """Every path key of a spec and the path it names: ``{"data.notes[0]": "deps.md", ...}``.

    >>> from types import SimpleNamespace
    >>> spec_paths(SimpleNamespace(data={"efficacy": ("e.csv",)}, notes=("n.md",)))
    {'data.efficacy[0]': 'e.csv', 'data.notes[0]': 'n.md'}
    """
    keys = {f"data.{role}[{i}]": name for role, files in spec.data.items()
            for i, name in enumerate(files)}
    keys.update({f"data.notes[{i}]": name for i, name in enumerate(spec.notes)})
    return keys


def allowed_roots(allow_outside) -> tuple[Path, ...]:
    """Normalise ``allow_outside`` (None, one path or several) to resolved folders.

    >>> allowed_roots(None)
    ()
    """
    if allow_outside is None:
        return ()
    if isinstance(allow_outside, (str, os.PathLike)):
        allow_outside = [allow_outside]
    return tuple(Path(p).expanduser().resolve() for p in allow_outside)


def review_path(base, name, key: str, allow_outside=()) -> Path:
    """Resolve the path ``name`` that spec key ``key`` gives, inside ``base``.

    Parameters
    ----------
    base : path
        The folder of the review spec.
    name : str
        The path as the spec writes it (relative to ``base``).
    key : str
        The spec key, for messages (``"data.notes[0]"``).
    allow_outside : sequence of path
        Folders (or files) outside ``base`` the user has allowed.

    Returns
    -------
    Path
        The resolved path (symbolic links followed).

    Raises
    ------
    SpecError
        ``name`` is absolute, climbs out with ``..``, or leads (through a
        symbolic link) outside ``base`` and every allowed folder.

    Examples
    --------
    >>> review_path("/reviews/zolpidem", "tables/eff.csv", "data.efficacy[0]").as_posix()
    '/reviews/zolpidem/tables/eff.csv'
    >>> review_path("/reviews/zolpidem", "../../etc/passwd", "data.notes[0]")
    Traceback (most recent call last):
    ...
    sleepmeta.errors.SpecError: data.notes[0]: '../../etc/passwd' is outside the review's folder /reviews/zolpidem; a spec reads only files in its own folder (to allow another place, pass --allow-outside PATH, or allow_outside= in Python)
    """
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise SpecError(f"{key}: must be a file name relative to the spec, got {name!r}")
    root = Path(base).resolve()
    target = (root / Path(name).expanduser()).resolve()
    roots = (root, *allowed_roots(allow_outside))
    if not any(target == r or target.is_relative_to(r) for r in roots):
        raise SpecError(f"{key}: {name!r} is outside the review's folder {root}; a spec reads "
                        "only files in its own folder (to allow another place, pass "
                        "--allow-outside PATH, or allow_outside= in Python)")
    if any(target.is_relative_to(system) for system in _SYSTEM):
        raise SpecError(f"{key}: {name!r} leads to {target}, a system folder; a spec reads only "
                        "the review's own files")
    return target
