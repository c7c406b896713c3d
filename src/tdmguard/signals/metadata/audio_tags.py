"""Audio tags through mutagen: ISRC, copyright, tdmguard's own reservation tags, and the XMP
packet a container may hold (ID3 ``PRIV`` owner ``XMP``; MP4 top-level ``uuid`` box).

One logical field, one storage style per container (as mediafile does): ISRC in ID3
``TSRC`` / Vorbis ``ISRC`` / MP4 ``----:com.apple.iTunes:ISRC``; copyright in ``TCOP`` /
``COPYRIGHT`` / ``cprt``; tdmguard's tags (``TDM_RESERVATION``, ``TDM_POLICY``,
``TDMGUARD_RESERVED_USES``, ``TDMGUARD_HOLDER``) in ID3 ``TXXX:<TAG>`` / Vorbis ``<TAG>`` /
MP4 ``----:org.tdmguard:<TAG>``; XMP in ID3 ``PRIV`` owner ``XMP`` or the MP4 ``uuid`` box.

No standard audio tag for a TDM reservation exists (§8.3): the ``TDM_*`` / ``TDMGUARD_*``
tags are tdmguard's convention (written by ``tdmguard stamp``) and read as such.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdmguard.errors import MissingExtraError
from tdmguard.signals.metadata.xmp import MAX_XMP_BYTES, read_xmp
from tdmguard.vocab import Evidence, Stance, Use, Verdict, covered_uses, uses_for_label

__all__ = ["AudioTags", "read_audio_tags"]

PARSER_VERSION = "tdmguard.signals.metadata.audio/1"
_MP4_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_MP4_MEAN = "org.tdmguard"
_MAX_BOXES = 10_000


@dataclass(frozen=True, slots=True)
class AudioTags:
    container: str
    isrc: str
    copyright: str
    verdicts: tuple[Verdict, ...]
    problems: tuple[str, ...]


def _first(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip()[:1000]


def _id3_get(tags: Any, name: str) -> str:
    frames = tags.getall(name)
    return _first(list(frames[0].text)) if frames else ""


def _fields(audio: Any) -> tuple[str, dict[str, str], bytes | None]:
    """``(style, {logical field: value}, XMP packet)`` for the container's storage style."""
    from mutagen.flac import FLAC
    from mutagen.mp4 import MP4
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    tags = audio.tags
    own = ("TDM_RESERVATION", "TDM_POLICY", "TDMGUARD_RESERVED_USES", "TDMGUARD_HOLDER")
    out: dict[str, str] = {}
    if tags is None:
        return "none", out, None
    if isinstance(audio, MP4):
        out["isrc"] = _first(tags.get("----:com.apple.iTunes:ISRC"))
        out["copyright"] = _first(tags.get("cprt"))
        for name in own:
            out[name] = _first(tags.get(f"----:{_MP4_MEAN}:{name}"))
        return "mp4", out, None  # the uuid box is read from the file (mutagen skips it)
    if hasattr(tags, "getall"):  # ID3v2
        out["isrc"] = _id3_get(tags, "TSRC")
        out["copyright"] = _id3_get(tags, "TCOP")
        for name in own:
            out[name] = _id3_get(tags, f"TXXX:{name}")
        xmp = [f.data for f in tags.getall("PRIV") if f.owner == "XMP"]
        return "id3", out, bytes(xmp[0]) if xmp else None
    if isinstance(audio, FLAC | OggFLAC | OggOpus | OggVorbis):
        out["isrc"] = _first(tags.get("ISRC"))
        out["copyright"] = _first(tags.get("COPYRIGHT"))
        for name in own:
            out[name] = _first(tags.get(name))
        return "vorbis", out, None
    return "other", out, None


