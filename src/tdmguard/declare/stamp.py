"""``stamp``: writes a holder's reservation into audio and image files without re-encoding.

Fields written (one logical field, one storage style per container; docs/declare.md has
the full table):

- ID3v2.4 (MP3, WAV, AIFF): ``TXXX:<TAG>`` for tdmguard's tags (:data:`TAG_NAMES`),
  ``TSRC`` (ISRC), ``TCOP`` (copyright, only if absent), ``PRIV`` owner ``XMP`` (XMP packet).
- Vorbis comments (Ogg Vorbis, Opus, FLAC): ``<TAG>``, ``ISRC``, ``COPYRIGHT`` (if absent);
  no XMP (no standard carrier).
- MP4 / M4A: ``----:org.tdmguard:<TAG>``, ``----:com.apple.iTunes:ISRC``, ``cprt`` (if
  absent), and a top-level ``uuid`` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC with the XMP.

Images: XMP (``plus:DataMining``, ``tdm:reservation``, IPTC rights fields) in JPEG APP1 and
PNG iTXt; IPTC-IIM Copyright Notice and Special Instructions in JPEG APP13.

No standard ID3 / Vorbis / MP4 field for a TDM reservation exists (optout-protocols.md
§8.3): the ``TDM_*`` and ``TDMGUARD_*`` tags are tdmguard's own convention; the XMP packet
is the standards-based carrier. Each file is stamped on a temporary copy in its folder,
then renamed over the original, so a failure leaves the original untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdmguard.declare.c2pa_sign import C2paCredentials, sign_c2pa
from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.image_segments import iim_block, stamp_jpeg, stamp_png
from tdmguard.declare.xmp_packet import XmpRights, build_xmp_packet
from tdmguard.errors import InputError, MediaError, MissingExtraError
from tdmguard.vocab import Use, covered_uses

__all__ = [
    "MP4_XMP_UUID",
    "TAG_NAMES",
    "C2paStamp",
    "StampFields",
    "StampResult",
    "stamp_file",
]

# XMP spec part 3 §1.1.4: the UUID of the top-level box that carries XMP in ISO BMFF.
MP4_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_MP4_MEAN = "org.tdmguard"

# tdmguard's own tags: logical name -> tag name (ID3 TXXX description, Vorbis field name,
# MP4 freeform name under the mean "org.tdmguard").
TAG_NAMES = {
    "reservation": "TDM_RESERVATION",
    "policy": "TDM_POLICY",
    "reserved_uses": "TDMGUARD_RESERVED_USES",
    "holder": "TDMGUARD_HOLDER",
    "licensing": "TDMGUARD_LICENSING",
    "declaration": "TDMGUARD_DECLARATION",
    "effective_from": "TDMGUARD_EFFECTIVE_FROM",
    "work_id": "TDMGUARD_WORK_ID",
}


@dataclass(frozen=True, slots=True)
class StampFields:
    """The values a stamp writes, derived from a declaration (and a work, if named)."""

    holder: str
    reserved_uses: frozenset[Use]
    policy_url: str
    licensing_url: str
    contact_email: str
    declaration_url: str
    effective_from: str
    work_id: str = ""
    isrc: str = ""

    @classmethod
    def from_declaration(cls, decl: HolderDeclaration, work_id: str | None = None) -> StampFields:
        work = decl.work(work_id) if work_id else None
        return cls(
            holder=decl.holder,
            reserved_uses=decl.reserved_uses,
            policy_url=decl.policy_url,
            licensing_url=decl.licensing_url,
            contact_email=decl.contact_email,
            declaration_url=decl.page_url,
            effective_from=decl.effective_from.isoformat(),
            work_id=work.work_id if work else "",
            isrc=work.isrc if work else "",
        )

    @property
    def copyright_notice(self) -> str:
        return f"{self.holder}. All rights reserved, including text and data mining."

    @property
    def usage_terms(self) -> str:
        uses = ", ".join(sorted(u.value for u in covered_uses(self.reserved_uses)))
        return (
            f"Reserved under Art. 4(3) Directive (EU) 2019/790 from {self.effective_from}: {uses}."
            f" Licensing: {self.licensing_url} ({self.contact_email})."
        )

    def tag_values(self) -> dict[str, str]:
        """tdmguard's own tags, by logical name (empty values left out)."""
        values = {
            "reservation": "1",
            "policy": self.policy_url,
            "reserved_uses": " ".join(sorted(u.value for u in self.reserved_uses)),
            "holder": self.holder,
            "licensing": f"{self.licensing_url} {self.contact_email}",
            "declaration": self.declaration_url,
            "effective_from": self.effective_from,
            "work_id": self.work_id,
        }
        return {k: v for k, v in values.items() if v}

    def xmp(self, existing: bytes | None) -> bytes:
        rights = XmpRights(
            holder=self.holder,
            reserved_uses=self.reserved_uses,
            copyright_notice=self.copyright_notice,
            usage_terms=self.usage_terms,
            web_statement=self.declaration_url,
            licensing_url=self.licensing_url,
            contact_email=self.contact_email,
            policy_url=self.policy_url,
        )
        return build_xmp_packet(rights, existing)


