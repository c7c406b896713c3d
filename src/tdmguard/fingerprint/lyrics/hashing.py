"""Stable token hashes, variable-width n-gram hashes and the packed aux column.

An n-gram is the shortest run of tokens, starting at each token, that holds
:data:`WINDOW_UNITS` units: a word is 4 units, a Han/kana character 3, a Thai/Lao/Khmer/
Myanmar letter 1. So in space-separated languages an n-gram is three words, in Chinese four
characters, in Thai twelve letters. (Engine ``/1`` counted a Han character as half a word,
eight per window: one substituted character then broke eight windows, and a two-line
excerpt of a short classical poem, 10-14 characters, held almost none. Engine ``/2`` had
four-word windows: a changed word in a short lyric line left runs of three intact words
that no window could hold, and two-line quotes of short lines (4 + 5 words, one word
changed) kept fewer than three windows. Calibrated on short song texts and Song ci with
substitutions, ``benchmarks/lyrics``.)

How much text a match covers is measured in :data:`EVIDENCE_UNITS` (a word, and a Han/kana
character, are 4; a Thai letter 1), independent of the window length.

The n-gram hash is a polynomial hash of the token hashes modulo 2**64, computed for every
window at once from prefix sums (numpy's uint64 arithmetic wraps), then mixed with the
SplitMix64 finaliser so every bit depends on every token.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from tdmguard.fingerprint.lyrics.normalise import TokenKind

__all__ = [
    "BASE",
    "EVIDENCE_UNITS",
    "LINE_BITS",
    "MAX_LINE",
    "MAX_TOKEN",
    "TOKEN_BITS",
    "UNITS",
    "WINDOW_UNITS",
    "WORD_EVIDENCE",
    "evidence_units",
    "ngram_windows",
    "pack_aux",
    "token_hash",
    "unpack_aux",
    "varied_windows",
    "window_hashes",
    "window_raw",
    "word_keys",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

UNITS = {TokenKind.WORD: 4, TokenKind.IDEOGRAPH: 3, TokenKind.SYLLABIC: 1}
WINDOW_UNITS = 12  # three words, four Han characters, twelve Thai letters
# text covered by a match, per token: a word 4, a Han/kana character a word's worth (the
# thresholds were calibrated so on short ci), a Thai letter a quarter of a word
EVIDENCE_UNITS = {TokenKind.WORD: 4, TokenKind.IDEOGRAPH: 4, TokenKind.SYLLABIC: 1}
WORD_EVIDENCE = 4
# the window units of a token name its kind (4, 3, 1 above): evidence units by window units
_EVIDENCE_BY_UNITS = np.zeros(max(UNITS.values()) + 1, np.int32)
for _kind, _units in UNITS.items():
    _EVIDENCE_BY_UNITS[_units] = EVIDENCE_UNITS[_kind]
if len(set(UNITS.values())) != len(UNITS):
    raise AssertionError("hashing.UNITS must give each token kind its own value")

# aux column (one int32 per n-gram, read as uint32): token position of the n-gram's first
# token (bits 0-19), line number of that token (bits 20-29, 1-based, clamped at MAX_LINE),
# number of line breaks the n-gram spans (bits 30-31, clamped at 3). 20 + 10 + 2 bits keep
# the index at 16 bytes per n-gram (8 key + 4 work + 4 aux). Documents longer than
# MAX_TOKEN tokens store the plain token position instead (layout "pos").
TOKEN_BITS = 20
LINE_BITS = 10
MAX_TOKEN = (1 << TOKEN_BITS) - 1
MAX_LINE = (1 << LINE_BITS) - 1

_BASE = np.uint64(0x9E3779B97F4A7C15 | 1)  # odd, so invertible modulo 2**64
_BASE_INV = np.uint64(pow(int(_BASE), -1, 1 << 64))
BASE = int(_BASE)  # the polynomial hash's base (odd: invertible modulo 2**64)


def token_hash(normalised: str) -> int:
    """Stable 64-bit hash of a normalised token (BLAKE2b; computed once per distinct
    token, so its speed does not matter)."""
    return int.from_bytes(hashlib.blake2b(normalised.encode(), digest_size=8).digest(), "little")


def ngram_windows(units: npt.NDArray[np.int8]) -> tuple[I64, I64]:
    """Start and end (inclusive) token of every complete n-gram window.

    ``units``: shape (t,), units per token. Returns two (m,) int64 arrays, m <= t."""
    t = units.shape[0]
    if t == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    word = UNITS[TokenKind.WORD]
    if WINDOW_UNITS % word == 0 and int(units.min()) == word == int(units.max()):
        # words only (most text): every window is the same number of tokens
        width = WINDOW_UNITS // word
        start = np.arange(max(0, t - width + 1), dtype=np.int64)
        return start, start + (width - 1)
    cum = np.cumsum(units, dtype=np.int64)  # cum[j] = units of tokens 0..j
    before = cum - units  # units before token i
    end = np.searchsorted(cum, before + WINDOW_UNITS, side="left").astype(np.int64)
    ok = end < units.shape[0]
    start = np.flatnonzero(ok).astype(np.int64)
    return start, end[ok]


def evidence_units(units: npt.NDArray[np.int8]) -> npt.NDArray[np.int32]:
    """Evidence units (:data:`EVIDENCE_UNITS`) of tokens of window ``units``, shape (t,)."""
    if units.shape[0] == 0 or (int(units.min()) == int(units.max()) ==
                               UNITS[TokenKind.WORD]):
        return units.astype(np.int32)  # words only (most text): the same numbers
    out: npt.NDArray[np.int32] = _EVIDENCE_BY_UNITS[units]
    return out


def varied_windows(tokens: U64, start: I64, end: I64) -> npt.NDArray[np.bool_]:
    """True for every window ``tokens[start[i]..end[i]]`` that holds two or more distinct
    tokens: a window of one repeated token ("la la la", "o o o", "let let let") says
    nothing about which lyric a text quotes, and a text repeating it (ASCII art, code)
    would otherwise chain through every repetition of it in a lyric. Shape (m,)."""
    if start.shape[0] == 0:
        return np.zeros(0, np.bool_)
    # changes[i]: tokens j < i with tokens[j + 1] != tokens[j]
    changes = np.zeros(tokens.shape[0], np.int64)
    np.cumsum(tokens[1:] != tokens[:-1], out=changes[1:])
    varied: npt.NDArray[np.bool_] = changes[end] > changes[start]
    return varied


def _mix(x: U64) -> U64:
    """SplitMix64 finaliser (Steele, Lea, Flood 2014), elementwise."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_C1_INV = np.uint64(pow(0xBF58476D1CE4E5B9, -1, 1 << 64))
