"""ISCC codes (ISO 24138:2024) for registered media: Meta-, Content-, Data- and Instance-Code
units and the composite ISCC-CODE, computed with ``iscc-core`` (the ``iscc`` extra).

``iscc-core`` implements the standard's algorithms on *features*; the decoding that turns a
file into features is left to the caller. tdmguard feeds it the same features the ISCC
project's own SDK (``iscc-sdk`` 0.9) extracts, so the codes are the reference codes:

- **image** Content-Code: Pillow pixels, normalised as ``iscc_sdk.image.image_normalize``
  does: EXIF orientation applied, transparency composited over white, near-uniform borders
  trimmed (tolerance 16, repeated while stable, a one-sided cut only of a flat band), then
  8-bit grey, 32 x 32 bicubic -> 1024 pixels -> ``gen_image_code_v0``.
- **audio** Content-Code: Chromaprint features exactly as the SDK gets them,
  ``fpcalc -raw -json -signed -length 0 FILE`` -> ``gen_audio_code_v0``. ``fpcalc`` comes from
  Debian's ``libchromaprint-tools`` (no PyPI wheel ships Chromaprint); without it the code has
  no Content-Code unit and says so in ``notes``.
- **text** Content-Code (lyrics): the file's UTF-8 text -> ``text_clean`` ->
  ``gen_text_code_v0``.
- **Meta-Code**: name = the work's title, description = its artists joined by ", "
  (tdmguard's choice: the SDK takes both from embedded metadata, which a registry does not
  trust).
- **Data-Code** and **Instance-Code** from the file's bytes.

Near-duplicate search compares Content-Code units of the same type and subtype by the
Hamming distance of their body bits (:func:`content_distance`).
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdmguard.errors import InputError, MediaError, MissingExtraError
from tdmguard.vocab import Modality

__all__ = [
    "AUDIO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "TEXT_SUFFIXES",
    "ContentKind",
    "IsccCode",
    "audio_content_code",
    "chromaprint_features",
    "compute_iscc",
    "content_digest",
    "content_distance",
    "content_kind_for",
    "content_unit",
    "image_content_code",
    "image_pixels",
    "iscc_available",
    "iscc_for_media",
    "meta_code",
    "parse_iscc",
    "text_content_code",
]

AUDIO_SUFFIXES = frozenset(
    {".mp3", ".wav", ".flac", ".m4a", ".mp4", ".aac", ".ogg", ".opus", ".aif", ".aiff", ".wv"}
)
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
)
TEXT_SUFFIXES = frozenset({".txt", ".md", ".lrc", ".srt", ".vtt"})

# iscc_sdk.image: TRIM_MAX_PASSES and the tolerant trim's default tolerance.
_TRIM_MAX_PASSES = 16
_TRIM_TOLERANCE = 16
_FPCALC_TIMEOUT_S = 300


class ContentKind(enum.Enum):
    AUDIO = "audio"
    IMAGE = "image"
    TEXT = "text"


def _ic() -> Any:
    try:
        import iscc_core
    except ImportError as exc:
        raise MissingExtraError("iscc-core", "iscc") from exc
    return iscc_core


@dataclass(frozen=True, slots=True)
class IsccCode:
    """The ISCC of one media file: the composite code and its units (each ``ISCC:...``)."""

    iscc: str
    data: str
    instance: str
    meta: str | None = None
    content: str | None = None
    content_kind: ContentKind | None = None
    notes: tuple[str, ...] = ()

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(u for u in (self.meta, self.content, self.data, self.instance) if u)

    def to_json(self) -> dict[str, object]:
        return {
            "iscc": self.iscc,
            "meta": self.meta,
            "content": self.content,
            "content_kind": self.content_kind.value if self.content_kind else None,
            "data": self.data,
            "instance": self.instance,
            "notes": list(self.notes),
        }


def meta_code(title: str, artists: Sequence[str] = ()) -> str:
    """Meta-Code unit from the work's title (name) and artists (description)."""
    description = ", ".join(a for a in artists if a.strip()) or None
    return str(_ic().gen_meta_code_v0(title, description)["iscc"])


def _border_bbox(img: Any, tolerance: int) -> tuple[int, int, int, int] | None:
    """Bounding box of pixels differing from the upper left one by more than ``tolerance`` in
    any channel (iscc_sdk.image.image_border_bbox)."""
    ref = img.getpixel((0, 0))
    ref = ref if isinstance(ref, tuple) else (ref,)
    lut = [255 if abs(v - c) > tolerance else 0 for c in ref for v in range(256)]
    box = img.point(lut).getbbox()
    return None if box is None else (int(box[0]), int(box[1]), int(box[2]), int(box[3]))