@dataclass(frozen=True, slots=True)
class C2paStamp:
    """Also embed a signed C2PA manifest (``cawg.training-mining``; with ``legacy_label``
    also ``c2pa.training-mining``), after the tags, so its hashes cover them."""

    credentials: C2paCredentials
    legacy_label: bool = False


@dataclass(frozen=True, slots=True)
class StampResult:
    path: Path
    container: str
    fields: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "container": self.container,
            "fields": list(self.fields),
            "notes": list(self.notes),
        }


def _mutagen() -> Any:
    try:
        import mutagen
    except ImportError as exc:
        raise MissingExtraError("mutagen", "metadata") from exc
    return mutagen


def _xmp_or_fail(fields: StampFields, existing: bytes | None, where: str) -> bytes:
    try:
        return fields.xmp(existing)
    except InputError as exc:
        raise MediaError(f"cannot merge with the file's XMP: {exc.message}", where=where) from exc


def _stamp_id3(tags: Any, fields: StampFields, where: str) -> tuple[list[str], list[str]]:
    import mutagen.id3

    id3: Any = mutagen.id3  # frame constructors are untyped
    written: list[str] = []
    for logical, value in fields.tag_values().items():
        name = TAG_NAMES[logical]
        tags.delall(f"TXXX:{name}")
        tags.add(id3.TXXX(encoding=3, desc=name, text=[value]))
        written.append(f"TXXX:{name}")
    notes: list[str] = []
    if fields.isrc:
        tags.delall("TSRC")
        tags.add(id3.TSRC(encoding=3, text=[fields.isrc]))
        written.append("TSRC")
    if not tags.getall("TCOP"):
        tags.add(id3.TCOP(encoding=3, text=[fields.copyright_notice]))
        written.append("TCOP")
    else:
        notes.append("existing TCOP (copyright) kept")
    old = [f for f in tags.getall("PRIV") if f.owner == "XMP"]
    packet = _xmp_or_fail(fields, bytes(old[0].data) if old else None, where)
    for frame in old:
        tags.delall(frame.HashKey)
    tags.add(id3.PRIV(owner="XMP", data=packet))
    written.append("PRIV:XMP")
    return written, notes


def _stamp_vorbis(tags: Any, fields: StampFields) -> tuple[list[str], list[str]]:
    written: list[str] = []
    for logical, value in fields.tag_values().items():
        tags[TAG_NAMES[logical]] = [value]
        written.append(TAG_NAMES[logical])
    notes: list[str] = []
    if fields.isrc:
        tags["ISRC"] = [fields.isrc]
        written.append("ISRC")
    if "COPYRIGHT" not in tags:
        tags["COPYRIGHT"] = [fields.copyright_notice]
        written.append("COPYRIGHT")
    else:
        notes.append("existing COPYRIGHT kept")
    notes.append("no XMP: Ogg and FLAC have no standard XMP carrier")
    return written, notes


def _stamp_mp4(tags: Any, fields: StampFields) -> tuple[list[str], list[str]]:
    import mutagen.mp4

    mp4: Any = mutagen.mp4  # MP4FreeForm is untyped
    written: list[str] = []
    for logical, value in fields.tag_values().items():
        key = f"----:{_MP4_MEAN}:{TAG_NAMES[logical]}"
        tags[key] = [mp4.MP4FreeForm(value.encode(), dataformat=mp4.AtomDataType.UTF8)]
        written.append(key)
    notes: list[str] = []
    if fields.isrc:
        tags["----:com.apple.iTunes:ISRC"] = [
            mp4.MP4FreeForm(fields.isrc.encode(), mp4.AtomDataType.UTF8)
        ]
        written.append("----:com.apple.iTunes:ISRC")
    if "cprt" not in tags:
        tags["cprt"] = [fields.copyright_notice]
        written.append("cprt")
    else:
        notes.append("existing cprt (copyright) kept")
    return written, notes


def _mp4_top_boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    """``(offset, size, type)`` of each top-level box (ISO 14496-12 §4.2)."""
    out = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1 and pos + 16 <= len(data):
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
        elif size == 0:
            size = len(data) - pos
        if size < 8 or pos + size > len(data):
            break
        out.append((pos, size, kind))
        pos += size
    return out


