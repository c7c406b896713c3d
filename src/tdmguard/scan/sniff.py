"""Media kind from the content's first bytes, never from the file extension."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from tdmguard.errors import MediaError
from tdmguard.scan.record import MediaKind

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "MAGIC_BYTES",
    "SNIFF_BYTES",
    "blob_kinds",
    "container_magic",
    "magic_kind",
    "sniff_bytes",
    "sniff_path",
]

SNIFF_BYTES = 4096


def _is_mp3_frame(head: bytes) -> bool:
    # MPEG audio frame sync: 11 set bits, a valid layer and bitrate index.
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    return layer != 0 and bitrate not in (0, 15)


# C0 control bytes that no text has many of (tab, line feed, form feed, carriage return
# and ESC, which ISO-2022 uses, are left out), as the lyrics reader counts them.
_C0_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TEXT_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def _binary_at_a_glance(head: bytes) -> bool:
    """True for bytes the lyrics reader would refuse as binary, told without its charset
    detector (about a millisecond a call; random-looking blobs in a table otherwise cost
    that per row): more than 5 % C0 control bytes, which no 8-bit or multi-byte encoding's
    text has (the reader's own rule), and none of the NUL patterns of UTF-16/32 text: no
    byte-order mark, under 10 % NUL bytes (UTF-32 has over 45 % on both sides of every code
    unit) and no clean UTF-16 reading (random bytes hold unpaired surrogates)."""
    if head.startswith(_WIDE_BOMS):
        return False
    size = len(head)
    if size < 8 or (size - len(head.translate(None, _C0_CONTROLS))) * 20 <= size:
        return False
    if head.count(0) * 10 >= size:
        return False
    even = head[: size - size % 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            even.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start >= len(even) - 4:  # a pair cut at the end: may be UTF-16
                return False
        else:
            return False
    return True


def _text_or_unknown(head: bytes) -> MediaKind:
    """Text in an encoding other than UTF-8 (Windows-1252, KOI8-R, Shift-JIS, UTF-16/32) is
    text too: a lyric saved that way must be checked, not set aside (issue 18)."""
    if _binary_at_a_glance(head):
        return MediaKind.UNKNOWN
    from tdmguard.fingerprint.lyrics.reading import text_encoding

    return MediaKind.TEXT if text_encoding(head) is not None else MediaKind.UNKNOWN


MAGIC_BYTES = 12  # what :func:`magic_kind` looks at


def magic_kind(head: bytes) -> MediaKind | None:
    """The media kind that the signature in ``head[:MAGIC_BYTES]`` settles on its own (a
    RIFF, FLAC, Ogg, ID3, AIFF, MP4/HEIF, MIDI, PNG, JPEG, GIF, BMP, TIFF or MPEG frame
    header), or None when the rest of the content decides (text, or nothing known). The
    caller has ruled out a byte-order mark; :func:`sniff_bytes` asks this first."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return MediaKind.AUDIO if head[8:12] == b"WAVE" else MediaKind.UNKNOWN
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.IMAGE
    if head[:4] in (b"fLaC", b"OggS") or head[:3] == b"ID3" or head[:4] == b"FORM":
        return MediaKind.AUDIO
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis", b"heic", b"heix", b"mif1"):
            return MediaKind.IMAGE
        return MediaKind.AUDIO  # M4A / MP4 audio (video containers carry audio too)
    if head[:4] == b"MThd":
        return MediaKind.SYMBOLIC
    if (
        head[:8] == b"\x89PNG\r\n\x1a\n"
        or head[:3] == b"\xff\xd8\xff"
        or head[:6] in (b"GIF87a", b"GIF89a")
        or head[:2] == b"BM"
        or head[:4] in (b"II*\x00", b"MM\x00*")
    ):
        return MediaKind.IMAGE
    if _is_mp3_frame(head):
        return MediaKind.AUDIO
    return None


def sniff_bytes(head: bytes) -> MediaKind:
    """Media kind of a file whose first bytes are ``head`` (up to :data:`SNIFF_BYTES`)."""
    if head.startswith(_TEXT_BOMS):
        # A UTF-16/32 byte-order mark (FF FE also looks like an MPEG frame header).
        kind = _text_or_unknown(head)
        if kind is MediaKind.TEXT:
            return kind
    magic = magic_kind(head)
    if magic is not None:
        return magic
    if b"\x00" in head[:1024]:
        return _text_or_unknown(head)  # UTF-16/32 without a byte-order mark, or binary
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed block is still text.
        if exc.start < len(head) - 4:
            return _text_or_unknown(head)
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if (
        stripped.startswith("<?xml")
        or stripped.startswith("<!DOCTYPE score")
        or stripped.startswith("<score-")
    ):
        return (
            MediaKind.SYMBOLIC
            if "score-partwise" in text or "score-timewise" in text
            else MediaKind.TEXT
        )
    if stripped.startswith("**kern") or (stripped.startswith("X:") and "\nK:" in text):
        return MediaKind.SYMBOLIC
    return MediaKind.TEXT


def container_magic(head: bytes) -> str | None:
    """The archive or dataset container ``head`` starts, if any: a scan must open these or
    report them, never check (and keep) them as one opaque item."""
    if head[257:262] == b"ustar":
        return "tar archive"
    for magic, what in (
        (b"\x1f\x8b", "gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "7z archive"),
        (b"\xfd7zXZ\x00", "xz archive"),
        (b"\x28\xb5\x2f\xfd", "zstd archive"),
        (b"Rar!\x1a\x07", "rar archive"),
        (b"PAR1", "Parquet file"),
        (b"ARROW1", "Arrow file"),
    ):
        if head.startswith(magic):
            return what
    if head[:3] == b"BZh" and head[4:10] == b"\x31\x41\x59\x26\x53\x59":
        return "bzip2 archive"
    if head[:4] == b"\xff\xff\xff\xff" and head[8:12] in (b"\x10\x00\x00\x00", b"\x0c\x00\x00\x00"):
        return "Arrow stream"
    return None


def sniff_path(path: Path) -> MediaKind:
    """Media kind of a file; raises :class:`MediaError` naming it when it cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    if not head:
        raise MediaError("empty file", where=str(path))
    if head[:4] == b"PK\x03\x04":  # compressed MusicXML (.mxl) is a zip with a container
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            return MediaKind.UNKNOWN
        if "META-INF/container.xml" in names and not any(n.endswith(".opf") for n in names):
            return MediaKind.SYMBOLIC
        return MediaKind.UNKNOWN
    return sniff_bytes(head)


def _settled_by_magic(head: bytes) -> MediaKind | None:
    """What :func:`magic_kind` says of a blob whose first :data:`MAGIC_BYTES` are ``head``
    when nothing before it in the reader's order (a byte-order mark, a zip or another
    container signature) could decide instead; None leaves the blob to a full sniff."""
    if head.startswith(_TEXT_BOMS) or head[:4] == b"PK\x03\x04" or container_magic(head):
        return None
    return magic_kind(head)


def blob_kinds(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> list[MediaKind | None]:
    """Media kinds of many blobs at once, blob ``i`` being ``data[starts[i]:][:lengths[i]]``
    (``data`` a uint8 array, typically an Arrow binary column's data buffer; ``starts`` and
    ``lengths`` int64 arrays of shape (n,)). Each blob's first :data:`MAGIC_BYTES` bytes
    are gathered in one (n, 12) array, the distinct heads (few, in a column of images or
    audio) are judged once by :func:`magic_kind`, and the answer is mapped back. A blob
    gets None when its signature does not settle it (shorter than 12 bytes, text, a
    byte-order mark, a container, a tar header at byte 257, nothing known): the caller
    sniffs that one in full, so the answer per blob is the full sniff's by construction."""
    import numpy as np

    n = len(starts)
    out: list[MediaKind | None] = [None] * n
    candidates = np.nonzero(lengths >= MAGIC_BYTES)[0]
    if not len(candidates):
        return out
    first = starts[candidates]
    heads = np.ascontiguousarray(data[first[:, None] + np.arange(MAGIC_BYTES)])
    keys = heads.view(f"V{MAGIC_BYTES}").ravel()
    distinct, inverse = np.unique(keys, return_inverse=True)
    # one more slot, None, for the blobs a tar header at byte 257 leaves to the full sniff
    kinds = np.array(
        [_settled_by_magic(key.tobytes()) for key in distinct] + [None], dtype=object
    )
    which = inverse.ravel()
    long = np.nonzero(lengths[candidates] >= 262)[0]
    if len(long):
        at = first[long][:, None] + 257 + np.arange(5)
        tar = (data[at] == np.frombuffer(b"ustar", dtype=np.uint8)).all(axis=1)
        which[long[tar]] = len(distinct)
    if len(candidates) == n:
        kinds_of_all: list[MediaKind | None] = kinds[which].tolist()
        return kinds_of_all
    for row, kind in zip(candidates.tolist(), kinds[which].tolist(), strict=True):
        out[row] = kind
    return out
