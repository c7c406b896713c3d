"""ImageFingerprinter on real public-domain clip-art (tests/corpus/image, openclipart) with
generated distortions, and on malformed or hostile files."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pdqhash")
pytest.importorskip("faiss")
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import get_engine
from tdmguard.fingerprint.image import (
    CROPS,
    KIND_LAYOUT,
    KIND_LOCAL,
    MATCH_MAX_DISTANCE,
    QUERY_SIDE,
    WORK_SIDE,
    ImageFingerprinter,
    Variant,
    layout,
    load_working,
    local,
)
from tdmguard.fingerprint.image import engine as engine_module
from tdmguard.index import BinaryHashIndex, BinarySegmentWriter
from tdmguard.vocab import Modality

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "image"
WORKS = {"snail": "snail.png", "armadillo": "armadillo.png", "dinosaur": "dinosaur.png"}


@pytest.fixture(scope="module")
def engine() -> ImageFingerprinter:
    return ImageFingerprinter()


@pytest.fixture(scope="module")
def index(engine: ImageFingerprinter, tmp_path_factory: pytest.TempPathFactory) -> BinaryHashIndex:
    folder = tmp_path_factory.mktemp("idx") / "image"
    BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    for work_id, name in WORKS.items():
        fp = engine.extract(CORPUS / name)
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    BinaryHashIndex.append_segment(folder, writer)
    return BinaryHashIndex.open(folder)


def _shown(name: str) -> Image.Image:
    """The reference as a viewer shows it: RGB, transparency over white."""
    with Image.open(CORPUS / name) as im:
        rgba = im.convert("RGBA")
    ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(ground, rgba).convert("RGB")


def _crop(im: Image.Image, drop: float) -> Image.Image:
    w, h = im.size
    dx, dy = round(w * drop / 2), round(h * drop / 2)
    return im.crop((dx, dy, w - dx, h - dy))


DISTORTIONS: dict[str, tuple[Callable[[Image.Image], Image.Image], str, str]] = {
    # name: (transform, file format, expected registered variant)
    "half-size-jpeg-q40": (
        lambda im: im.resize((im.width // 2, im.height // 2)),
        "JPEG",
        "original",
    ),
    "double-size": (lambda im: im.resize((im.width * 2, im.height * 2)), "PNG", "original"),
    "brighter-20": (lambda im: ImageEnhance.Brightness(im).enhance(1.2), "PNG", "original"),
    "mirror": (ImageOps.mirror, "PNG", "mirror"),
    "rotate-90": (lambda im: im.transpose(Image.Transpose.ROTATE_90), "PNG", "rotate_90"),
    "rotate-180": (lambda im: im.transpose(Image.Transpose.ROTATE_180), "JPEG", "rotate_180"),
    "centre-crop-10": (lambda im: _crop(im, 0.10), "PNG", "original"),
    "black-border": (lambda im: ImageOps.expand(im, 30, fill=(0, 0, 0)), "JPEG", "original"),
}


def test_engine_shape_and_fingerprint_layout(engine: ImageFingerprinter) -> None:
    assert get_engine(Modality.IMAGE).engine == engine.engine == "image-pdq/1"
    assert engine.modality is Modality.IMAGE and engine.aux_width == 12
    fp = engine.extract(CORPUS / "snail.png")
    assert fp.aux.shape == (len(fp), 12)
    pdq = fp.aux[:, 8] >= 0
    assert int(pdq.sum()) >= 8 + 5
    # PDQ rows: keys are the first 64 bits of each hash, aux[:, :8] the whole hash
    hashes = np.ascontiguousarray(fp.aux[pdq, :8]).astype("<i4").view(np.uint8)
    assert np.array_equal(hashes[:, :8].copy().view(">u8").reshape(-1), fp.keys[pdq])
    whole = fp.aux[pdq & (fp.aux[:, 10] == 0) & (fp.aux[:, 11] == 0)]
    assert sorted(whole[:, 9].tolist()) == list(range(8))  # all 8 dihedral variants
    # aspect-ratio renditions are registered too (the snail is about 16:9)
    assert (fp.aux[pdq, 11] > len(CROPS)).any()
    # local-feature rows, TABLES per keypoint, tagged keys
    loc = fp.aux[:, 8] == KIND_LOCAL
    assert int(loc.sum()) % 3 == 0 and int(loc.sum()) >= 30
    assert ((fp.keys[loc] >> np.uint64(56)) == 0x4C).all()
    again = Fingerprint.from_bytes(fp.to_bytes())
    assert np.array_equal(again.aux, fp.aux) and again.meta["quality"] == fp.meta["quality"]
    query = engine.extract_query(CORPUS / "snail.png")
    qpdq = query.aux[query.aux[:, 8] >= 0]
    assert 1 <= len(qpdq) <= 2 and (qpdq[:, 9] == 0).all() and (qpdq[:, 11] == 0).all()
    assert qpdq[0].tolist() == fp.aux[pdq & (fp.aux[:, 9] == 0)][0].tolist()
    # a detailed image carries no colour-layout row (only low-detail ones do)
    assert not (query.aux[:, 8] == KIND_LAYOUT).any() and float(query.meta["margin"]) > 12


@pytest.mark.parametrize("work_id", sorted(WORKS))
@pytest.mark.parametrize("distortion", sorted(DISTORTIONS))
def test_distorted_copies_match_their_work_only(
    engine: ImageFingerprinter,
    index: BinaryHashIndex,
    tmp_path: Path,
    work_id: str,
    distortion: str,
) -> None:
    transform, fmt, variant = DISTORTIONS[distortion]
    path = tmp_path / f"query.{fmt.lower()}"
    transform(_shown(WORKS[work_id])).save(path, fmt, **({"quality": 40} if fmt == "JPEG" else {}))
    matches = engine.match(engine.extract_query(path), index)
    assert [m.work_id for m in matches] == [work_id]
    best = matches[0]
    assert best.modality is Modality.IMAGE and (best.query_start, best.query_end) == (0.0, 1.0)
    assert 0 <= int(best.detail["hamming"]) <= MATCH_MAX_DISTANCE  # type: ignore[call-overload]
    assert best.score == pytest.approx(1 - int(best.detail["hamming"]) / 64)  # type: ignore[call-overload]
    if distortion not in ("centre-crop-10", "black-border"):
        assert best.detail["variant"] == variant
    # the full registration fingerprint works as a query too (match picks its query rows)
    assert [m.work_id for m in engine.match(engine.extract(path), index)] == [work_id]
    # identify's staged path gives the same answer
    assert engine.match_file(path, index) == matches


def test_exif_orientation_is_applied(
    engine: ImageFingerprinter, index: BinaryHashIndex, tmp_path: Path
) -> None:
    # stored rotated, with EXIF orientation 6 ("rotate 90 clockwise to display"): the
    # displayed image is the upright original
    stored = _shown("dinosaur.png").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "oriented.jpg"
    stored.save(path, "JPEG", quality=90, exif=exif.tobytes())
    (best,) = engine.match(engine.extract_query(path), index)
    assert best.work_id == "dinosaur" and best.detail["variant"] == "original"


@pytest.mark.parametrize("mode", ["CMYK", "P-transparent", "I;16", "L", "LA", "1"])
def test_image_modes_are_read(
    engine: ImageFingerprinter, index: BinaryHashIndex, tmp_path: Path, mode: str
) -> None:
    shown = _shown("snail.png")
    if mode == "CMYK":
        path = tmp_path / "q.jpg"
        shown.convert("CMYK").save(path, "JPEG", quality=90)
    elif mode == "P-transparent":
        path = tmp_path / "q.png"
        with Image.open(CORPUS / "snail.png") as im:
            im.convert("RGBA").quantize(64).save(path)
        with Image.open(path) as check:
            assert check.mode == "P" and "transparency" in check.info
    elif mode == "I;16":
        path = tmp_path / "q.png"
        grey = np.asarray(shown.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(grey).save(path)
        with Image.open(path) as check:
            assert check.mode.startswith("I")
    else:
        path = tmp_path / "q.png"
        shown.convert(mode).save(path)
    matches = engine.match(engine.extract_query(path), index)
    assert [m.work_id for m in matches] == ["snail"]


def test_blank_images_give_an_empty_fingerprint_with_the_reason(
    engine: ImageFingerprinter, index: BinaryHashIndex, tmp_path: Path
) -> None:
    path = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (120, 130, 140)).save(path)
    fp = engine.extract(path)
    assert len(fp) == 0 and "blank" in str(fp.meta["reason"]) and "quality" not in fp.meta
    assert engine.match(fp, index) == []
    assert engine.match(engine.extract_query(path), index) == []


def _painting(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like test picture: overlapping soft shapes over a textured ground."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, tuple(int(v) for v in rng.integers(40, 200, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(60):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        w, h = int(rng.integers(10, 120)), int(rng.integers(10, 120))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=fill)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=fill)
    noise = rng.normal(0, 6, (size[1], size[0], 3))
    pixels = np.clip(np.asarray(im, np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(1))


def _gradient(a: tuple[int, int, int], b: tuple[int, int, int]) -> Image.Image:
    t = np.linspace(0, 1, 800)[None, :, None]
    row = np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t
    return Image.fromarray(np.repeat(row, 500, axis=0).astype(np.uint8))


@pytest.fixture(scope="module")
def hard_index(
    engine: ImageFingerprinter, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BinaryHashIndex, dict[str, Image.Image]]:
    """Works that the PDQ-only engine refused or missed: a night version of a painting, a
    pastel gradient, a plain cover with a small logo, and two paintings for crops."""
    folder = tmp_path_factory.mktemp("hard")
    night = np.asarray(_painting(3), np.float32) / 255
    with Image.open(CORPUS / "dinosaur.png") as logo_im:
        logo = logo_im.convert("RGBA")
    logo.thumbnail((90, 90))
    cover = Image.new("RGB", (700, 700), (24, 30, 60))
    cover.paste(logo, (420, 480), logo)
    works = {
        "painting-a": _painting(1),
        "painting-b": _painting(2),
        "night": Image.fromarray((255 * 0.15 * night**2.2).astype(np.uint8)),
        "pastel": _gradient((250, 200, 210), (200, 220, 250)),
        "cover": cover,
    }
    index_folder = folder / "image"
    BinaryHashIndex.create(index_folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    for work_id, im in works.items():
        path = folder / f"{work_id}.png"
        im.save(path)
        fp = engine.extract(path)
        assert len(fp) > 0, work_id  # every one of them is registrable
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    BinaryHashIndex.append_segment(index_folder, writer)
    return BinaryHashIndex.open(index_folder), works


def _query(
    engine: ImageFingerprinter, index: BinaryHashIndex, im: Image.Image, path: Path
) -> list[str]:
    im.save(path, "JPEG", quality=80)
    return [m.work_id for m in engine.match(engine.extract_query(path), index)]


@pytest.mark.parametrize("work_id", ["night", "pastel", "cover"])
def test_dark_pale_and_minimal_artworks_are_found(
    engine: ImageFingerprinter,
    hard_index: tuple[BinaryHashIndex, dict[str, Image.Image]],
    tmp_path: Path,
    work_id: str,
) -> None:
    index, works = hard_index
    im = works[work_id]
    half = im.resize((im.width // 2, im.height // 2))
    assert _query(engine, index, half, tmp_path / "q.jpg") == [work_id]
    # darker (brightening a near-white pastel clips its channels and changes its colours)
    darker = ImageEnhance.Brightness(half).enhance(0.9)
    assert _query(engine, index, darker, tmp_path / "q2.jpg") == [work_id]


def test_other_gradients_and_covers_are_not_matched(
    engine: ImageFingerprinter,
    hard_index: tuple[BinaryHashIndex, dict[str, Image.Image]],
    tmp_path: Path,
) -> None:
    index, _ = hard_index
    other = _gradient((200, 250, 210), (250, 230, 190))
    assert _query(engine, index, other, tmp_path / "g.jpg") == []
    plain = Image.new("RGB", (700, 700), (24, 30, 60))
    assert _query(engine, index, plain, tmp_path / "p.jpg") == []
    assert _query(engine, index, _painting(9), tmp_path / "u.jpg") == []


@pytest.mark.parametrize(
    ("keep_x", "keep_y", "ax", "ay"),
    [(0.8, 0.8, 0.1, 0.9), (0.8, 0.8, 1.0, 0.3), (0.9, 0.9, 0.2, 0.7), (0.45, 1.0, 0.7, 0.5)],
)
def test_off_centre_crops_are_found_by_local_features(
    engine: ImageFingerprinter,
    hard_index: tuple[BinaryHashIndex, dict[str, Image.Image]],
    tmp_path: Path,
    keep_x: float,
    keep_y: float,
    ax: float,
    ay: float,
) -> None:
    index, works = hard_index
    for work_id in ("painting-a", "painting-b"):
        im = works[work_id]
        w, h = round(im.width * keep_x), round(im.height * keep_y)
        x, y = round((im.width - w) * ax), round((im.height - h) * ay)
        cut = im.crop((x, y, x + w, y + h)).resize((w * 3 // 4, h * 3 // 4))
        cut.save(tmp_path / "crop.jpg", "JPEG", quality=80)
        matches = engine.match(engine.extract_query(tmp_path / "crop.jpg"), index)
        assert [m.work_id for m in matches] == [work_id]
        assert engine.match_file(tmp_path / "crop.jpg", index) == matches
        if matches[0].detail["method"] == "local":
            assert int(matches[0].detail["inliers"]) >= local.MIN_INLIERS  # type: ignore[call-overload]


def _grainy_jpeg(im: Image.Image, side: int, path: Path) -> Path:
    """``im`` scaled to a longest side of ``side`` px with sensor-like grain, JPEG q90."""
    factor = side / max(im.size)
    big = im.resize((round(im.width * factor), round(im.height * factor)), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(5).normal(0, 3.0, (big.height, big.width, 3))
    pixels = np.clip(np.asarray(big, np.float32) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def test_large_jpeg_queries_are_decoded_small_and_still_found(
    engine: ImageFingerprinter,
    hard_index: tuple[BinaryHashIndex, dict[str, Image.Image]],
    tmp_path: Path,
) -> None:
    """A 4 Mpx photo is decoded at 1/8 scale (its DC coefficients) for a query, at 1/4 for a
    registration; a copy and an off-centre crop of the artwork are both found."""
    index, works = hard_index
    photo = _grainy_jpeg(works["painting-a"], 2448, tmp_path / "photo.jpg")
    query = load_working(photo, colour=False, min_side=QUERY_SIDE)
    assert query.source_side == 2448 and max(query.grey.shape) == 2448 // 8
    assert max(load_working(photo).grey.shape) == WORK_SIDE
    (found,) = engine.match_file(photo, index)
    assert found.work_id == "painting-a" and found.detail["method"] == "pdq"
    im = works["painting-b"]
    crop = im.crop((im.width // 4, 0, im.width, im.height * 3 // 4))
    cut = _grainy_jpeg(crop, 2448, tmp_path / "crop.jpg")
    matches = engine.match_file(cut, index)
    assert [m.work_id for m in matches] == ["painting-b"]
    assert engine.match(engine.extract_query(cut), index) == matches


def test_a_copy_is_not_also_reported_as_its_registered_look_alike(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """Two registered artworks that share most of their pixels (a painting with and without
    its figures): a copy of either is that one only, whether PDQ or local features find it."""
    plain = _painting(4)
    figures = plain.copy()
    draw = ImageDraw.Draw(figures)
    draw.ellipse((380, 200, 600, 460), fill=(200, 40, 40))
    draw.rectangle((60, 300, 200, 460), fill=(20, 20, 160))
    folder = tmp_path / "image"
    BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    for work_id, im in (("plain", plain), ("figures", figures)):
        im.save(tmp_path / f"{work_id}.png")
        fp = engine.extract(tmp_path / f"{work_id}.png")
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    BinaryHashIndex.append_segment(folder, writer)
    index = BinaryHashIndex.open(folder)
    for work_id, im in (("plain", plain), ("figures", figures)):
        path = tmp_path / "copy.jpg"
        im.resize((im.width // 2, im.height // 2)).save(path, "JPEG", quality=75)
        assert [m.work_id for m in engine.match_file(path, index)] == [work_id]
        # a crop that keeps the figures' corner: found by local features
        im.crop((200, 120, 640, 480)).save(path, "JPEG", quality=75)
        matches = engine.match_file(path, index)
        assert matches[0].work_id == work_id, matches


def test_fingerprints_of_the_pdq_only_version_still_match(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """A registry built before local features holds PDQ rows only (quality >= 50): an index
    rebuilt from them answers the new engine's queries as before."""
    fp = engine.extract(CORPUS / "armadillo.png")
    old_rows = (fp.aux[:, 8] >= 50) & (fp.aux[:, 11] <= len(CROPS))
    old = engine.from_hashes(
        np.ascontiguousarray(fp.aux[old_rows, :8]).astype("<i4").view(np.uint8),
        fp.aux[old_rows, 8:12],
        {"quality": int(fp.meta["quality"])},
    )
    folder = tmp_path / "image"
    BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    writer.add("armadillo", old.keys, old.aux, dict(old.meta))
    BinaryHashIndex.append_segment(folder, writer)
    index = BinaryHashIndex.open(folder)
    assert index.searchable_rows() == len(old)
    path = tmp_path / "q.jpg"
    _shown("armadillo.png").resize((300, 148)).save(path, "JPEG", quality=60)
    (best,) = engine.match(engine.extract_query(path), index)
    assert best.work_id == "armadillo" and best.detail["method"] == "pdq"


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (8-bit RGB), with a token IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _truncated(name: str, fraction: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        data = (CORPUS / name).read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return write


def _truncated_jpeg(path: Path) -> None:
    full = path.with_suffix(".full.jpg")
    _shown("snail.png").save(full, "JPEG", quality=90)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 3])


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (lambda p: p.write_bytes(b""), "empty file"),
    "text": (lambda p: p.write_text("<html>not an image</html>"), "not an image"),
    "random-bytes": (
        lambda p: p.write_bytes(np.random.default_rng(1).bytes(4096)),
        "not an image",
    ),
    "bomb-header": (lambda p: p.write_bytes(_png_header(100_000, 100_000)), "bomb"),
    "over-budget": (lambda p: p.write_bytes(_png_header(9_000, 8_000)), "decoding budget"),
    "zero-width": (lambda p: p.write_bytes(_png_header(0, 10)), ""),
    "tiny": (lambda p: Image.new("RGB", (8, 8), "red").save(p, "PNG"), "too small"),
    "truncated-png": (_truncated("snail.png", 0.5), "truncated"),
    "truncated-jpeg": (_truncated_jpeg, "truncated"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_clear_media_error(
    engine: ImageFingerprinter, tmp_path: Path, case: str
) -> None:
    write, words = BAD[case]
    path = tmp_path / f"{case}.img"
    write(path)
    for extract in (engine.extract, engine.extract_query):
        with pytest.raises(MediaError) as info:
            extract(path)
        assert str(path) in str(info.value) and words in str(info.value)


def test_missing_file_text_and_foreign_fingerprints(
    engine: ImageFingerprinter, index: BinaryHashIndex, tmp_path: Path
) -> None:
    with pytest.raises(MediaError):
        engine.extract(tmp_path / "nope.png")
    with pytest.raises(InputError):
        engine.extract_text("a poem", where="lyrics.txt")
    foreign = Fingerprint(
        modality=Modality.IMAGE,
        engine="image-pdq/0",
        keys=np.zeros(1, np.uint64),
        aux=np.zeros((1, 12), np.int32),
    )
    with pytest.raises(InputError):
        engine.match(foreign, index)


def test_variant_names_follow_pillow() -> None:
    assert Variant.MIRROR.name.lower() == "mirror" and Variant.ROTATE_90 == 1


def _recoloured(grey: Image.Image, stripes: list[tuple[int, int]]) -> Image.Image:
    """``grey`` as luma, with vertical stripes of the given (Cb, Cr) chroma: images whose
    luminance (all PDQ and ORB see) is the same and whose colours differ, like two tricolours."""
    width, height = grey.size
    cb = np.zeros((height, width), np.uint8)
    cr = np.zeros((height, width), np.uint8)
    for number, (b, r) in enumerate(stripes):
        x0, x1 = number * width // len(stripes), (number + 1) * width // len(stripes)
        cb[:, x0:x1], cr[:, x0:x1] = b, r
    planes = (grey, Image.fromarray(cb), Image.fromarray(cr))
    return Image.merge("YCbCr", planes).convert("RGB")


def test_colours_tell_apart_works_of_the_same_luminance(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """Two registered works with one luminance and other colours (PDQ and ORB see luminance
    only): a copy of one is that one only; fingerprints registered without colours (earlier
    versions) still match both, as before."""
    grey = Image.fromarray(np.clip(np.asarray(_painting(5).convert("L")), 60, 190))
    works = {
        "blue": _recoloured(grey, [(110, 170), (128, 128), (180, 110)]),
        "green": _recoloured(grey, [(110, 170), (128, 128), (90, 90)]),
    }
    for with_colours in (True, False):
        folder = tmp_path / f"image-{with_colours}"
        BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        writer = BinarySegmentWriter(engine.aux_width)
        for work_id, im in works.items():
            im.save(tmp_path / f"{work_id}.png")
            fp = engine.extract(tmp_path / f"{work_id}.png")
            meta = dict(fp.meta)
            assert len(str(meta["layout"])) == 64
            if not with_colours:
                del meta["layout"]
            writer.add(work_id, fp.keys, fp.aux, meta)
        BinaryHashIndex.append_segment(folder, writer)
        index = BinaryHashIndex.open(folder)
        for work_id, im in works.items():
            path = tmp_path / "copy.jpg"
            im.resize((im.width // 2, im.height // 2)).save(path, "JPEG", quality=80)
            found = engine.match_file(path, index)
            assert engine.match(engine.extract_query(path), index) == found
            want = [work_id] if with_colours else sorted(works)
            assert sorted(m.work_id for m in found) == want, found


def _index_of(
    engine: ImageFingerprinter, folder: Path, works: dict[str, Image.Image]
) -> Any:
    BinaryHashIndex.create(folder / "image", engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    for work_id, im in works.items():
        im.save(folder / f"{work_id}.png")
        fp = engine.extract(folder / f"{work_id}.png")
        assert len(fp) > 0, work_id
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    BinaryHashIndex.append_segment(folder / "image", writer)
    return BinaryHashIndex.open(folder / "image")


def test_a_gradient_of_nearly_equal_luma_is_found_by_its_colours(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """Two pastel colours of nearly the same luma: the grey image spans a grey level or two,
    and the contrast stretch made its rounding look like structure (stable PDQ rows of
    noise, no colour-layout row, copies missed). Its PDQ margin now counts in proportion to
    its grey range: no PDQ row of the whole image, a colour-layout row, copies found."""
    works = {"pink-blue": _gradient((236, 190, 200), (190, 206, 236))}
    works["green-violet"] = _gradient((180, 220, 180), (226, 196, 236))
    index = _index_of(engine, tmp_path, works)
    for work_id, im in works.items():
        fp = engine.extract(tmp_path / f"{work_id}.png")
        assert float(fp.meta["range"]) < engine_module.SPREAD_FULL
        whole = (fp.aux[:, 8] >= 0) & (fp.aux[:, 10] == 0) & (fp.aux[:, 11] == 0)
        assert not whole.any(), work_id
        assert (fp.aux[:, 8] == KIND_LAYOUT).sum() == 1
        for k, copy in enumerate(
            [
                im.resize((im.width // 2, im.height // 3)),
                ImageEnhance.Brightness(im).enhance(0.85),
            ]
        ):
            path = tmp_path / f"q{k}.jpg"
            copy.save(path, "JPEG", quality=75)
            assert [m.work_id for m in engine.match_file(path, index)] == [work_id]


def _outline(points: list[tuple[int, int]]) -> Image.Image:
    im = Image.new("RGB", (600, 600), (255, 255, 255))
    ImageDraw.Draw(im).line([*points, points[0]], fill=(0, 0, 0), width=2)
    return im


def test_outlines_on_white_are_not_matched_by_colour_layout_alone(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """Thin outlines on white have all nearly the same coarse colour layout (white): a
    layout match also needs the fine luma structure to correlate, or (both near-flat)
    colours that say something. A copy of the outline is still found."""
    registered = _outline([(100, 120), (480, 90), (520, 300), (300, 500), (90, 400)])
    other = _outline([(300, 60), (540, 280), (420, 540), (160, 520), (60, 260)])
    index = _index_of(engine, tmp_path, {"outline": registered})
    (tmp_path / "o.png").parent.mkdir(exist_ok=True)
    other.save(tmp_path / "o.png")
    assert engine.match_file(tmp_path / "o.png", index) == []
    blank_ish = Image.new("RGB", (600, 600), (250, 250, 250))
    ImageDraw.Draw(blank_ish).point([(300, 300)], fill=(0, 0, 0))
    blank_ish.save(tmp_path / "b.png")
    assert engine.match_file(tmp_path / "b.png", index) == []
    registered.resize((400, 400)).save(tmp_path / "c.jpg", "JPEG", quality=85)
    assert [m.work_id for m in engine.match_file(tmp_path / "c.jpg", index)] == ["outline"]


def test_layout_confirmation_rules() -> None:
    ramp = np.tile(np.arange(0, 160, 10, dtype=np.uint8), (16, 1))
    flat = np.full((16, 16), 200, np.uint8)
    neutral = layout.describe(np.full((16, 16, 3), 200, np.uint8))
    pink = layout.describe(np.full((16, 16, 3), (240, 200, 210), np.uint8))
    # luma structure: correlation decides
    assert layout.confirms(neutral, ramp, neutral, (ramp * 0.9).astype(np.uint8))
    assert not layout.confirms(neutral, ramp, neutral, ramp[:, ::-1].copy())
    assert not layout.confirms(neutral, ramp, neutral, flat)
    # both near-flat: only colours that say something, at a similar brightness
    assert not layout.confirms(neutral, flat, neutral, flat)
    assert layout.confirms(pink, flat, pink, flat)
    assert not layout.confirms(pink, flat, pink, np.full((16, 16), 40, np.uint8))


def test_a_match_resting_on_the_keypoints_of_a_stronger_one_is_dropped() -> None:
    """Local match m whose inlier keypoints are nearly all inliers of k too, while k has
    keypoints of its own: the query shows k (a clock face with other hands)."""
    k = local.LocalMatch(
        work=0, inliers=60, scale=1.0, rotation_deg=0.0, query_points=frozenset(range(60))
    )
    face = local.LocalMatch(
        work=1, inliers=48, scale=1.0, rotation_deg=0.0, query_points=frozenset(range(47)) | {99}
    )
    assert engine_module._dominated(face, k)
    # the part both share, and nothing of its own on either side: both stay
    twin = local.LocalMatch(
        work=1, inliers=58, scale=1.0, rotation_deg=0.0, query_points=frozenset(range(2, 60))
    )
    assert not engine_module._dominated(twin, k)
    # evidence of its own: stays
    other = local.LocalMatch(
        work=1, inliers=45, scale=1.0, rotation_deg=0.0, query_points=frozenset(range(25, 70))
    )
    assert not engine_module._dominated(other, k)


def test_a_match_is_confident_only_when_clearly_above_the_next_registered_work(
    engine: ImageFingerprinter, tmp_path: Path
) -> None:
    """The specificity rule: two registered works that PDQ sees a few bits apart (one
    artwork with a speck moved) are told apart by nothing the query shows, so a copy of
    either is reported as both, rated ``review``; a copy of a work with no such sibling
    is ``confident``, with the rival's distance in the detail."""
    base = _painting(6)
    twin = base.copy()
    ImageDraw.Draw(twin).ellipse((300, 220, 306, 226), fill=(255, 255, 255))
    other = _painting(7)
    folder = tmp_path / "image"
    BinaryHashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = BinarySegmentWriter(engine.aux_width)
    for work_id, im in (("base", base), ("twin", twin), ("other", other)):
        im.save(tmp_path / f"{work_id}.png")
        fp = engine.extract(tmp_path / f"{work_id}.png")
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    BinaryHashIndex.append_segment(folder, writer)
    index = BinaryHashIndex.open(folder)
    path = tmp_path / "copy.jpg"
    base.resize((320, 240)).save(path, "JPEG", quality=80)
    matches = engine.match_file(path, index)
    assert {m.work_id for m in matches} == {"base", "twin"}
    assert all(m.needs_review and m.detail["confidence"] == "review" for m in matches)
    assert engine.match(engine.extract_query(path), index) == matches
    other.resize((320, 240)).save(path, "JPEG", quality=80)
    (found,) = engine.match_file(path, index)
    assert found.work_id == "other" and not found.needs_review
    assert found.detail["confidence"] == "confident"
    assert engine.match(engine.extract_query(path), index) == [found]


def test_the_rival_of_a_local_match_is_the_best_other_work_on_its_keypoints() -> None:
    """``rival_inliers``: another verified work counts when it shares at least a quarter of
    the smaller set of inlier keypoints (a sibling of one design family); a work verified on
    other keypoints (another artwork elsewhere in a collage) does not."""
    from tdmguard.fingerprint.image.local import LocalMatch

    def verified(work: int, points: range) -> LocalMatch:
        return LocalMatch(work, len(points), 1.0, 0.0, frozenset(points))

    copy = verified(0, range(0, 60))
    sibling = verified(1, range(40, 64))  # 20 of its 24 keypoints are the copy's
    elsewhere = verified(2, range(100, 150))
    assert engine_module._rival_inliers(copy, [copy, sibling, elsewhere]) == 24
    assert engine_module._rival_inliers(copy, [copy, elsewhere]) == 0
    assert engine_module._rival_inliers(sibling, [copy, sibling]) == 60
    # rated by own evidence: the copy has 40 inliers the sibling lacks, the sibling 4 of its own
    assert engine_module._own_evidence(copy, [copy, sibling, elsewhere]) == (40, 4)
    assert engine_module._own_evidence(copy, [copy, elsewhere]) == (60, 0)
    assert engine_module._own_evidence(sibling, [copy, sibling]) == (4, 40)
    assert engine_module.LOCAL_MARGIN * 4 <= 40  # the copy is confident beside the sibling


def test_a_local_match_is_confident_on_the_evidence_its_rival_lacks() -> None:
    """A crop of one member of a family keeps parts its sibling does not have: the shared
    part does not count for either; the rule needs LOCAL_OWN_MIN own inliers and
    LOCAL_MARGIN times the rival's own."""
    from types import MappingProxyType

    from tdmguard.vocab import Match, Modality

    def rated(inliers: int, rival: int, own: int, theirs: int) -> bool:
        detail = {
            "method": "local",
            "inliers": inliers,
            "rival_inliers": rival,
            "own_inliers": own,
            "rival_own_inliers": theirs,
        }
        m = Match("w", Modality.IMAGE, 0.9, 0, 1, 0, 1, detail=MappingProxyType(detail))
        return engine_module._local_confident(m)

    assert rated(30, 0, 30, 0)  # no rival
    assert rated(60, 50, 20, 2)  # a large shared part, but 20 keypoints of its own
    assert not rated(60, 50, engine_module.LOCAL_OWN_MIN - 1, 0)  # too few of its own
    assert not rated(60, 50, 20, 10)  # the rival has about as much of its own
