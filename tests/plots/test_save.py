"""save_figure: format by suffix, atomic write, typed errors."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from matplotlib.artist import Artist
from PIL import Image

from sleepmeta.errors import InputError
from sleepmeta.plots import save_figure
from sleepmeta.plots._style import new_figure


def _figure():
    fig = new_figure(3, 2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                           (".pdf", b"%PDF"), (".PNG", b"\x89PNG")])
def test_format_by_suffix(tmp_path, suffix, magic):
    out = save_figure(_figure(), tmp_path / f"f{suffix}")
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"f{suffix}"]  # no temp file left


def test_png_at_150_dpi_and_not_blank(tmp_path):
    out = save_figure(_figure(), str(tmp_path / "f.png"))
    with Image.open(out) as im:
        # PNG stores pixels per metre as an integer: round(150 / 0.0254) = 5906 -> 150.01 dpi
        assert im.info["dpi"] == pytest.approx((150, 150), abs=0.05)
    img = matplotlib.image.imread(out)
    assert not np.all(img == img[0, 0])


def test_unknown_suffix_or_missing_folder(tmp_path):
    with pytest.raises(InputError, match=r"suffix '\.jpg'.*\.png, \.svg, \.pdf"):
        save_figure(_figure(), tmp_path / "f.jpg")
    with pytest.raises(InputError, match="suffix ''"):
        save_figure(_figure(), tmp_path / "f")
    with pytest.raises(InputError, match="does not exist"):
        save_figure(_figure(), tmp_path / "nowhere" / "f.png")
    assert list(tmp_path.iterdir()) == []


class _Broken(Artist):
    def draw(self, renderer):
        raise RuntimeError("drawing failed")


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "f.png"
    path.write_bytes(b"old")
    fig = _figure()
    fig.axes[0].add_artist(_Broken())
    with pytest.raises(RuntimeError, match="drawing failed"):
        save_figure(fig, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_a_symlink_or_folder_is_refused_not_replaced(tmp_path):
    # issue 18: output paths that are not regular files were replaced
    from sleepmeta.errors import OutputError
    from sleepmeta.plots._style import new_figure

    target = tmp_path / "target.txt"
    target.write_text("keep")
    (tmp_path / "link.png").symlink_to(target)
    (tmp_path / "dir.png").mkdir()
    for name, words in (("link.png", "symbolic link"), ("dir.png", "folder")):
        with pytest.raises(OutputError, match=words):
            save_figure(new_figure(2, 2), tmp_path / name)
    assert target.read_text() == "keep" and (tmp_path / "link.png").is_symlink()