def _mp4_append_xmp(path: Path, fields: StampFields, where: str) -> None:
    """Add the XMP ``uuid`` box at the end of the file: nothing before it moves, so the
    sample offsets in ``stco``/``co64`` stay valid. An older XMP box is turned into a
    ``free`` box of the same size (its content is merged first)."""
    data = bytearray(path.read_bytes())
    existing: bytes | None = None
    for offset, size, kind in _mp4_top_boxes(bytes(data)):
        if kind == b"uuid" and data[offset + 8 : offset + 24] == MP4_XMP_UUID:
            if existing is None:
                existing = bytes(data[offset + 24 : offset + size])
            data[offset + 4 : offset + 8] = b"free"
    packet = _xmp_or_fail(fields, existing, where)
    data += struct.pack(">I4s", 24 + len(packet), b"uuid") + MP4_XMP_UUID + packet
    path.write_bytes(bytes(data))


def _stamp_audio(tmp: Path, fields: StampFields, where: str) -> tuple[str, list[str], list[str]]:
    mutagen = _mutagen()
    from mutagen.flac import FLAC
    from mutagen.mp4 import MP4
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    try:
        audio = mutagen.File(tmp)
    except Exception as exc:  # mutagen raises MutagenError subclasses and struct errors
        raise MediaError(f"cannot read the audio container: {exc}", where=where) from exc
    if audio is None:
        raise MediaError("not a supported audio or image file", where=where)
    container = type(audio).__name__
    try:
        if audio.tags is None:
            audio.add_tags()
        tags = audio.tags
        if isinstance(audio, MP4):
            written, notes = _stamp_mp4(tags, fields)
        elif hasattr(tags, "getall"):  # ID3 (MP3, WAVE, AIFF)
            written, notes = _stamp_id3(tags, fields, where)
        elif isinstance(audio, FLAC | OggFLAC | OggOpus | OggVorbis):
            written, notes = _stamp_vorbis(tags, fields)
        else:
            raise MediaError(f"stamping {container} files is not supported", where=where)
        audio.save()
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError(f"cannot write tags: {exc}", where=where) from exc
    if isinstance(audio, MP4):
        _mp4_append_xmp(tmp, fields, where)
        written.append("uuid:XMP")
    return container, written, notes


def _stamp_image(
    tmp: Path, head: bytes, fields: StampFields, where: str
) -> tuple[str, list[str], list[str]]:
    data = tmp.read_bytes()

    def build(existing: bytes | None) -> bytes:
        return _xmp_or_fail(fields, existing, where)

    if head.startswith(b"\xff\xd8\xff"):
        iim = iim_block(fields.copyright_notice, fields.usage_terms)
        outcome = stamp_jpeg(data, build, iim, where=where)
        container = "JPEG"
    else:
        outcome = stamp_png(data, build, where=where)
        container = "PNG"
    tmp.write_bytes(outcome.data)
    return container, list(outcome.fields), list(outcome.notes)


def stamp_file(path: Path, fields: StampFields, *, c2pa: C2paStamp | None = None) -> StampResult:
    """Write the reservation into ``path`` in place (through a temporary copy); with ``c2pa``
    also a signed C2PA manifest (a file type without room for one fails, unchanged).

    Raises :class:`MediaError` naming the file when it is not a supported, readable
    container; the original is then unchanged."""
    where = str(path)
    try:
        # O_NONBLOCK and a regular-file check: a FIFO passed here blocked open() forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise MediaError(f"cannot read: {exc.strerror or exc}", where=where) from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MediaError("not a regular file (a FIFO, device or folder)", where=where)
        try:
            head = fh.read(16)
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}", where=where) from exc
    # The temporary copy keeps the suffix: mutagen weighs it when it picks a container.
    fd, name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    signed = tmp.with_name(tmp.name + ".c2pa" + path.suffix)
    try:
        shutil.copyfile(path, tmp)
        shutil.copymode(path, tmp)
        stamp: Callable[[], tuple[str, list[str], list[str]]]
        if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            stamp = lambda: _stamp_image(tmp, head, fields, where)  # noqa: E731
        else:
            stamp = lambda: _stamp_audio(tmp, fields, where)  # noqa: E731
        container, written, notes = stamp()
        if c2pa is not None:
            labels, c2pa_notes = sign_c2pa(
                tmp,
                signed,
                fields.reserved_uses,
                c2pa.credentials,
                legacy_label=c2pa.legacy_label,
                where=where,
                suffix=path.suffix,
            )
            shutil.copymode(path, signed)
            os.replace(signed, tmp)
            written += [f"c2pa:{label}" for label in labels]
            notes += list(c2pa_notes)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        signed.unlink(missing_ok=True)
    return StampResult(path, container, tuple(written), tuple(notes))
