"""How much memory a piece of work will need, checked before it is allocated.

A simulation grid with a large ``k`` or ``chunk_size``, or leave-one-out on
k = 100,000 studies (a k x k batch: 74.5 GiB), would otherwise start, swap
and be killed. The estimates here are the size of the padded ``(batch, k)``
float arrays times the number of such arrays the engine holds at its peak
(measured with :mod:`tracemalloc`: about 24 for a simulation chunk, 10 for
a diagnostic batch; the factors below are rounded up). Work estimated to need
more than :data:`SHARE` of the memory available now is refused with a
:class:`~sleepmeta.errors.ResourceError` that says how much and how to split
it.
"""

from __future__ import annotations

import os

from sleepmeta.errors import ResourceError

__all__ = ["available_memory", "format_bytes", "require_batch_memory", "require_memory"]

#: Share of the available memory one piece of work may take.
SHARE = 0.8
#: Float64 arrays of shape (batch, k) held at the peak of a simulation chunk.
SIMULATE_ARRAYS = 32
#: Float64 arrays of shape (batch, k) held at the peak of a diagnostic batch.
DIAGNOSTIC_ARRAYS = 16


def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable`` on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``1.5 GiB`` style.

    >>> format_bytes(80 * 2**30), format_bytes(512)
    ('80.0 GiB', '512 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def require_memory(nbytes: float, what: str, advice: str, *, available: int | None = None) -> None:
    """Refuse work that would need more than :data:`SHARE` of the available memory.

    Parameters
    ----------
    nbytes : float
        The estimate.
    what : str
        The work, for the message (``"leave_one_out with k = 100000"``).
    advice : str
        How to split it (``"use chunk_size = 1000"``).
    available : int, optional
        Bytes available (default: :func:`available_memory`; unknown means no check).

    Raises
    ------
    ResourceError

    Examples
    --------
    >>> require_memory(1e6, "a small job", "", available=2**30)
    >>> require_memory(8e10, "leave_one_out with k = 100000", "split it", available=2**34)
    Traceback (most recent call last):
    ...
    sleepmeta.errors.ResourceError: leave_one_out with k = 100000 would need about 74.5 GiB of memory; 16.0 GiB is available: split it
    """
    available = available_memory() if available is None else available
    if available is not None and nbytes > SHARE * available:
        raise ResourceError(f"{what} would need about {format_bytes(nbytes)} of memory; "
                            f"{format_bytes(available)} is available: {advice}")


def require_batch_memory(batch: int, k: int, arrays: int, what: str, advice: str, *,
                         copies: int = 1, available: int | None = None) -> None:
    """:func:`require_memory` for ``copies`` padded ``(batch, k)`` batches of ``arrays`` floats.

    ``advice`` may hold ``{fits}``: the largest batch that fits (at least 1).

    >>> require_batch_memory(100_000, 100_000, DIAGNOSTIC_ARRAYS, "leave_one_out with k = 100000",
    ...                      "fit at most {fits} at a time", available=2**34)
    Traceback (most recent call last):
    ...
    sleepmeta.errors.ResourceError: leave_one_out with k = 100000 would need about 1.2 TiB of memory; 16.0 GiB is available: fit at most 1,073 at a time
    """
    available = available_memory() if available is None else available
    per = 8.0 * arrays * k * copies
    fits = max(1, int(SHARE * available // per)) if available else batch
    require_memory(per * batch, what, advice.format(fits=f"{fits:,}"), available=available)