def _trim_tolerant(img: Any) -> Any:
    mask = img if img.mode in ("RGB", "L") else img.convert("RGB")
    for _ in range(_TRIM_MAX_PASSES):
        box = _border_bbox(mask, _TRIM_TOLERANCE)
        if box is None or box == (0, 0, *mask.size):
            break
        w, h = mask.size
        sides = (box[0] > 0) + (box[1] > 0) + (box[2] < w) + (box[3] < h)
        # A one-sided cut must remove a flat band, so smooth gradients are kept.
        if sides == 1 and _border_bbox(mask, _TRIM_TOLERANCE // 2) != box:
            break
        img, mask = img.crop(box), mask.crop(box)
    return img


def _fill_white(img: Any) -> Any:
    from PIL import Image

    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA"):
        ground = Image.new("RGB", img.size, (255, 255, 255))
        ground.paste(img, mask=img.getchannel("A"))
        return ground
    if img.mode == "P" and "transparency" in img.info:
        rgba = img.convert("RGBA")
        ground = Image.new("RGB", img.size, (255, 255, 255))
        ground.paste(rgba, mask=rgba.getchannel("A"))
        return ground
    return img.convert("RGB")


def image_pixels(path: Path) -> list[int]:
    """The 1024 normalised grey pixels (32 x 32, row-major, 0..255) the Image-Code hashes."""
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise MissingExtraError("pillow", "iscc") from exc
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"cannot decode the image: {exc}", where=str(path)) from exc
    img = _trim_tolerant(_fill_white(img)).convert("L")
    small = img.resize((32, 32), Image.Resampling.BICUBIC)
    return list(small.tobytes())  # mode L: one byte per pixel, row-major


def image_content_code(path: Path) -> str:
    return str(_ic().gen_image_code_v0(image_pixels(path))["iscc"])


def _fpcalc_path(fpcalc: str | None) -> str | None:
    return fpcalc if fpcalc else shutil.which("fpcalc")


def chromaprint_features(path: Path, *, fpcalc: str | None = None) -> list[int]:
    """Chromaprint's raw, signed 32-bit features of the whole file, as iscc-sdk gets them."""
    exe = _fpcalc_path(fpcalc)
    if exe is None:
        raise MissingExtraError("fpcalc (Debian: apt-get install libchromaprint-tools)", "iscc")
    cmd = [exe, "-raw", "-json", "-signed", "-length", "0", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=_FPCALC_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"fpcalc failed: {exc}", where=str(path)) from exc
    err = proc.stderr.decode("utf-8", "replace").strip()
    # fpcalc 1.5.1 built against FFmpeg 5 (Debian 12) reports the normal end of the stream as
    # "Error decoding audio frame (End of file)" and exits non-zero after printing the full
    # result; that exit is accepted, any other error is not.
    other_errors = [ln for ln in err.splitlines() if ln and "(End of file)" not in ln]
    if any("Empty fingerprint" in ln for ln in other_errors):
        return []  # shorter than Chromaprint's first window (about 3 s)
    if proc.returncode != 0 and (other_errors or not proc.stdout.strip()):
        detail = (other_errors or [err or f"exit {proc.returncode}"])[0]
        raise MediaError(f"fpcalc cannot read the audio: {detail[:200]}", where=str(path))
    try:
        result = json.loads(proc.stdout)
        features = [int(v) for v in result["fingerprint"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise MediaError("fpcalc gave no fingerprint", where=str(path)) from exc
    return features


def audio_content_code(path: Path, *, fpcalc: str | None = None) -> str | None:
    """Audio Content-Code, ``None`` when the audio is too short for Chromaprint."""
    features = chromaprint_features(path, fpcalc=fpcalc)
    return str(_ic().gen_audio_code_v0(features)["iscc"]) if features else None


def text_content_code(text: str) -> str:
    ic = _ic()
    return str(ic.gen_text_code_v0(ic.text_clean(text))["iscc"])


def _read_text(path: Path) -> str:
    """The lyrics engine's reading: encoding sniffed, LRC/SRT timing blanked out."""
    from tdmguard.fingerprint.lyrics.reading import blank_timing, decode_bytes, sniff_format

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}", where=str(path)) from exc
    text, _ = decode_bytes(data, where=str(path))
    return blank_timing(text, sniff_format(path.name, text[:4096]))


def content_kind_for(path: Path) -> ContentKind | None:
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return ContentKind.AUDIO
    if suffix in IMAGE_SUFFIXES:
        return ContentKind.IMAGE
    if suffix in TEXT_SUFFIXES:
        return ContentKind.TEXT
    return None


def compute_iscc(
    path: Path,
    *,
    title: str | None = None,
    artists: Sequence[str] = (),
    kind: ContentKind | None = None,
    fpcalc: str | None = None,
) -> IsccCode:
    """The ISCC of ``path``: Meta-Code (when a title is given), Content-Code (by ``kind``, or
    guessed from the suffix), Data- and Instance-Code, and their composite ISCC-CODE.

    A Content-Code that cannot be made (no ``fpcalc``, an unknown media type) is left out
    and named in ``notes``; an undecodable file raises :class:`MediaError`."""
    ic = _ic()
    where = str(path)
    try:
        with path.open("rb") as fh:
            data = str(ic.gen_data_code_v0(fh)["iscc"])
            fh.seek(0)
            instance = str(ic.gen_instance_code_v0(fh)["iscc"])
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}", where=where) from exc
    notes: list[str] = []
    kind = kind or content_kind_for(path)
    content: str | None = None
    if kind is ContentKind.IMAGE:
        content = image_content_code(path)
    elif kind is ContentKind.TEXT:
        content = text_content_code(_read_text(path))
    elif kind is ContentKind.AUDIO:
        if _fpcalc_path(fpcalc) is None:
            notes.append("no audio Content-Code: fpcalc not found (libchromaprint-tools)")
        else:
            content = audio_content_code(path, fpcalc=fpcalc)
            if content is None:
                notes.append("no audio Content-Code: too short for Chromaprint")
    else:
        notes.append(f"no Content-Code for {path.suffix or 'files without a suffix'}")
    meta = meta_code(title, artists) if title and title.strip() else None
    units = [u for u in (meta, content, data, instance) if u]
    iscc = str(ic.gen_iscc_code_v0(units)["iscc"])
    return IsccCode(iscc, data, instance, meta, content, kind if content else None, tuple(notes))


