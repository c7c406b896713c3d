"""Byte-level metadata insertion for JPEG and PNG, so stamping never re-encodes pixels.

JPEG (ISO 10918-1 Annex B; XMP spec part 3 §1.1.3; IPTC IIM 4.2 in a Photoshop APP13): the
markers before the first SOS are rewritten, the entropy-coded scan data and everything
after it are copied byte for byte. PNG (ISO 15948 §11.3.4.5; XMP part 3 §1.1.5): an
``iTXt`` chunk with keyword ``XML:com.adobe.xmp`` is placed before the first ``IDAT``; the
image chunks are copied unchanged.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from tdmguard.errors import MediaError

__all__ = ["ImageStampOutcome", "iim_block", "stamp_jpeg", "stamp_png"]

_XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
_PS_ID = b"Photoshop 3.0\x00"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEY = b"XML:com.adobe.xmp"
_MAX_SEGMENT = 65533  # a JPEG marker segment's length field counts itself (2 bytes)


@dataclass(frozen=True, slots=True)
class ImageStampOutcome:
    data: bytes
    fields: tuple[str, ...]
    notes: tuple[str, ...] = ()


XmpBuilder = Callable[[bytes | None], bytes]


def iim_block(copyright_notice: str, special_instructions: str) -> bytes:
    """IPTC IIM records: 1:90 coded character set (UTF-8), 2:00 record version, 2:116
    Copyright Notice (≤128 bytes) and 2:40 Special Instructions (≤256 bytes)."""

    def ds(record: int, number: int, value: bytes) -> bytes:
        return struct.pack(">BBBH", 0x1C, record, number, len(value)) + value

    def cut(text: str, limit: int) -> bytes:
        raw = text.encode("utf-8")[:limit]
        return raw.decode("utf-8", "ignore").encode("utf-8")  # never split a character

    return (
        ds(1, 90, b"\x1b%G")
        + ds(2, 0, b"\x00\x04")
        + ds(2, 116, cut(copyright_notice, 128))
        + ds(2, 40, cut(special_instructions, 256))
    )


def _app13(iim: bytes) -> bytes:
    # Photoshop image resource 0x0404 (IPTC-NAA), empty Pascal name padded to even length.
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    if len(iim) % 2:
        resource += b"\x00"
    payload = _PS_ID + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def stamp_jpeg(data: bytes, build_xmp: XmpBuilder, iim: bytes, *, where: str) -> ImageStampOutcome:
    if not data.startswith(b"\xff\xd8"):
        raise MediaError("not a JPEG file", where=where)
    pos = 2
    head: list[bytes] = []  # APP0/APP1 Exif segments kept at the front
    rest: list[bytes] = []
    existing_xmp: bytes | None = None
    has_iim = False
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise MediaError(f"truncated or corrupt JPEG marker at byte {pos}", where=where)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte (B.1.1.2)
            pos += 1
            continue
        if marker == 0xDA:  # SOS: scan data follows, copied unchanged to the end
            break
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            rest.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise MediaError(f"JPEG segment at byte {pos} runs past the end", where=where)
        segment = data[pos:end]
        body = segment[4:]
        if marker == 0xE1 and body.startswith(_XMP_JPEG_ID):
            if existing_xmp is None:
                existing_xmp = body[len(_XMP_JPEG_ID) :]
        elif marker == 0xED and body.startswith(_PS_ID):
            has_iim = True
            rest.append(segment)
        elif marker in (0xE0, 0xE1) and not rest:
            head.append(segment)
        else:
            rest.append(segment)
        pos = end
    xmp = build_xmp(existing_xmp)
    if len(_XMP_JPEG_ID) + len(xmp) + 2 > _MAX_SEGMENT:
        raise MediaError("the XMP packet does not fit one JPEG APP1 segment", where=where)
    app1 = b"\xff\xe1" + struct.pack(">H", len(_XMP_JPEG_ID) + len(xmp) + 2) + _XMP_JPEG_ID + xmp
    fields = ["XMP (APP1)"]
    notes: list[str] = []
    extra = b""
    if has_iim:
        notes.append("existing IPTC-IIM (APP13) kept unchanged; the reservation is in XMP")
    else:
        extra = _app13(iim)
        fields.append("IPTC-IIM 2:116 Copyright Notice, 2:40 Special Instructions (APP13)")
    out = b"".join([b"\xff\xd8", *head, app1, extra, *rest, data[pos:]])
    return ImageStampOutcome(out, tuple(fields), tuple(notes))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _itxt_text(body: bytes) -> bytes | None:
    keyword, _, rest = body.partition(b"\x00")
    if keyword != _PNG_XMP_KEY or len(rest) < 2:
        return None
    compressed, _method, rest = rest[0], rest[1], rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        return zlib.decompressobj().decompress(text, 8 * 1024 * 1024)
    return text


def stamp_png(data: bytes, build_xmp: XmpBuilder, *, where: str) -> ImageStampOutcome:
    if not data.startswith(_PNG_SIG):
        raise MediaError("not a PNG file", where=where)
    pos = len(_PNG_SIG)
    chunks: list[bytes] = []
    existing: bytes | None = None
    insert_at: int | None = None
    while pos < len(data):
        if pos + 12 > len(data):
            raise MediaError(f"truncated PNG chunk at byte {pos}", where=where)
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise MediaError(f"PNG chunk {kind!r} at byte {pos} runs past the end", where=where)
        chunk = data[pos:end]
        if kind == b"iTXt" and (text := _itxt_text(chunk[8:-4])) is not None:
            existing = existing if existing is not None else text
        else:
            if kind == b"IDAT" and insert_at is None:
                insert_at = len(chunks)
            chunks.append(chunk)
        pos = end
        if kind == b"IEND":
            break
    if insert_at is None:
        raise MediaError("PNG file without image data (no IDAT chunk)", where=where)
    xmp = build_xmp(existing)
    itxt = _png_chunk(b"iTXt", _PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + xmp)
    chunks.insert(insert_at, itxt)
    return ImageStampOutcome(
        _PNG_SIG + b"".join(chunks) + data[pos:], ("XMP (iTXt XML:com.adobe.xmp)",)
    )
