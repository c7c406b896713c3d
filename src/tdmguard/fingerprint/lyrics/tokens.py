"""From text to token arrays, normalising each distinct chunk of text once per process.

:class:`TokenEncoder` keeps a vocabulary (chunk -> its raw and normalised tokens), so a
large corpus costs a few C-level byte passes, one dictionary look-up per chunk and numpy
work; the regex and the Unicode normalisation run only for chunks not seen before.

A chunk is a run of the UTF-8 text between ASCII separators (``bytes.translate`` maps them
to spaces, ``bytes.split`` cuts there: about three times faster than the token regex).
Chunks are cut at a subset of the separators, so each holds zero or more whole raw tokens
of ``TOKEN_PATTERN`` (``"wait\u2014what"`` holds two, ``"\u2014"`` none), and the raw tokens
of the chunks in order are exactly ``TOKEN_PATTERN.findall(text)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tdmguard.fingerprint.lyrics.hashing import UNITS, token_hash
from tdmguard.fingerprint.lyrics.normalise import TOKEN_PATTERN, split_token

__all__ = ["TokenArrays", "TokenEncoder"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]

_MAX_VOCAB = 1 << 21  # chunks remembered; the vocabulary restarts beyond this
_MAX_SUBS = 1 << 23  # ... or beyond this many normalised tokens (long unspaced chunks)
# Stands for a line break in the byte stream: it is a separate chunk (line numbers come
# out of the same pass). Texts holding a NUL themselves take the regex path.
_NEWLINE_MARK = b"\x00"


def _ascii_separators() -> bytes:
    """256-byte ``bytes.translate`` table: every ASCII byte the token regex treats as a
    separator (line break excepted) becomes a space; derived from the regex itself."""
    table = bytearray(range(256))
    for code in range(128):
        char = chr(code)
        if char != "\n" and TOKEN_PATTERN.fullmatch(char) is None:
            table[code] = 0x20
    return bytes(table)


_SEPARATOR_TABLE = _ascii_separators()


@dataclass(frozen=True, slots=True, eq=False)
class TokenArrays:
    """Normalised tokens of a text, all shape (t,).

    ``hashes``: token hashes; ``units``: window units (``hashing.UNITS``); ``raw_index``:
    index of the raw token in ``TOKEN_PATTERN.findall(text)`` (line breaks included);
    ``line``: 1-based line number within the text; ``sub``: the token's row in the
    encoder's vocabulary (for :meth:`TokenEncoder.char_offsets`, asked only for the few
    tokens a fingerprint keeps positions of)."""

    hashes: U64
    units: I8
    raw_index: I64
    line: I64
    sub: I64

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


class _Column:
    """A numpy array that grows by doubling (amortised O(1) appends)."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self._data: npt.NDArray[np.generic] = np.zeros(1024, dtype)
        self.size = 0

    def extend(self, values: list[int]) -> None:
        need = self.size + len(values)
        if need > self._data.shape[0]:
            grown = np.zeros(max(need, 2 * self._data.shape[0]), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : need] = values
        self.size = need

    @property
    def view(self) -> npt.NDArray[np.generic]:
        return self._data[: self.size]


class _Vocabulary(dict[str | bytes, int]):
    """Chunk -> group number; an unknown chunk is normalised on first look-up (so a text is
    encoded in one ``map`` over its chunks, with no separate set difference). Keys are
    ``bytes`` chunks, or ``str`` raw tokens on the regex path."""

    def __init__(self, learn: Callable[[str | bytes], int]) -> None:
        super().__init__()
        self._learn = learn

    def __missing__(self, chunk: str | bytes) -> int:
        group = self[chunk] = self._learn(chunk)
        return group


def _chunks(text: str) -> list[bytes] | list[str]:
    """The chunks of ``text`` in order: ``bytes`` between ASCII separators (line breaks as
    :data:`_NEWLINE_MARK`), or the regex's raw tokens for a text holding a NUL."""
    if "\x00" in text:
        return TOKEN_PATTERN.findall(text)
    # lone surrogates (possible in a str) survive the round trip through surrogatepass
    data = text.encode("utf-8", "surrogatepass").replace(b"\n", b" \x00 ")
    return data.translate(_SEPARATOR_TABLE).split()


def _raw_tokens(chunk: str | bytes) -> list[str]:
    if isinstance(chunk, str):  # regex path: the chunk is one raw token
        return [chunk]
    if chunk.isascii():  # no separator left inside: one raw token
        return [chunk.decode("ascii")]
    return TOKEN_PATTERN.findall(chunk.decode("utf-8", "surrogatepass"))


