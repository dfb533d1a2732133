"""Write a figure to PNG, SVG or PDF, atomically."""

from __future__ import annotations

from pathlib import Path

from sleepmeta.atomic import atomic_path
from sleepmeta.errors import InputError

#: File suffix to matplotlib format.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DPI = 150
#: No timestamps in vector files, so the same figure gives the same bytes.
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}


def save_figure(fig, path) -> Path:
    """Save ``fig`` to ``path`` in the format its suffix names.

    The figure is written to a temporary file in the same folder, then
    renamed over ``path`` (:func:`os.replace`), so a failed run never leaves
    a half-written file. PNG is rendered at 150 dpi; the bounding box is
    tightened to the drawn artists (text columns of a forest plot included).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. from :func:`forest_plot`).
    path : str or os.PathLike
        Destination ending in ``.png``, ``.svg`` or ``.pdf``; its folder must exist.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Unknown suffix, or the folder does not exist.
    OutputError
        ``path`` is a folder, a symbolic link, a FIFO or a device (never replaced).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sleepmeta.plots._style import new_figure
    >>> fig = new_figure(2, 2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = save_figure(fig, pathlib.Path(d) / "blank.svg")
    ...     out.read_text()[:5]
    '<?xml'
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"save_figure: cannot tell the format of {str(path)!r} from its suffix "
                         f"{path.suffix!r}; use one of {', '.join(FORMATS)}")
    from sleepmeta.outputs import check_output_file

    check_output_file(path, "figure")  # never replace a folder, link, FIFO or device
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"save_figure: folder {str(folder)!r} of {str(path)!r} does not exist")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=DPI, bbox_inches="tight", pad_inches=0.1,
                    facecolor="white", metadata=_METADATA[fmt])
    return path
