"""Note lines to tokens, n-gram keys and the positional columns stored with each key.

Token ``i`` of a line describes the step from note ``i`` to note ``i + 1``:

- the pitch interval in semitones, clipped to [-12, 12] (transposition-invariant);
- the inter-onset-interval (IOI) ratio class ``round(2 * log2(ioi[i+1] / ioi[i]))`` clipped
  to [-4, 4], where ``ioi[j]`` is the time from note ``j`` to note ``j + 1`` (the last note's
  sounding duration for the last note). Ratios do not change when the tempo or the notated
  note values scale, so the token is tempo-invariant; half-log2 classes put 1:1, 2:3, 1:2,
  1:3 and 1:4 in different classes while absorbing small expressive deviations
  (anchors.md section 4: "interval + IOI-ratio-class n-grams").

Codes: ``1 + (interval + 12) * 9 + (ratio_class + 4)`` in 1..225; 0 means "unknown".

An n-gram key packs ``N`` consecutive codes into the low bytes of a uint64 with a kind tag
in the top byte: injective, so no hash collisions. A second kind of key (tag ``P``) packs
the pitch intervals alone of ``PN`` consecutive tokens: another setting of a tune (re-barred,
in another metre, with other note values) keeps its intervals while its rhythm classes
change, and these keys still find it; the alignment then credits the intervals. Each key
carries ``AUX_WIDTH`` int32 columns: line number, token position, and the codes of a
context window of
``CONTEXT_BEFORE + CONTEXT_AFTER`` tokens around it, packed four per int32. The context lets
:mod:`.engine` rebuild the reference's tokens around the hits for alignment from the index
alone, without storing melodies anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tdmguard.fingerprint.melody.notes import NoteLine

__all__ = [
    "AUX_WIDTH",
    "CONTEXT_BEFORE",
    "CONTEXT_LEN",
    "PN",
    "RATIO_CLASSES",
    "KeyedLines",
    "N",
    "code_parts",
    "encode_lines",
    "interval_keys",
    "is_interval_key",
    "ngram_keys",
    "tokens",
    "unpack_context",
]

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

N = 4  # tokens per n-gram (5 notes)
MAX_INTERVAL = 12
RATIO_CLASSES = 9  # -4 .. 4
KIND_TAG = np.uint64(0x4D) << np.uint64(56)  # "M": interval+ratio 4-grams
PN = 5  # tokens per interval-only n-gram (6 notes)
P_TAG = np.uint64(0x50) << np.uint64(56)  # "P": pitch-interval 5-grams, rhythm left out
CONTEXT_BEFORE = 10
CONTEXT_AFTER = 14  # counting the key's own first token
CONTEXT_LEN = CONTEXT_BEFORE + CONTEXT_AFTER  # 24 codes = 6 int32 columns
AUX_WIDTH = 2 + CONTEXT_LEN // 4  # line, position, 6 context columns


def tokens(line: NoteLine) -> U8:
    """Token codes of a line: shape (len(line) - 1,), uint8 in 1..225 (empty if < 2 notes)."""
    n = len(line)
    if n < 2:
        return np.zeros(0, dtype=np.uint8)
    onsets = line.onsets_q
    ioi = np.empty(n, dtype=np.float64)
    ioi[:-1] = np.diff(onsets)
    ioi[-1] = line.durations_q[-1] if line.durations_q[-1] > 0 else ioi[-2]
    ioi = np.maximum(ioi, 1e-6)
    interval = np.clip(np.diff(line.pitches.astype(np.int64)), -MAX_INTERVAL, MAX_INTERVAL)
    ratio = np.clip(np.rint(2.0 * np.log2(ioi[1:] / ioi[:-1])), -4, 4).astype(np.int64)
    return (1 + (interval + MAX_INTERVAL) * RATIO_CLASSES + (ratio + 4)).astype(np.uint8)


def code_parts(codes: npt.NDArray[np.integer]) -> tuple[I64, I64]:
    """(interval, ratio class) of token codes; unknown (0) gives (99, 99)."""
    c = codes.astype(np.int64) - 1
    interval = c // RATIO_CLASSES - MAX_INTERVAL
    ratio = c % RATIO_CLASSES - 4
    unknown = codes == 0
    interval[unknown] = 99
    ratio[unknown] = 99
    return interval, ratio


def ngram_keys(codes: U8) -> U64:
    """Keys of all n-grams of one line's codes: shape (len(codes) - N + 1,) (or (0,))."""
    if codes.shape[0] < N:
        return np.zeros(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(codes.astype(np.uint64), N)
    key = np.zeros(windows.shape[0], dtype=np.uint64)
    for k in range(N):
        key |= windows[:, k] << np.uint64(8 * (N - 1 - k))
    return key | KIND_TAG


def interval_keys(codes: U8) -> U64:
    """Rhythm-free keys: the pitch intervals of every ``PN`` consecutive tokens, shape
    (len(codes) - PN + 1,) (or (0,)); key ``i`` starts at token ``i`` like ``ngram_keys``."""
    if codes.shape[0] < PN:
        return np.zeros(0, dtype=np.uint64)
    c = codes.astype(np.int64) - 1
    iv = (c // RATIO_CLASSES + 1).astype(np.uint64)  # interval + 13, in 1..25
    windows = np.lib.stride_tricks.sliding_window_view(iv, PN)
    key = np.zeros(windows.shape[0], dtype=np.uint64)
    for k in range(PN):
        key |= windows[:, k] << np.uint64(8 * (PN - 1 - k))
    return key | P_TAG


def is_interval_key(keys: U64) -> npt.NDArray[np.bool_]:
    """Which keys are rhythm-free interval keys (``interval_keys``)."""
    return np.asarray((keys >> np.uint64(56)) == np.uint64(0x50))


@dataclass(frozen=True, slots=True, eq=False)
class KeyedLines:
    """All keys of a set of lines: ``keys`` (m,) uint64; ``aux`` (m, AUX_WIDTH) int32."""

    keys: U64
    aux: I32


def encode_lines(lines: list[NoteLine], *, max_keys: int, rhythm_free: bool = True
                 ) -> KeyedLines:
    """Keys and aux columns for every line (line number = index in ``lines``): the
    interval/rhythm n-grams, then (``rhythm_free``) the interval-only ones, each with the
    line, the position of its first token and the context around it."""
    keys: list[U64] = []
    auxs: list[I32] = []
    total = 0
    for line_no, line in enumerate(lines):
        codes = tokens(line)
        padded = np.zeros(codes.shape[0] + CONTEXT_LEN, dtype=np.uint8)
        padded[CONTEXT_BEFORE : CONTEXT_BEFORE + codes.shape[0]] = codes
        kinds = [ngram_keys(codes)] + ([interval_keys(codes)] if rhythm_free else [])
        for line_keys in kinds:
            m = min(line_keys.shape[0], max_keys - total)
            if m <= 0:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT_LEN)[:m]
            aux = np.empty((m, AUX_WIDTH), dtype=np.int32)
            aux[:, 0] = line_no
            aux[:, 1] = np.arange(m, dtype=np.int32)
            aux[:, 2:] = np.ascontiguousarray(windows).view("<i4")
            keys.append(line_keys[:m])
            auxs.append(aux)
            total += m
    if not keys:
        return KeyedLines(np.zeros(0, np.uint64), np.zeros((0, AUX_WIDTH), np.int32))
    return KeyedLines(np.concatenate(keys), np.concatenate(auxs))


def unpack_context(aux: I32) -> U8:
    """Context codes of aux rows: (m, AUX_WIDTH) int32 -> (m, CONTEXT_LEN) uint8; column ``c``
    is the token at position ``aux[:, 1] - CONTEXT_BEFORE + c``."""
    ctx = np.ascontiguousarray(aux[:, 2:].astype("<i4"))
    return ctx.view(np.uint8).reshape(aux.shape[0], CONTEXT_LEN)
