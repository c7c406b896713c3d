"""Image metadata through Pillow: the XMP packet (JPEG APP1, PNG iTXt, WebP, TIFF) and the
IPTC-IIM Copyright Notice (2:116). Pillow reads headers only here, never pixels; its
decompression-bomb guard stays on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdmguard.errors import MissingExtraError
from tdmguard.signals.metadata.xmp import read_xmp
from tdmguard.vocab import Verdict

__all__ = ["ImageMetadata", "read_image_metadata"]


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    container: str
    copyright: str
    verdicts: tuple[Verdict, ...]
    problems: tuple[str, ...]


def _iim_copyright(im: Any) -> str:
    from PIL import IptcImagePlugin

    info = IptcImagePlugin.getiptcinfo(im) or {}
    value = info.get((2, 116))
    if isinstance(value, list):
        value = value[0] if value else b""
    return value.decode("utf-8", "replace").strip() if isinstance(value, bytes) else ""


def read_image_metadata(path: Path) -> ImageMetadata | None:
    """Metadata of an image, or None when Pillow does not recognise the file."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise MissingExtraError("pillow", "metadata") from exc
    try:
        with Image.open(path) as im:
            container = str(im.format)
            xmp = im.info.get("xmp")
            problems: list[str] = []
            try:
                copyright_notice = _iim_copyright(im)
            except Exception as exc:  # a corrupt APP13 must not hide the XMP
                copyright_notice = ""
                problems.append(f"{path}: unreadable IPTC-IIM ({exc})")
    except UnidentifiedImageError:
        return None
    except Exception as exc:  # truncated headers, bombs (DecompressionBombError), OSError
        return ImageMetadata(
            "unknown", "", (), (f"{path}: unreadable image ({type(exc).__name__}: {exc})",)
        )
    verdicts: tuple[Verdict, ...] = ()
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if isinstance(xmp, bytes) and xmp:
        reading = read_xmp(xmp, locator=f"{path}#XMP")
        verdicts = reading.verdicts
        problems.extend(reading.problems)
    return ImageMetadata(container, copyright_notice, verdicts, tuple(problems))