class TokenEncoder:
    """Turns text into :class:`TokenArrays`; one per worker (not thread-safe)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._vocab = _Vocabulary(self._learn)
        # per chunk (group): first sub-token, number of sub-tokens, number of raw tokens,
        # is a line break
        self._g_start = _Column(np.int64)
        self._g_len = _Column(np.int64)
        self._g_raw = _Column(np.int64)
        self._g_newline = _Column(np.int8)
        # per sub-token: hash, units, which raw token of its chunk, offset and length in it
        self._s_hash = _Column(np.uint64)
        self._s_units = _Column(np.int8)
        self._s_raw = _Column(np.int32)
        self._s_offset = _Column(np.int32)
        self._s_length = _Column(np.int32)
        self._hash_cache: dict[str, int] = {}
        self._pending: list[list[int]] = [[] for _ in range(9)]
        self._groups = 0
        self._subs = 0
        # line breaks learned first: group 0 on the byte path, group 1 on the regex path
        self._vocab[_NEWLINE_MARK] = self._learn(_NEWLINE_MARK)
        self._vocab["\n"] = self._learn(_NEWLINE_MARK)
        self._flush()

    def _learn(self, chunk: str | bytes) -> int:
        """Normalise a new chunk; its rows wait in ``_pending`` until :meth:`_flush`."""
        starts, lens, raws, newline, hashes, units, raw_of, offsets, lengths = self._pending
        group = self._groups
        self._groups += 1
        starts.append(self._subs)
        if chunk == _NEWLINE_MARK:
            lens.append(0)
            raws.append(1)
            newline.append(1)
            return group
        cache = self._hash_cache
        tokens = _raw_tokens(chunk)
        count = 0
        for number, raw in enumerate(tokens):
            for sub in split_token(raw):
                h = cache.get(sub.text)
                if h is None:
                    h = cache[sub.text] = token_hash(sub.text)
                hashes.append(h)
                units.append(UNITS[sub.kind])
                raw_of.append(number)
                offsets.append(sub.offset)
                lengths.append(sub.length)
                count += 1
        lens.append(count)
        raws.append(len(tokens))
        newline.append(0)
        self._subs += count
        return group

    def _flush(self) -> None:
        columns = (self._g_start, self._g_len, self._g_raw, self._g_newline, self._s_hash,
                   self._s_units, self._s_raw, self._s_offset, self._s_length)
        for column, values in zip(columns, self._pending, strict=True):
            if values:
                column.extend(values)
                values.clear()

    def encode(self, text: str) -> TokenArrays:
        if len(self._vocab) > _MAX_VOCAB or self._subs > _MAX_SUBS:
            self._reset()
        chunks = _chunks(text)
        groups = np.fromiter(map(self._vocab.__getitem__, chunks), dtype=np.int64,
                             count=len(chunks))
        self._flush()
        g_len = np.asarray(self._g_len.view[groups], dtype=np.int64)
        # raw tokens before each chunk, and the line each chunk is on
        g_raw = np.asarray(self._g_raw.view[groups], dtype=np.int64)
        raw_before = np.cumsum(g_raw) - g_raw
        line_of_chunk = 1 + np.cumsum(self._g_newline.view[groups], dtype=np.int64)
        if groups.shape[0] and int(g_len.max()) <= 1:
            # fast path (no chunk with several tokens): one sub-token per non-empty chunk
            chunk = np.flatnonzero(g_len)
            sub = self._g_start.view[groups[chunk]]
        else:
            total = int(g_len.sum())
            chunk = np.repeat(np.arange(groups.shape[0], dtype=np.int64), g_len)
            # sub-token k of chunk c sits at g_start[c] + (k - first sub-token of c)
            first = np.cumsum(g_len) - g_len
            g_start = np.asarray(self._g_start.view[groups], dtype=np.int64)
            sub = np.repeat(g_start - first, g_len) + np.arange(total)
        sub_rows: I64 = np.asarray(sub, dtype=np.int64)
        return TokenArrays(
            hashes=np.asarray(self._s_hash.view[sub_rows], dtype=np.uint64),
            units=np.asarray(self._s_units.view[sub_rows], dtype=np.int8),
            raw_index=raw_before[chunk] + np.asarray(self._s_raw.view[sub_rows], np.int64),
            line=line_of_chunk[chunk],
            sub=sub_rows,
        )

    def char_offsets(self, sub: I64) -> tuple[I32, I32]:
        """Offset and length (characters) of tokens ``sub`` (shape (m,), from
        :attr:`TokenArrays.sub` of the latest :meth:`encode`) within their raw tokens."""
        return (np.asarray(self._s_offset.view[sub], dtype=np.int32),
                np.asarray(self._s_length.view[sub], dtype=np.int32))
