"""Reading text files for lyrics matching: encoding, binary data, LRC/SRT/WebVTT timing.

A text in another encoding is read, never skipped: byte-order mark, UTF-32/16 without
one, UTF-8, then charset-normalizer's detection; the encoding chosen is part of every
result (``decode_bytes``'s second value, ``TextChunk.encoding``) so evidence can cite it.

Timestamps and cue numbers are *blanked* (replaced by spaces of the same length) rather
than removed, so character offsets of a match still point into the file's decoded text and
line numbers stay the file's line numbers.

Large files are read as a stream of decoded chunks (:func:`iter_text_chunks`), so memory
stays bounded whatever the file size.
"""

from __future__ import annotations

import codecs
import enum
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tdmguard.errors import MediaError

__all__ = [
    "TextChunk",
    "TimedTextFormat",
    "blank_timing",
    "cut_near",
    "decode_bytes",
    "has_wide_bom",
    "iter_text_chunks",
    "sniff_format",
    "text_encoding",
]

SNIFF_BYTES = 64 * 1024
READ_BYTES = 1 << 20


class TimedTextFormat(enum.StrEnum):
    PLAIN = "plain"
    LRC = "lrc"
    SRT = "srt"  # SubRip; WebVTT cues have the same timing lines and are handled alike


_LRC_TAG = re.compile(r"\[\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?\]|<\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?>")
# ID tags of LRC (``[ar:Artist]``, ``[offset:+100]``): whole line is metadata, not lyric.
_LRC_ID_LINE = re.compile(r"^[ \t]*\[[a-z#]{1,8}:[^\]\n]*\][ \t]*$", re.MULTILINE | re.IGNORECASE)
_SRT_TIMING = re.compile(
    r"^[ \t]*(?:\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}[ \t]*-->[ \t]*(?:\d{1,2}:)?\d{1,2}:\d{2}"
    r"[,.]\d{1,3}[^\n]*$",
    re.MULTILINE,
)
_LRC_LINE_TAG = re.compile(r"^\[\d{1,3}:\d{1,2}", re.MULTILINE)
_SRT_CUE_NUMBER = re.compile(r"^[ \t]*\d{1,7}[ \t]*\r?$", re.MULTILINE)
_SRT_MARKUP = re.compile(r"</?[a-zA-Z][^<>\n]{0,40}>|\{\\[^{}\n]{0,40}\}|^WEBVTT[^\n]*$",
                         re.MULTILINE)


def sniff_format(name: str, head: str) -> TimedTextFormat:
    """Format from the file suffix, else from the first characters of its text."""
    suffix = Path(name).suffix.lower()
    if suffix == ".lrc":
        return TimedTextFormat.LRC
    if suffix in (".srt", ".vtt"):
        return TimedTextFormat.SRT
    # the substring tests skip the regexes for ordinary prose (scans call this per document)
    if head.count("-->") >= 2 and len(_SRT_TIMING.findall(head)) >= 2:
        return TimedTextFormat.SRT
    if head.lstrip().startswith("WEBVTT"):
        return TimedTextFormat.SRT
    if head.count("[") >= 2 and len(_LRC_LINE_TAG.findall(head)) >= 2:
        return TimedTextFormat.LRC
    return TimedTextFormat.PLAIN


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def blank_timing(text: str, fmt: TimedTextFormat) -> str:
    """Replace timestamps, cue numbers and markup by spaces (same length, same lines)."""
    if fmt is TimedTextFormat.LRC:
        text = _LRC_ID_LINE.sub(_blank, text)
        return _LRC_TAG.sub(_blank, text)
    if fmt is TimedTextFormat.SRT:
        text = _SRT_TIMING.sub(_blank, text)
        text = _SRT_CUE_NUMBER.sub(_blank, text)
        return _SRT_MARKUP.sub(_blank, text)
    return text


def _looks_binary(head: bytes) -> bool:
    """NUL bytes (outside UTF-16/32) or many C0 control bytes mean: not text."""
    if not head:
        return False
    controls = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    return b"\x00" in head or controls > len(head) // 20


