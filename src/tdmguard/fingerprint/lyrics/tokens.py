"""From text to token arrays, normalising each distinct raw token once per process.

:class:`TokenEncoder` keeps a vocabulary (raw token -> its normalised tokens), so a large
corpus costs one regex pass, one dictionary look-up per token and numpy work; the Unicode
normalisation runs only for tokens not seen before.
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

_MAX_VOCAB = 1 << 21  # raw tokens remembered; the vocabulary restarts beyond this


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


class _Vocabulary(dict[str, int]):
    """Raw token -> group number; an unknown token is normalised on first look-up (so a
    text is encoded in one ``map`` over its tokens, with no separate set difference)."""

    def __init__(self, learn: Callable[[str], int]) -> None:
        super().__init__()
        self._learn = learn

    def __missing__(self, raw: str) -> int:
        group = self[raw] = self._learn(raw)
        return group


class TokenEncoder:
    """Turns text into :class:`TokenArrays`; one per worker (not thread-safe)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._vocab = _Vocabulary(self._learn)
        # per raw token (group): first sub-token, number of sub-tokens, is a line break
        self._g_start = _Column(np.int64)
        self._g_len = _Column(np.int64)
        self._g_newline = _Column(np.int8)
        # per sub-token
        self._s_hash = _Column(np.uint64)
        self._s_units = _Column(np.int8)
        self._s_offset = _Column(np.int32)
        self._s_length = _Column(np.int32)
        self._hash_cache: dict[str, int] = {}
        self._pending: list[list[int]] = [[], [], [], [], [], [], []]
        self._groups = 0
        self._subs = 0
        self._newline_group = self._vocab["\n"]  # learned first: group 0 is the line break
        self._flush()

    def _learn(self, raw: str) -> int:
        """Normalise a new raw token; its rows wait in ``_pending`` until :meth:`_flush`."""
        starts, lens, newline, hashes, units, offsets, lengths = self._pending
        group = self._groups
        self._groups += 1
        if raw == "\n":
            starts.append(self._subs)
            lens.append(0)
            newline.append(1)
            return group
        subs = split_token(raw)
        starts.append(self._subs)
        lens.append(len(subs))
        newline.append(0)
        self._subs += len(subs)
        cache = self._hash_cache
        for sub in subs:
            h = cache.get(sub.text)
            if h is None:
                h = cache[sub.text] = token_hash(sub.text)
            hashes.append(h)
            units.append(UNITS[sub.kind])
            offsets.append(sub.offset)
            lengths.append(sub.length)
        return group

    def _flush(self) -> None:
        columns = (self._g_start, self._g_len, self._g_newline, self._s_hash, self._s_units,
                   self._s_offset, self._s_length)
        for column, values in zip(columns, self._pending, strict=True):
            if values:
                column.extend(values)
                values.clear()

    def encode(self, text: str) -> TokenArrays:
        if len(self._vocab) > _MAX_VOCAB:
            self._reset()
        raw = TOKEN_PATTERN.findall(text)
        groups = np.fromiter(map(self._vocab.__getitem__, raw), dtype=np.int64, count=len(raw))
        self._flush()
        g_len = np.asarray(self._g_len.view[groups], dtype=np.int64)
        newline = self._g_newline.view[groups]
        line_of_raw = 1 + np.cumsum(newline, dtype=np.int64)
        if groups.shape[0] and int(g_len.max()) <= 1:
            # fast path (no run of a no-space script): one sub-token per non-empty group
            raw_index = np.flatnonzero(g_len)
            sub = self._g_start.view[groups[raw_index]]
        else:
            total = int(g_len.sum())
            raw_index = np.repeat(np.arange(groups.shape[0], dtype=np.int64), g_len)
            # sub-token k of raw token r sits at g_start[r] + (k - first sub-token of r)
            first = np.cumsum(g_len) - g_len
            g_start = np.asarray(self._g_start.view[groups], dtype=np.int64)
            sub = np.repeat(g_start - first, g_len) + np.arange(total)
        return TokenArrays(
            hashes=np.asarray(self._s_hash.view[sub], dtype=np.uint64),
            units=np.asarray(self._s_units.view[sub], dtype=np.int8),
            raw_index=raw_index.astype(np.int64, copy=False),
            line=line_of_raw[raw_index],
            sub=np.asarray(sub, dtype=np.int64),
        )

    def char_offsets(self, sub: I64) -> tuple[I32, I32]:
        """Offset and length (characters) of tokens ``sub`` (shape (m,), from
        :attr:`TokenArrays.sub` of the latest :meth:`encode`) within their raw tokens."""
        return (np.asarray(self._s_offset.view[sub], dtype=np.int32),
                np.asarray(self._s_length.view[sub], dtype=np.int32))
