"""Signals embedded in files: XMP ``plus:DataMining`` and ``tdm:reservation`` (images, audio,
PDF), C2PA / CAWG training-mining assertions, and audio tags (ISRC, copyright, tdmguard's
own reservation tags). Every reader answers with :class:`EmbeddedReading`; unreadable or
hostile files give problems, never exceptions (only a missing extra raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tdmguard.signals.metadata.audio_tags import read_audio_tags
from tdmguard.signals.metadata.c2pa_manifest import read_c2pa, training_mining_verdicts
from tdmguard.signals.metadata.image_meta import read_image_metadata
from tdmguard.signals.metadata.xmp import MAX_XMP_BYTES, find_xmp_packet, read_xmp
from tdmguard.vocab import Verdict

__all__ = [
    "EmbeddedReading",
    "find_xmp_packet",
    "read_embedded",
    "read_xmp",
    "training_mining_verdicts",
]

_PDF_SCAN_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class EmbeddedReading:
    """What a file says about itself: one verdict per channel found, identifiers, problems."""

    path: Path
    container: str
    verdicts: tuple[Verdict, ...] = ()
    isrc: str = ""
    copyright: str = ""
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": str(self.path),
            "container": self.container,
            "verdicts": [v.to_json() for v in self.verdicts],
            "problems": list(self.problems),
        }
        if self.isrc:
            out["isrc"] = self.isrc
        if self.copyright:
            out["copyright"] = self.copyright
        return out


def _read_pdf(path: Path) -> EmbeddedReading:
    # XMP packet scanning: PDF metadata streams are normally left uncompressed so that
    # scanners find them (XMP spec part 3 §1.1); compressed ones are not read here.
    with path.open("rb") as fh:
        data = fh.read(_PDF_SCAN_BYTES)
    packet = find_xmp_packet(data)
    if packet is None or len(packet) > MAX_XMP_BYTES:
        return EmbeddedReading(path, "PDF")
    reading = read_xmp(packet, locator=f"{path}#XMP")
    return EmbeddedReading(path, "PDF", reading.verdicts, problems=reading.problems)


def read_embedded(path: Path, *, c2pa: bool = True) -> EmbeddedReading:
    """Every embedded signal of ``path`` (audio, image or PDF, sniffed from its content)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        return EmbeddedReading(path, "unknown", problems=(f"{path}: {exc.strerror or exc}",))
    if head.startswith(b"%PDF-"):
        base = _read_pdf(path)
    elif (image := read_image_metadata(path)) is not None:
        base = EmbeddedReading(
            path, image.container, image.verdicts, "", image.copyright, image.problems
        )
    elif (audio := read_audio_tags(path)) is not None:
        base = EmbeddedReading(
            path, audio.container, audio.verdicts, audio.isrc, audio.copyright, audio.problems
        )
    else:
        return EmbeddedReading(path, "unknown", problems=(f"{path}: not a recognised media file",))
    if not c2pa:
        return base
    verdicts, problems = read_c2pa(path)
    return EmbeddedReading(
        path,
        base.container,
        base.verdicts + verdicts,
        base.isrc,
        base.copyright,
        base.problems + problems,
    )