_C2_INV = np.uint64(pow(0x94D049BB133111EB, -1, 1 << 64))
_LENGTH_MIX = 0xD6E8FEB86659FD93


def _unmix(x: U64) -> U64:
    """Inverse of :func:`_mix` (the finaliser is a bijection of 64-bit words)."""
    x = x ^ (x >> np.uint64(31)) ^ (x >> np.uint64(62))
    x = x * _C2_INV
    x = x ^ (x >> np.uint64(27)) ^ (x >> np.uint64(54))
    x = x * _C1_INV
    out: U64 = x ^ (x >> np.uint64(30)) ^ (x >> np.uint64(60))
    return out


def window_raw(keys: U64, width: int) -> U64:
    """The polynomial value ``sum_k t_k * B**(width-1-k)`` (mod 2**64) of n-gram hashes
    ``keys`` of ``width`` tokens each: :func:`window_hashes` undone. With all but one of a
    window's token hashes known, the remaining one follows (``align.recover_tokens``): the
    index's n-grams of a lyric then tell its token hashes next to a matched window, which
    a query-time word alignment compares with the query's (no new keys)."""
    with np.errstate(over="ignore"):
        return _unmix(np.asarray(keys, dtype=np.uint64)) ^ (
            np.uint64(width) * np.uint64(_LENGTH_MIX))


def _power_table(n: int, base: np.uint64) -> U64:
    table = np.empty(n, np.uint64)
    table[0] = 1
    table[1:] = base
    with np.errstate(over="ignore"):
        return np.cumprod(table, dtype=np.uint64)


_POWERS: tuple[U64, U64] = (_power_table(1 << 16, _BASE_INV), _power_table(1 << 16, _BASE))


def _powers(t: int) -> tuple[U64, U64]:
    """B**-k and B**k for k < t, shape (t,) each: prefixes of tables kept per process and
    grown by doubling (every document would otherwise recompute them)."""
    global _POWERS
    if _POWERS[0].shape[0] < t:
        size = max(t, 2 * _POWERS[0].shape[0])
        _POWERS = (_power_table(size, _BASE_INV), _power_table(size, _BASE))
    inv, fwd = _POWERS
    return inv[:t], fwd[:t]


def window_hashes(tokens: U64, start: I64, end: I64) -> U64:
    """Hash of tokens[start[i]..end[i]] for every i: shape (m,) uint64.

    sum_k t_k * B**(end-k) = B**end * (S[end+1] - S[start]) with S the prefix sums of
    t_k * B**-k, all modulo 2**64."""
    t = tokens.shape[0]
    if start.shape[0] == 0:
        return np.zeros(0, np.uint64)
    inv_pow, pow_end = _powers(t)
    with np.errstate(over="ignore"):
        prefix = np.zeros(t + 1, np.uint64)
        np.cumsum(tokens * inv_pow, dtype=np.uint64, out=prefix[1:])
        raw = (prefix[end + 1] - prefix[start]) * pow_end[end]
        # the window length goes in too, so windows of different widths never collide
        length = (end - start + 1).astype(np.uint64)
        return _mix(raw ^ (length * np.uint64(_LENGTH_MIX)))


def word_keys(tokens: U64) -> U64:
    """One-token hashes of ``tokens`` (shape (t,)): :func:`window_hashes` of windows of one
    token, so never equal to an n-gram's (the length goes into the hash). The background
    table classes single words with them (``background.py``)."""
    at = np.arange(tokens.shape[0], dtype=np.int64)
    return window_hashes(np.asarray(tokens, dtype=np.uint64), at, at)


def pack_aux(token: I64, line: I64, span: I64) -> I32:
    """Pack token position, line and spanned line breaks into one int32 per n-gram
    (layout above). All inputs shape (m,); token must be <= MAX_TOKEN."""
    word = (
        token.astype(np.uint32)
        | (np.clip(line, 0, MAX_LINE).astype(np.uint32) << np.uint32(TOKEN_BITS))
        | (np.clip(span, 0, 3).astype(np.uint32) << np.uint32(TOKEN_BITS + LINE_BITS))
    )
    packed: I32 = word.view(np.int32)
    return packed


def unpack_aux(aux: I32) -> tuple[I64, I64, I64]:
    """Inverse of :func:`pack_aux`: (token, line, span), each shape (m,) int64."""
    word = np.ascontiguousarray(aux).view(np.uint32).astype(np.int64)
    token = word & MAX_TOKEN
    line = (word >> TOKEN_BITS) & MAX_LINE
    span = word >> (TOKEN_BITS + LINE_BITS)
    return token, line, span
