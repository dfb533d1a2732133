"""Atomic file writing for the sleep readers: see :mod:`sleepmeta.atomic`."""

from __future__ import annotations

from sleepmeta.atomic import atomic_path, atomic_write_text

__all__ = ["atomic_path", "atomic_write_text"]
