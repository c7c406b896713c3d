"""decode.py: the fast grey JPEG path (OpenCV's libjpeg-turbo from memory) gives Pillow's
pixels, and everything it cannot vouch for still goes through Pillow's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
from PIL import Image

from tdmguard.errors import MediaError
from tdmguard.fingerprint.image import QUERY_SIDE, WORK_SIDE, decode
from tdmguard.fingerprint.image.decode import load_working, read_bytes


def _photo(path: Path, size: tuple[int, int], exif_orientation: int | None = None) -> Path:
    """A textured RGB JPEG (a smooth field plus grain), q90."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    base = 120 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    pixels = np.stack([base, base * 0.8 + 30, 255 - base], axis=-1) + rng.normal(
        0, 6, (*base.shape, 3)
    )
    im = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    im.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@pytest.mark.parametrize(
    ("size", "min_side"),
    [
        ((2448, 1632), QUERY_SIDE),
        ((1200, 900), QUERY_SIDE),
        ((1632, 2448), WORK_SIDE),
        ((700, 500), 300),
    ],
)
def test_fast_grey_jpeg_path_is_pillows_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], min_side: int
) -> None:
    """At each DCT scale (1/8, 1/4, 1/2) the OpenCV decode is bit-identical to Pillow's."""
    path = _photo(tmp_path / "p.jpg", size)
    data = read_bytes(path)
    calls: list[int] = []
    real = decode._jpeg_grey

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out is not None)
        return out

    monkeypatch.setattr(decode, "_jpeg_grey", spy)
    fast = load_working(path, colour=False, min_side=min_side, data=data)
    assert calls == [True]
    monkeypatch.setattr(decode, "_jpeg_grey", lambda *args: None)
    slow = load_working(path, colour=False, min_side=min_side, data=data)
    assert fast.grey.shape == slow.grey.shape and fast.source_side == slow.source_side
    assert np.array_equal(fast.grey, slow.grey)


def test_fast_path_keeps_exif_orientation(tmp_path: Path) -> None:
    upright = load_working(
        _photo(tmp_path / "a.jpg", (2448, 1632)), colour=False, min_side=QUERY_SIDE
    )
    turned = load_working(
        _photo(tmp_path / "b.jpg", (2448, 1632), exif_orientation=6),
        colour=False,
        min_side=QUERY_SIDE,
    )
    # orientation 6: stored landscape, shown portrait (rotated 90 degrees clockwise)
    assert upright.grey.shape == (204, 306) and turned.grey.shape == (306, 204)
    assert np.array_equal(turned.grey, np.rot90(upright.grey, k=-1))


def test_truncated_large_jpeg_is_refused_not_padded(tmp_path: Path) -> None:
    """libjpeg pads a truncated file with grey and OpenCV would return it: such files take
    Pillow's path, which refuses them."""
    full = read_bytes(_photo(tmp_path / "full.jpg", (2448, 1632)))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(MediaError) as info:
        load_working(cut, colour=False, min_side=QUERY_SIDE)
    assert "truncated" in str(info.value) and str(cut) in str(info.value)


def test_read_bytes_errors_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path, words in ((empty, "empty file"), (tmp_path / "missing.jpg", "cannot read")):
        with pytest.raises(MediaError) as info:
            read_bytes(path)
        assert words in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("size", "orientation"),
    [((2448, 1632), None), ((2449, 1633), 6), ((1200, 900), None), ((3000, 2000), 3)],
)
def test_one_decode_gives_the_query_and_the_detail_image(
    tmp_path: Path, size: tuple[int, int], orientation: int | None
) -> None:
    """``detail=True``: the grey query image is within 1 grey level of the smaller DCT
    scale's, and the detail image is exactly a second decode at the working size."""
    path = _photo(tmp_path / "p.jpg", size, exif_orientation=orientation)
    data = read_bytes(path)
    plain = load_working(path, colour=False, min_side=QUERY_SIDE, data=data)
    once = load_working(path, colour=False, min_side=QUERY_SIDE, data=data, detail=True)
    assert once.detail_raw is not None and once.grey.shape == plain.grey.shape
    assert int(np.abs(once.grey.astype(int) - plain.grey.astype(int)).max()) <= 1
    second = load_working(path, colour=False, min_side=WORK_SIDE, data=data).grey
    fitted = decode.detail_grey(once)
    assert fitted is not None and np.array_equal(fitted, second)


def test_no_detail_decode_when_the_query_scale_is_the_working_one(tmp_path: Path) -> None:
    path = _photo(tmp_path / "p.jpg", (700, 500))
    once = load_working(path, colour=False, min_side=QUERY_SIDE, detail=True)
    assert once.detail_raw is None and decode.detail_grey(once) is None