def _wide_unicode(head: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark, from where the NUL bytes of mostly
    Latin text fall (``a\\0b\\0`` is UTF-16-LE); None when the pattern is not there."""
    n = len(head) - len(head) % 4
    if n < 8:
        return None
    sample = head[:n]
    lanes = [sample[i::4].count(0) / (n // 4) for i in range(4)]
    # UTF-32: the two high bytes of every code unit are NUL (below U+10000, all text).
    if lanes[2] > 0.9 and lanes[3] > 0.9 and lanes[0] < 0.5:
        return _if_text(sample, "utf-32-le")
    if lanes[0] > 0.9 and lanes[1] > 0.9 and lanes[3] < 0.5:
        return _if_text(sample, "utf-32-be")
    # UTF-16: NULs (the high byte of ASCII spaces, digits, Latin letters) on one side only;
    # a text in another script still has its spaces and line breaks.
    even = (lanes[0] + lanes[2]) / 2
    odd = (lanes[1] + lanes[3]) / 2
    # (CJK text has few: only its line breaks, and U+xx00 characters such as 一 U+4E00 put
    # a NUL on the other side now and then, hence a ratio rather than zero.)
    if odd > 0.01 and even < odd / 4:
        return _if_text(sample, "utf-16-le")
    if even > 0.01 and odd < even / 4:
        return _if_text(sample, "utf-16-be")
    return None


def _if_text(sample: bytes, encoding: str) -> str | None:
    """``encoding`` when ``sample`` decodes with it to text (few control characters), so a
    binary file with a regular NUL pattern is not taken for UTF-16."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\x1b")
    return encoding if controls <= len(text) // 20 else None


def _detected(head: bytes) -> str | None:
    """The encoding charset-normalizer finds most likely for ``head`` (None: no verdict or
    the detector is not installed)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a core dependency
        return None
    try:
        results = list(from_bytes(head[:SNIFF_BYTES]))
    except Exception:  # a detector bug must not cost the file
        return None
    if not results:
        return None
    best = results[0]
    try:
        western = head[:SNIFF_BYTES].decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and any(
        m.chaos <= best.chaos and str(m) == western for m in results
    ):
        # Short Western text reads the same in several code pages and the detector names
        # any of them (cp775, cp852 ...); Windows-1252 when it gives exactly that text.
        return "cp1252"
    if best.encoding in _KOREAN and len(results) > 1:
        # Shift-JIS Japanese often decodes as rare Hangul with no word spaces, and the
        # detector cannot tell them apart (both "coherent" 0): Korean puts spaces between
        # words, so Hangul without spaces is read with the next candidate.
        text = str(best)
        hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3")
        if hangul > 20 and text.count(" ") < hangul // 20:
            best = results[1]
    return best.encoding


_KOREAN = frozenset({"cp949", "euc_kr", "johab", "iso2022_kr"})


def _choose_encoding(head: bytes) -> str:
    """BOM first; then UTF-32/UTF-16 without a BOM (their NUL pattern); then UTF-8 if the
    head decodes as UTF-8 (a sequence cut at the end is fine); then charset-normalizer's
    verdict (Windows-1252, Latin-2, Shift-JIS, GB18030, KOI8-R, ...) unless the head is
    UTF-8 with at most 1 % broken bytes; else Windows-1252,
    the usual wrong encoding of Western text. Names are Python codec names."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return name
    wide = _wide_unicode(head)
    if wide is not None:
        return wide
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    if b"\x00" in head:
        return "cp1252"  # binary: refused by the caller, no detector run on it
    # A UTF-8 file with a few broken bytes stays UTF-8 (those become U+FFFD): detectors
    # read such files as exotic code pages.
    as_utf8 = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    bad = as_utf8.count("\ufffd")
    # ... but only if it holds real UTF-8 sequences too: a Western text in Windows-1252 has a
    # few high bytes, none of them valid UTF-8, and must not lose its accents to U+FFFD.
    has_utf8 = any(ord(c) >= 0x80 and c != "\ufffd" for c in as_utf8)
    if has_utf8 and bad * 100 <= len(head):
        return "utf-8"
    found = _detected(head)
    if found is not None:
        try:
            return codecs.lookup(found).name
        except LookupError:
            pass
    return "cp1252"


