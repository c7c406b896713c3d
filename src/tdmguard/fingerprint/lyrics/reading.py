"""Reading text files for lyrics matching: encoding, binary data, LRC/SRT/WebVTT timing.

Timestamps and cue numbers are *blanked* (replaced by spaces of the same length) rather
than removed, so character offsets of a match still point into the file's decoded text and
line numbers stay the file's line numbers.

Large files are read as a stream of decoded chunks (:func:`iter_text_chunks`), so memory
stays bounded whatever the file size.
"""

from __future__ import annotations

import codecs
import enum
import re
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
    "iter_text_chunks",
    "sniff_format",
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


def _choose_encoding(head: bytes) -> str:
    """BOM first; then UTF-8 if the head decodes as UTF-8 (a sequence cut at the end is
    fine); else Windows-1252, the usual wrong encoding of Western text."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


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
        fh = path.open("rb")
    except OSError as exc:
        raise MediaError(f"cannot read ({exc.strerror or exc})", where=where) from exc
    with fh:
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
