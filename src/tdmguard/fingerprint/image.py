"""Artwork image fingerprints: PDQ hashes with their dihedral variants and canonical crops.

Pipeline (anchors.md section 3; docs/image.md):

1. Decode with Pillow, defensively: only common raster formats, an empty-file check, a pixel
   budget checked on the header before any pixel is decoded (JPEGs are first reduced by the
   decoder's DCT scaling, ``draft``), truncated data refused, EXIF orientation applied.
   Palette, alpha (composited over white), CMYK, 16-bit and float images become 8-bit grey.
2. Downscale to a grey working image of at most :data:`WORK_SIDE` px, then resample each
   region to exactly 64 x 64 with an area (box) filter and hash it with PDQ. Handing PDQ its
   own 64 x 64 size skips its Jarosz downsampling, which is not mirror-symmetric at
   non-integer ratios (a mirrored copy then lands 20-30 bits away from the "mirror" variant);
   at 64 x 64 the dihedral variants come out exact, and hashing costs ~0.1 ms.
3. Regions: the whole image; the image with a uniform border trimmed off ("trimmed", only
   when such a border exists: clip-art on a plain ground, letterboxed or framed copies); and,
   at registration only, :data:`CROPS` of each (centre crops keeping 95, 90, 80 % of each side,
   and the four corner crops keeping 90 %). The whole and trimmed regions are registered with
   all 8 rotation/flip variants, the crops as they are.
4. Quality gate: PDQ's quality (0-100, gradient energy) below :data:`QUALITY_MIN` marks a hash
   too flat to be discriminative; such hashes are neither indexed nor queried.

Fingerprint layout (``aux_width`` = 12), one row per hash:

    keys[i]        the hash's first 64 bits as an unsigned big-endian integer
    aux[i, 0:8]    the 256-bit hash as 8 int32 words (``index.binary_index`` byte layout)
    aux[i, 8]      PDQ quality 0..100
    aux[i, 9]      dihedral variant, :class:`Variant`
    aux[i, 10]     base region, :class:`Region` (0 whole, 1 trimmed)
    aux[i, 11]     crop, 0 for none, else 1 + its position in :data:`CROPS`

A query uses only its variant-0, uncropped rows (whole and trimmed): :meth:`extract_query`
computes just those (what scans should call), and :meth:`match` picks them from a full
fingerprint too.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tdmguard.errors import InputError, MediaError, MissingExtraError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.vocab import Match, Modality

__all__ = [
    "CROPS",
    "MATCH_MAX_DISTANCE",
    "QUALITY_MIN",
    "BinaryHashHits",
    "BinaryHashSearch",
    "ImageFingerprinter",
    "Region",
    "Variant",
]

VERSION = 1
#: PDQ's published match threshold: Hamming distance <= 31 of 256 bits (anchors.md section 3;
#: distinct real images sit near 128, the closest distinct pair we saw at 84)
MATCH_MAX_DISTANCE = 31
#: PDQ's published quality gate: discard hashes of quality <= 49
QUALITY_MIN = 50
#: longest side of the grey working image that regions are cut from, px
WORK_SIDE = 256
#: PDQ's internal buffer side; regions are resampled to exactly this
PDQ_SIDE = 64
#: smallest region side that is hashed at all, px (below it nothing is left to hash)
MIN_SIDE = 16
#: smallest side of a trimmed region, px of the working image
MIN_TRIMMED_SIDE = 32
#: most pixels decoded (after a JPEG's DCT scaling): ~64 Mpx, 256 MB as RGBA
MAX_PIXELS = 1 << 26
#: colour distance (0..255 grey levels) still counted as "border" when trimming
BORDER_TOLERANCE = 24
#: a trimmed region must lose at least this fraction of the area to count as a border
BORDER_MIN_LOSS = 0.02
#: canonical crops at registration: (kept fraction of each side, x anchor, y anchor), anchors
#: in 0..1 (0.5 = centred); a crop of 5-20 % lands within PDQ's radius of one of them
CROPS: tuple[tuple[float, float, float], ...] = (
    (0.95, 0.5, 0.5),
    (0.90, 0.5, 0.5),
    (0.80, 0.5, 0.5),
    (0.90, 0.0, 0.0),
    (0.90, 1.0, 0.0),
    (0.90, 0.0, 1.0),
    (0.90, 1.0, 1.0),
)
#: Pillow formats tried; anything else is "not an image" (less parser surface for hostile files)
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "PPM", "TGA", "ICO")

AUX_WIDTH = 12
COL_QUALITY, COL_VARIANT, COL_REGION, COL_CROP = 8, 9, 10, 11

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


class Variant(enum.IntEnum):
    """PDQ's dihedral hash order; a hit on variant V means the query looks like the
    registered image transformed by V (rotations counter-clockwise, Pillow's names)."""

    ORIGINAL = 0
    ROTATE_90 = 1
    ROTATE_180 = 2
    ROTATE_270 = 3
    FLIP_TOP_BOTTOM = 4
    MIRROR = 5
    TRANSPOSE = 6
    TRANSVERSE = 7


class Region(enum.IntEnum):
    WHOLE = 0
    TRIMMED = 1


class BinaryHashHits(Protocol):
    """Hits of a Hamming search, shape (m,) each; ``aux`` (m, k) is the stored row."""

    @property
    def query_row(self) -> I64: ...

    @property
    def work(self) -> I64: ...

    @property
    def distance(self) -> I64: ...

    @property
    def aux(self) -> I32: ...

    @property
    def work_ids(self) -> Sequence[str]: ...


class BinaryHashSearch(Protocol):
    """What the image engine needs of its index (``index.BinaryHashIndex`` provides it)."""

    def search(self, hashes: U8, max_distance: int) -> BinaryHashHits: ...

    def work_meta(self, work: int) -> Mapping[str, float | int | str]: ...


@dataclass(frozen=True, slots=True)
class _Hashed:
    """Hash rows of one image: ``hashes`` (n, 32) uint8, ``info`` (n, 4) int32 = quality,
    variant, region, crop."""

    hashes: U8
    info: I32


def _pil() -> Any:
    try:
        from PIL import Image
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pillow", "image") from exc
    return Image


def _pdq() -> Any:
    try:
        import pdqhash
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pdqhash", "image") from exc
    return pdqhash


# EXIF orientation tag (0x0112) value -> Pillow transpose that undoes it (EXIF 2.32, 4.6.4 A)
_EXIF_ORIENTATION = 0x0112
_ORIENTATION_FIX = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}