def _mp4_xmp(path: Path, problems: list[str]) -> bytes | None:
    """The XMP ``uuid`` box among the top-level boxes, read by seeking (ISO 14496-12 §4.2)."""
    try:
        with path.open("rb") as fh:
            size_total = fh.seek(0, 2)
            pos = 0
            for _ in range(_MAX_BOXES):
                if pos + 8 > size_total:
                    return None
                fh.seek(pos)
                head = fh.read(24)
                size, kind = struct.unpack(">I4s", head[:8])
                header = 8
                if size == 1:
                    (size,) = struct.unpack(">Q", fh.read(8)) if len(head) >= 16 else (0,)
                    fh.seek(pos + 16)
                    head = head[:8] + head[16:] + fh.read(8)
                    header = 16
                elif size == 0:
                    size = size_total - pos
                if size < header or pos + size > size_total:
                    problems.append(f"{path}: MP4 box {kind!r} at byte {pos} runs past the end")
                    return None
                if kind == b"uuid" and head[8:24] == _MP4_XMP_UUID:
                    length = size - header - 16
                    if length > MAX_XMP_BYTES:
                        problems.append(f"{path}: MP4 XMP box of {length} bytes skipped")
                        return None
                    fh.seek(pos + header + 16)
                    return fh.read(length)
                pos += size
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror or exc}")
    return None


def _own_verdict(
    style: str, fields: dict[str, str], locator: str, problems: list[str]
) -> Verdict | None:
    reservation = fields.get("TDM_RESERVATION", "")
    uses_text = fields.get("TDMGUARD_RESERVED_USES", "")
    if not reservation and not uses_text:
        return None
    stances: dict[Use, Stance] = {}
    if reservation == "1":
        reserved: set[Use] = set()
        for token in uses_text.replace(",", " ").split():
            try:
                reserved.add(Use(token.lower()))
            except ValueError:
                problems.append(f"{locator}: unknown use {token!r} in TDMGUARD_RESERVED_USES")
        # Without a readable list, the TDMRep reading of "1" applies: all TDM reserved.
        uses = covered_uses(reserved) if reserved else covered_uses(uses_for_label("tdmrep", "1"))
        stances = {u: Stance.DENY for u in uses}
    elif reservation == "0":
        stances = {u: Stance.ALLOW for u in Use}
    else:
        problems.append(f"{locator}: TDM_RESERVATION value {reservation!r} is neither 0 nor 1")
    raw = f"TDM_RESERVATION={reservation}; TDMGUARD_RESERVED_USES={uses_text}"
    if fields.get("TDMGUARD_HOLDER"):
        raw += f"; holder={fields['TDMGUARD_HOLDER']}"
    source = f"{style}:tdmguard"
    evidence = Evidence(source, locator, raw=raw[:300], parser_version=PARSER_VERSION)
    return Verdict(source, dict(stances), (evidence,))


def read_audio_tags(path: Path) -> AudioTags | None:
    """Tags of an audio file, or None when mutagen does not recognise the container.
    Truncated, corrupt or hostile files give problems, never exceptions."""
    try:
        import mutagen
    except ImportError as exc:
        raise MissingExtraError("mutagen", "metadata") from exc
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # MutagenError and the struct/EOF errors behind it
        return AudioTags(
            "unknown", "", "", (), (f"{path}: unreadable audio tags ({type(exc).__name__}: {exc})",)
        )
    if audio is None:
        return None
    container = type(audio).__name__
    problems: list[str] = []
    try:
        style, fields, xmp = _fields(audio)
    except Exception as exc:
        return AudioTags(container, "", "", (), (f"{path}: unreadable tag values ({exc})",))
    if style == "mp4":
        xmp = _mp4_xmp(path, problems)
    verdicts: list[Verdict] = []
    own = _own_verdict(style, fields, f"{path}#{style}", problems)
    if own is not None:
        verdicts.append(own)
    if xmp is not None:
        reading = read_xmp(xmp, locator=f"{path}#{'PRIV:XMP' if style == 'id3' else 'uuid:XMP'}")
        verdicts.extend(reading.verdicts)
        problems.extend(reading.problems)
    return AudioTags(
        container,
        fields.get("isrc", ""),
        fields.get("copyright", ""),
        tuple(verdicts),
        tuple(problems),
    )