_KIND_BY_MODALITY = {
    Modality.AUDIO: ContentKind.AUDIO,
    Modality.IMAGE: ContentKind.IMAGE,
    Modality.LYRICS: ContentKind.TEXT,
}


def iscc_available() -> bool:
    """Whether the ``iscc`` extra is installed (registration then computes ISCCs)."""
    try:
        import iscc_core  # noqa: F401
    except ImportError:
        return False
    return True


def iscc_for_media(
    media: Sequence[tuple[Modality, Path]],
    *,
    title: str,
    artists: Sequence[str] = (),
    fpcalc: str | None = None,
) -> IsccCode | None:
    """The ISCC of a work's primary media file (its recording, else its artwork, else its
    lyrics; a score has no ISCC Content-Code), or ``None`` when there is none of these or
    the ``iscc`` extra is not installed."""
    if not iscc_available():
        return None
    for modality in (Modality.AUDIO, Modality.IMAGE, Modality.LYRICS):
        for given, path in media:
            if given is modality:
                kind = _KIND_BY_MODALITY[modality]
                return compute_iscc(path, title=title, artists=artists, kind=kind, fpcalc=fpcalc)
    return None


def parse_iscc(text: str, *, where: str = "iscc") -> tuple[str, ...]:
    """Validate an ISCC (``ISCC:`` prefix optional) and return its units, canonical."""
    ic = _ic()
    value = text.strip()
    if not value.upper().startswith("ISCC:"):
        value = "ISCC:" + value
    try:
        ic.iscc_validate(value, strict=True)
        units = ic.iscc_decompose(value)
    except (ValueError, KeyError, IndexError) as exc:
        raise InputError(f"not a valid ISCC: {exc}", where=where) from exc
    return tuple("ISCC:" + u if not u.startswith("ISCC:") else u for u in units)


def content_unit(iscc: str) -> str | None:
    """The Content-Code unit of an ISCC (composite or a single unit), if it has one."""
    ic = _ic()
    for unit in parse_iscc(iscc):
        if ic.Code(unit).maintype == ic.MT.CONTENT:
            return unit
    return None


@functools.lru_cache(maxsize=1 << 17)
def content_digest(iscc: str) -> tuple[int, int, int] | None:
    """``(subtype, digest as an integer, digest bits)`` of the Content-Code in ``iscc`` (a
    single Content-Code unit or an ISCC-CODE), ``None`` when it has none. Decoded directly
    (ISO 24138 header, then the units in the ISCC-CODE's order: meta, semantic, content, data,
    instance), about 50x faster than validating and decomposing; cached, since a lookup
    compares every stored code."""
    ic = _ic()
    text = iscc.strip().upper().removeprefix("ISCC:")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
        maintype, subtype, _version, length, body = ic.decode_header(raw)
        if maintype == ic.MT.CONTENT:
            bits = int(ic.decode_length(maintype, length))
            digest = bytes(body[: bits // 8])
        elif maintype == ic.MT.ISCC and subtype != ic.ST_ISCC.WIDE:
            units = list(ic.decode_units(length))
            if ic.MT.CONTENT not in units:
                return None
            at = units.index(ic.MT.CONTENT) * 8
            bits, digest = 64, bytes(body[at : at + 8])
        else:
            return None
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InputError(f"not a valid ISCC: {exc}", where=iscc) from exc
    if len(digest) * 8 != bits:
        raise InputError("ISCC body shorter than its header says", where=iscc)
    return int(subtype), int.from_bytes(digest, "big"), bits


def content_distance(a: str, b: str) -> int | None:
    """Hamming distance between the Content-Code digests of two ISCCs, over the shorter
    digest's leading bits; ``None`` when either has none or their subtypes (audio, image,
    text) differ."""
    da, db = content_digest(a), content_digest(b)
    if da is None or db is None or da[0] != db[0]:
        return None
    bits = min(da[2], db[2])
    return ((da[1] >> (da[2] - bits)) ^ (db[1] >> (db[2] - bits))).bit_count()