def load_grey(path: Path) -> npt.NDArray[np.uint8]:
    """Decode ``path`` into a grey working image, shape (h, w) uint8, longest side
    <= :data:`WORK_SIDE` px, EXIF orientation applied. Raises :class:`MediaError`."""
    image_mod = _pil()
    where = str(path)
    try:
        size_bytes = path.stat().st_size
    except OSError as exc:
        raise MediaError(f"cannot read file ({exc.strerror or exc})", where=where) from exc
    if size_bytes == 0:
        raise MediaError("empty file", where=where)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own pixel budget and errors at twice it; both are refused
            warnings.simplefilter("error", image_mod.DecompressionBombWarning)
            with image_mod.open(path, formats=FORMATS) as im:
                return _decode(image_mod, im, where)
    except MediaError:
        raise
    except image_mod.UnidentifiedImageError as exc:
        raise MediaError("not an image in a supported format", where=where) from exc
    except (image_mod.DecompressionBombError, image_mod.DecompressionBombWarning) as exc:
        raise MediaError(f"refused as a decompression bomb ({exc})", where=where) from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        # Pillow's decoders report truncated or corrupt data with these
        raise MediaError(f"corrupt or truncated image ({exc})", where=where) from exc
    except MemoryError as exc:
        raise MediaError("image too large to decode", where=where) from exc


def _decode(image_mod: Any, im: Any, where: str) -> npt.NDArray[np.uint8]:
    width, height = im.size
    if width <= 0 or height <= 0:
        raise MediaError(f"image has no pixels ({width} x {height})", where=where)
    if im.format in ("JPEG", "MPO"):
        # DCT-domain downscaling (1/2 .. 1/8) while decoding: most of the speed of the pipeline
        im.draft("RGB" if im.mode not in ("L", "CMYK") else im.mode, (WORK_SIDE, WORK_SIDE))
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise MediaError(
            f"image of {width} x {height} px exceeds the {MAX_PIXELS} px decoding budget",
            where=where,
        )
    orientation = 1
    try:
        orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:
        orientation = 1
    im.load()
    grey = _to_grey(image_mod, im)
    fix = _ORIENTATION_FIX.get(orientation)
    if fix is not None:
        grey = np.ascontiguousarray(
            np.asarray(
                image_mod.fromarray(grey, mode="L").transpose(getattr(image_mod.Transpose, fix))
            )
        )
    return grey