_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def text_encoding(head: bytes) -> str | None:
    """The encoding the first bytes of a file read as text in (the same choice as
    :func:`decode_bytes`), or None when they are not text. For media sniffers that know
    only UTF-8: a lyric saved as Windows-1252, KOI8-R, Shift-JIS or UTF-16 is text too.
    ``has_wide_bom`` tells whether a UTF-16/32 byte-order mark starts it (``FF FE`` also
    looks like an MP3 frame header)."""
    if not head:
        return None
    encoding = _choose_encoding(head[:SNIFF_BYTES])
    wide = encoding.startswith(("utf-16", "utf-32"))
    if not wide and _looks_binary(head[:SNIFF_BYTES]):
        return None
    sample = head[:SNIFF_BYTES]
    if wide:
        sample = sample[: len(sample) - len(sample) % 4]
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    text = text.lstrip("\ufeff")
    if not text.strip():
        return None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\x1b")
    return encoding if controls <= len(text) // 20 else None


def has_wide_bom(head: bytes) -> bool:
    """True when ``head`` starts with a UTF-16 or UTF-32 byte-order mark."""
    return head.startswith(_WIDE_BOMS)


def decode_bytes(data: bytes, *, where: str) -> tuple[str, str]:
    """Decode a whole (small) byte string: (text, encoding). Raises ``MediaError`` for
    binary data. Undecodable bytes become U+FFFD."""
    encoding = _choose_encoding(data[:SNIFF_BYTES])
    if not encoding.startswith("utf-16") and not encoding.startswith("utf-32") \
            and _looks_binary(data[:SNIFF_BYTES]):
        raise MediaError("binary data, not text", where=where)
    return data.decode(encoding, errors="replace"), encoding


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of a file's decoded text: ``text`` starts at character ``char_base`` and
    line ``line_base`` (1-based) of the whole text."""

    text: str
    char_base: int
    line_base: int
    encoding: str
    fmt: TimedTextFormat


def iter_text_chunks(path: Path, *, chunk_chars: int, overlap_chars: int) -> Iterator[TextChunk]:
    """Decoded, timing-blanked chunks of ``path`` of at most ``chunk_chars`` characters
    (plus ``overlap_chars`` repeated from the previous chunk, cut at a line break or space
    where possible, so a lyric excerpt that straddles a boundary lies whole in one chunk).

    Raises ``MediaError`` naming the file when it cannot be read or holds binary data."""
    where = str(path)
    try:
        # without blocking: open() on a FIFO waits for a writer forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise MediaError(f"cannot read ({exc.strerror or exc})", where=where) from exc
    fh = os.fdopen(fd, "rb")
    with fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MediaError("not a regular file (a FIFO, device or folder)", where=where)
        try:
            head = fh.read(SNIFF_BYTES)
        except OSError as exc:
            raise MediaError(f"cannot read ({exc.strerror or exc})", where=where) from exc
        encoding = _choose_encoding(head)
        if not encoding.startswith(("utf-16", "utf-32")) and _looks_binary(head):
            raise MediaError("binary data, not text", where=where)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        fmt = sniff_format(path.name, decoder.decode(head[:4096], final=False))
        decoder.reset()
        pending = decoder.decode(head, final=False)
        carry = ""  # overlap kept from the previous chunk
        char_base = 0  # offset of carry[0] (or of pending[0] when carry is empty)
        line_base = 1
        eof = False
        while not eof or pending:
            while not eof and len(pending) < chunk_chars:
                try:
                    block = fh.read(READ_BYTES)
                except OSError as exc:
                    raise MediaError(f"cannot read ({exc.strerror or exc})", where=where) from exc
                if not block:
                    pending += decoder.decode(b"", final=True)
                    eof = True
                    break
                if b"\x00" in block and not encoding.startswith(("utf-16", "utf-32")):
                    raise MediaError("binary data, not text", where=where)
                pending += decoder.decode(block, final=False)
            if eof and len(pending) <= chunk_chars:
                cut = len(pending)
            else:
                cut = cut_near(pending, chunk_chars)
            body, pending = pending[:cut], pending[cut:]
            text = carry + body
            yield TextChunk(blank_timing(text, fmt), char_base, line_base, encoding, fmt)
            if not pending and eof:
                return
            keep = cut_near(text, len(text) - overlap_chars)
            dropped = text[:keep]
            char_base += len(dropped)
            line_base += dropped.count("\n")
            carry = text[keep:]


def cut_near(text: str, at: int) -> int:
    """A cut position at or before ``at``: just after a line break, else after a space
    (looking back at most 4,096 characters), else ``at`` itself (a huge single line is cut
    anywhere)."""
    at = max(0, min(at, len(text)))
    lo = max(0, at - 4096)
    for sep in ("\n", " "):
        pos = text.rfind(sep, lo, at)
        if pos >= 0:
            return pos + 1
    return at