def _to_grey(image_mod: Any, im: Any) -> npt.NDArray[np.uint8]:
    """Any Pillow mode -> grey (h, w) uint8, longest side <= :data:`WORK_SIDE`.

    Transparent pixels are composited over white (how clip-art is shown); 16-bit and float
    data are scaled, not clipped."""
    mode = im.mode
    size = (WORK_SIDE, WORK_SIDE)
    bilinear = image_mod.Resampling.BILINEAR
    if mode.startswith("I;16") or mode in ("I", "F"):
        data = np.asarray(im, dtype=np.float32)
        top = float(data.max()) if data.size else 0.0
        if mode == "F" and top <= 1.0:
            scale = 255.0
        elif top > 255.0:
            scale = 255.0 / 65535.0
        else:
            scale = 1.0
        im = image_mod.fromarray(np.clip(np.nan_to_num(data * scale), 0, 255).astype(np.uint8))
        mode = "L"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        if mode not in ("LA", "RGBA"):
            im = im.convert("RGBA")
        # composite at full size with a paste mask: cheaper than any premultiplied resize
        ground = image_mod.new("L", im.size, 255)
        ground.paste(im.convert("L"), mask=im.getchannel("A"))
        im, mode = ground, "L"
    if mode not in ("L", "RGB", "1", "P"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV
    if mode != "L":
        im = im.convert("L")
    im.thumbnail(size, bilinear, reducing_gap=2.0)
    return np.asarray(im, dtype=np.uint8)


def _trim(grey: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """The region inside a uniform border, or ``None`` when there is no such border.

    The border colour is taken from the four corners, which must agree; ``grey`` (h, w)."""
    corners = grey[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.int16)
    if int(corners.max() - corners.min()) > BORDER_TOLERANCE:
        return None
    ground = int(np.median(corners))
    content = np.abs(grey.astype(np.int16) - ground) > BORDER_TOLERANCE
    rows = np.flatnonzero(content.any(axis=1))
    cols = np.flatnonzero(content.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if min(bottom - top, right - left) < MIN_TRIMMED_SIDE:
        return None  # a speck on a blank ground: too little left to hash reliably
    if (bottom - top) * (right - left) > (1 - BORDER_MIN_LOSS) * grey.size:
        return None
    return grey[top:bottom, left:right]


def _crop(grey: npt.NDArray[np.uint8], keep: float, ax: float, ay: float) -> npt.NDArray[np.uint8]:
    height, width = grey.shape
    ch, cw = round(height * keep), round(width * keep)
    y, x = round((height - ch) * ay), round((width - cw) * ax)
    return grey[y : y + ch, x : x + cw]


class ImageFingerprinter:
    """PDQ-based artwork engine; see the module docstring for the pipeline and layout."""

    modality = Modality.IMAGE
    engine = f"image-pdq/{VERSION}"
    aux_width = AUX_WIDTH

    def __init__(self) -> None:
        self._pil = _pil()
        self._pdq = _pdq()

    # -- hashing -----------------------------------------------------------------------------
    def _pdq_input(self, region: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """(h, w) grey -> (64, 64, 3) uint8 as PDQ takes it (it derives luma itself)."""
        small = self._pil.fromarray(np.ascontiguousarray(region), mode="L").resize(
            (PDQ_SIDE, PDQ_SIDE), self._pil.Resampling.BOX
        )
        grey = np.asarray(small, dtype=np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))

    def _hash_regions(self, grey: npt.NDArray[np.uint8], *, register: bool) -> _Hashed:
        bases: list[tuple[Region, npt.NDArray[np.uint8]]] = [(Region.WHOLE, grey)]
        trimmed = _trim(grey)
        if trimmed is not None:
            bases.append((Region.TRIMMED, trimmed))
        vectors: list[npt.NDArray[Any]] = []
        info: list[tuple[int, int, int, int]] = []
        for region, pixels in bases:
            if min(pixels.shape) < MIN_SIDE:
                continue
            if register:
                dihedral, quality = self._pdq.compute_dihedral(self._pdq_input(pixels))
                for variant, vector in enumerate(dihedral):
                    vectors.append(vector)
                    info.append((int(quality), variant, int(region), 0))
                for number, (keep, ax, ay) in enumerate(CROPS, start=1):
                    cut = _crop(pixels, keep, ax, ay)
                    if min(cut.shape) < MIN_SIDE:
                        continue
                    vector, quality = self._pdq.compute(self._pdq_input(cut))
                    vectors.append(vector)
                    info.append((int(quality), 0, int(region), number))
            else:
                vector, quality = self._pdq.compute(self._pdq_input(pixels))
                vectors.append(vector)
                info.append((int(quality), 0, int(region), 0))
        if not vectors:
            return _Hashed(np.zeros((0, 32), np.uint8), np.zeros((0, 4), np.int32))
        bits = np.asarray(vectors, dtype=np.uint8)  # (n, 256) of 0/1
        return _Hashed(np.packbits(bits, axis=1), np.asarray(info, dtype=np.int32))

    def _fingerprint(self, path: Path, *, register: bool) -> Fingerprint:
        grey = load_grey(path)
        if min(grey.shape) < MIN_SIDE:
            raise MediaError(
                f"image too small to fingerprint ({grey.shape[1]} x {grey.shape[0]} px; "
                f"needs {MIN_SIDE} px a side)",
                where=str(path),
            )
        hashed = self._hash_regions(grey, register=register)
        whole_quality = int(hashed.info[0, 0]) if len(hashed.info) else 0
        good = hashed.info[:, 0] >= QUALITY_MIN
        return self.from_hashes(
            hashed.hashes[good],
            hashed.info[good],
            meta={
                "width": int(grey.shape[1]),
                "height": int(grey.shape[0]),
                "quality": whole_quality,
                "low_quality_dropped": int((~good).sum()),
            },
        )

    def from_hashes(
        self, hashes: U8, info: I32, meta: Mapping[str, float | int | str] | None = None
    ) -> Fingerprint:
        """Pack hash bytes (n, 32) and info columns (n, 4: quality, variant, region, crop)
        into a :class:`Fingerprint` of this engine's layout."""
        hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 32)
        keys = hashes[:, :8].copy().view(">u8").astype(np.uint64).reshape(-1)
        words = hashes.view("<i4").astype(np.int32).reshape(-1, 8)
        aux = np.concatenate([words, np.asarray(info, dtype=np.int32).reshape(-1, 4)], axis=1)
        return Fingerprint(
            modality=self.modality,
            engine=self.engine,
            keys=keys,
            aux=aux,
            meta=MappingProxyType(dict(meta or {})),
        )

    # -- the Fingerprinter protocol -------------------------------------------------------------
    def extract(self, path: Path) -> Fingerprint:
        """Registration fingerprint: whole (+ trimmed) image with its 8 rotation/flip variants
        and the canonical crops; about 15-30 hashes, low-quality ones dropped."""
        return self._fingerprint(path, register=True)

    def extract_query(self, path: Path) -> Fingerprint:
        """Query fingerprint: only what :meth:`match` uses (1-2 hashes), the fast path."""
        return self._fingerprint(path, register=False)

    def extract_text(self, text: str, *, where: str) -> Fingerprint:
        raise InputError("the image engine fingerprints image files, not text", where=where)

    def match(self, query: Fingerprint, index: Any) -> list[Match]:
        """Registered works within :data:`MATCH_MAX_DISTANCE` bits of the query, best first.

        ``index`` is a :class:`BinaryHashSearch`. ``score`` = 1 - distance / 64 (1.0 for an
        identical hash, ~0.52 at the threshold)."""
        if query.engine != self.engine:
            raise InputError(
                f"fingerprint made by {query.engine!r}, this engine is {self.engine!r}",
                where="image fingerprint",
            )
        searcher: BinaryHashSearch = index
        aux = query.aux
        usable = (
            (aux[:, COL_VARIANT] == Variant.ORIGINAL)
            & (aux[:, COL_CROP] == 0)
            & (aux[:, COL_QUALITY] >= QUALITY_MIN)
        )
        if not usable.any():
            return []
        words = np.ascontiguousarray(aux[usable, :8], dtype="<i4")
        hits = searcher.search(words.view(np.uint8).reshape(-1, 32), MATCH_MAX_DISTANCE)
        if hits.work.shape[0] == 0:
            return []
        # best hit per work: sort by (work, distance) and keep each work's first
        order = np.lexsort((hits.distance, hits.work))
        works = hits.work[order]
        first = np.concatenate([[True], works[1:] != works[:-1]])
        matches: list[Match] = []
        for pos in order[first]:
            distance = int(hits.distance[pos])
            row = hits.aux[pos]
            crop = int(row[COL_CROP])
            matches.append(
                Match(
                    work_id=hits.work_ids[int(hits.work[pos])],
                    modality=Modality.IMAGE,
                    score=max(0.0, 1.0 - distance / 64.0),
                    query_start=0.0,
                    query_end=1.0,
                    ref_start=0.0,
                    ref_end=1.0,
                    detail=MappingProxyType(
                        {
                            "hamming": distance,
                            "variant": Variant(int(row[COL_VARIANT])).name.lower(),
                            "region": Region(int(row[COL_REGION])).name.lower(),
                            "crop": _crop_name(crop),
                        }
                    ),
                )
            )
        matches.sort(key=lambda m: (-m.score, m.work_id))
        return matches


def _crop_name(code: int) -> str:
    if code == 0:
        return "none"
    keep, ax, ay = CROPS[code - 1]
    where = (
        "centre"
        if (ax, ay) == (0.5, 0.5)
        else f"{'left' if ax == 0 else 'right'}-" + ("top" if ay == 0 else "bottom")
    )
    return f"{where}-{round(keep * 100)}%"
