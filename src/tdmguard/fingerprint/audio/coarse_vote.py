"""Compiled (numba) hot loops of :mod:`alignment`: hit selection and the coarse Hough vote.

For a 10 s query against 100 h the index returns ~200k hits. The numpy formulation unpacked
them into float64 arrays, filtered them with six masked copies and then built seven
``(factors, hits)`` float64/int64 arrays per offset shift (~1.4 M elements each): ~17 ms per
query, mostly memory traffic. The loops below compute the same values with the same float64
arithmetic in one pass per stage and store only what survives. numba is part of the
``audio`` extra; the kernels are compiled on first use and cached on disk (``__pycache__``),
so a worker process pays a one-time load (~1 s) and no per-query compile.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MissingExtraError

__all__ = ["TABLE_BITS", "select_hits", "top_cells", "top_cells_both"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
TABLE_BITS = 18  # 2^18 hashed vote slots (1 MB of int32 counters: stays in L2)
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier

try:
    from numba import njit
except ModuleNotFoundError as exc:  # pragma: no cover - numba is in the audio extra
    raise MissingExtraError("numba", "audio") from exc


@njit(cache=True, nogil=True)
def _select(
    row: I64,
    q_t: F64,
    q_f: F64,
    q_span: F64,
    aux: I32,
    work: I64,
    pitch_bits: int,
    pitch_units: float,
    code_bits: int,
    span_units: float,
    max_pitch: float,
    lr_lo: float,
    lr_hi: float,
) -> tuple[F64, I64, I64, F64, F64, F64]:
    m = row.shape[0]
    o_qt = np.empty(m, np.float64)
    o_src = np.empty(m, np.int64)
    o_work = np.empty(m, np.int64)
    o_rt = np.empty(m, np.float64)
    o_dp = np.empty(m, np.float64)
    o_lr = np.empty(m, np.float64)
    pitch_mask = (1 << pitch_bits) - 1
    k = 0
    for j in range(m):
        s = row[j]
        c0 = np.int64(aux[j, 0])
        c1 = np.int64(aux[j, 1])
        dp = q_f[s] - (c0 & pitch_mask) / pitch_units
        if abs(dp) > max_pitch:
            continue
        span_q = int(c1 >> code_bits)
        r_span = (span_q if span_q > 1 else 1) / span_units
        lr = math.log(r_span / q_span[s])
        if lr < lr_lo or lr > lr_hi:
            continue
        o_qt[k] = q_t[s]
        o_src[k] = s
        o_work[k] = work[j]
        o_rt[k] = np.float64(c0 >> pitch_bits)
        o_dp[k] = dp
        o_lr[k] = lr
        k += 1
    return o_qt[:k], o_src[:k], o_work[:k], o_rt[:k], o_dp[:k], o_lr[:k]


@njit(cache=True, nogil=True)
def _votes(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, shift: float
) -> tuple[I32, I64, int, int]:
    """Votes per hashed slot, shape (2^TABLE_BITS,), the slots that got any vote (each once,
    in the order first voted), and ``lo``, ``span`` of the offset bins."""
    n = qc.shape[0]
    n_f = factors.shape[0]
    lo = np.iinfo(np.int64).max
    hi = np.iinfo(np.int64).min
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            ob = int(np.floor((rt[i] - s * qc[i]) / bin_width + shift))
            if ob < lo:
                lo = ob
            if ob > hi:
                hi = ob
    span = hi - lo + 1
    votes = np.zeros(1 << TABLE_BITS, np.int32)
    touched = np.empty(min(n * n_f, 1 << TABLE_BITS), np.int64)
    t = 0
    mult = np.uint64(_GOLDEN)
    down = np.uint64(64 - TABLE_BITS)
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            ob = int(np.floor((rt[i] - s * qc[i]) / bin_width + shift))
            key = (work[i] * n_f + f) * span + (ob - lo)
            slot = np.int64((np.uint64(key) * mult) >> down)
            if votes[slot] == 0:
                touched[t] = slot
                t += 1
            votes[slot] += 1
    return votes, touched[:t], lo, span


@njit(cache=True, nogil=True)
def _members(
    work: I64,
    qc: F64,
    rt: F64,
    factors: F64,
    bin_width: float,
    shift: float,
    lo: int,
    span: int,
    mark: npt.NDArray[np.uint8],
    total: int,
) -> I64:
    """The cell keys of all ``total`` votes whose slot is marked (recomputed: the vote pass
    stored nothing)."""
    n = qc.shape[0]
    n_f = factors.shape[0]
    out = np.empty(total, np.int64)
    m = 0
    mult = np.uint64(_GOLDEN)
    down = np.uint64(64 - TABLE_BITS)
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            ob = int(np.floor((rt[i] - s * qc[i]) / bin_width + shift))
            key = (work[i] * n_f + f) * span + (ob - lo)
            if mark[np.int64((np.uint64(key) * mult) >> down)] != 0:
                out[m] = key
                m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def _bounds2(work: I64, qc: F64, rt: F64, factors: F64, bin_width: float) -> I64:
    """``[lo0, hi0, lo1, hi1]``: the offset-bin range of the unshifted and half-shifted bins."""
    n = qc.shape[0]
    out = np.empty(4, np.int64)
    out[0] = out[2] = np.iinfo(np.int64).max
    out[1] = out[3] = np.iinfo(np.int64).min
    for f in range(factors.shape[0]):
        s = factors[f]
        for i in range(n):
            x = (rt[i] - s * qc[i]) / bin_width
            ob0 = int(np.floor(x + 0.0))
            ob1 = int(np.floor(x + 0.5))
            out[0] = min(out[0], ob0)
            out[1] = max(out[1], ob0)
            out[2] = min(out[2], ob1)
            out[3] = max(out[3], ob1)
    return out


@njit(cache=True, nogil=True)
def _votes2(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, b: I64
) -> tuple[I32, I64, I64]:
    """Both shifts' votes in one pass: tables shape (2, 2^TABLE_BITS), and each table's
    touched slots (as :func:`_votes`)."""
    n = qc.shape[0]
    n_f = factors.shape[0]
    span0 = b[1] - b[0] + 1
    span1 = b[3] - b[2] + 1
    votes = np.zeros((2, 1 << TABLE_BITS), np.int32)
    room = min(n * n_f, 1 << TABLE_BITS)
    touched0 = np.empty(room, np.int64)
    touched1 = np.empty(room, np.int64)
    t0 = 0
    t1 = 0
    mult = np.uint64(_GOLDEN)
    down = np.uint64(64 - TABLE_BITS)
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            x = (rt[i] - s * qc[i]) / bin_width
            wf = work[i] * n_f + f
            key0 = wf * span0 + (int(np.floor(x + 0.0)) - b[0])
            slot0 = np.int64((np.uint64(key0) * mult) >> down)
            if votes[0, slot0] == 0:
                touched0[t0] = slot0
                t0 += 1
            votes[0, slot0] += 1
            key1 = wf * span1 + (int(np.floor(x + 0.5)) - b[2])
            slot1 = np.int64((np.uint64(key1) * mult) >> down)
            if votes[1, slot1] == 0:
                touched1[t1] = slot1
                t1 += 1
            votes[1, slot1] += 1
    return votes, touched0[:t0], touched1[:t1]


@njit(cache=True, nogil=True)
def _members2(
    work: I64,
    qc: F64,
    rt: F64,
    factors: F64,
    bin_width: float,
    b: I64,
    mark: npt.NDArray[np.uint8],
    total0: int,
    total1: int,
) -> tuple[I64, I64]:
    """:func:`_members` for both shifts in one pass (``mark`` shape (2, 2^TABLE_BITS))."""
    n = qc.shape[0]
    n_f = factors.shape[0]
    span0 = b[1] - b[0] + 1
    span1 = b[3] - b[2] + 1
    out0 = np.empty(total0, np.int64)
    out1 = np.empty(total1, np.int64)
    m0 = 0
    m1 = 0
    mult = np.uint64(_GOLDEN)
    down = np.uint64(64 - TABLE_BITS)
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            x = (rt[i] - s * qc[i]) / bin_width
            wf = work[i] * n_f + f
            key0 = wf * span0 + (int(np.floor(x + 0.0)) - b[0])
            if mark[0, np.int64((np.uint64(key0) * mult) >> down)] != 0:
                out0[m0] = key0
                m0 += 1
            key1 = wf * span1 + (int(np.floor(x + 0.5)) - b[2])
            if mark[1, np.int64((np.uint64(key1) * mult) >> down)] != 0:
                out1[m1] = key1
                m1 += 1
    return out0[:m0], out1[:m1]


def select_hits(
    row: I64,
    q_t: F64,
    q_f: F64,
    q_span: F64,
    aux: I32,
    work: I64,
    *,
    layout: tuple[int, float, int, float],
    max_pitch: float,
    lr_range: tuple[float, float],
) -> tuple[F64, I64, I64, F64, F64, F64]:
    """Unpack and filter index hits in one pass.

    ``row``: shape (m,), the query triplet of each hit; ``q_t``/``q_f``/``q_span``: per query
    triplet anchor frame, anchor semitones, span in frames; ``aux``: shape (m, 2), the hits'
    stored aux; ``work``: shape (m,). ``layout``: ``(pitch_bits, pitch_units, code_bits,
    span_units)`` of the engine's aux packing. A hit is kept when ``|f_q - f_ref| <=
    max_pitch`` and ``ln(span_ref / span_q)`` lies in ``lr_range``. Returns, for the kept hits,
    ``(query frame, query row, work, reference frame, pitch offset st, ln span ratio)``.
    """
    pitch_bits, pitch_units, code_bits, span_units = layout
    out: tuple[F64, I64, I64, F64, F64, F64] = _select(
        np.ascontiguousarray(row, dtype=np.int64),
        np.ascontiguousarray(q_t, dtype=np.float64),
        np.ascontiguousarray(q_f, dtype=np.float64),
        np.ascontiguousarray(q_span, dtype=np.float64),
        np.ascontiguousarray(aux, dtype=np.int32),
        np.ascontiguousarray(work, dtype=np.int64),
        int(pitch_bits),
        float(pitch_units),
        int(code_bits),
        float(span_units),
        float(max_pitch),
        float(lr_range[0]),
        float(lr_range[1]),
    )
    return out


def top_cells(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, shift: float, n_top: int
) -> tuple[I64, I64, int, int]:
    """The ~``n_top`` most voted (work, factor, offset bin) cells and their exact counts.

    A hit ``i`` votes, for each factor ``s``, for offset bin ``floor((rt - s*qc)/bin_width +
    shift)``. Cell key: ``(work * n_f + factor) * span + (bin - lo)``. Votes go to 2^18 hashed
    slots; only the members of the ``n_top`` best slots are counted exactly, so a slot shared
    by two cells never merges them. Returns ``(cells, counts, lo, span)``.
    """
    votes, touched, lo, span = _votes(work, qc, rt, factors, float(bin_width), float(shift))
    table = votes.shape[0]
    best = _best_slots(votes, touched, n_top)
    mark = np.zeros(table, dtype=np.uint8)
    mark[best] = 1
    total = int(votes[best].sum())  # the marked slots' votes: exactly the members' count
    keys = _members(work, qc, rt, factors, float(bin_width), float(shift), lo, span, mark, total)
    cells, counts = np.unique(keys, return_counts=True)
    return cells, counts.astype(np.int64), int(lo), int(span)


def _best_slots(votes: I32, touched: I64, n_top: int) -> I64:
    # select among the slots that got votes only: np.argpartition over the whole, mostly
    # empty table cost ~60 ms per call on a small index (introselect degrades on many equal
    # values). With at most n_top voted slots the choice is all of them, as before; beyond
    # that only slots tied at the cut may differ, and those hold the fewest votes kept
    if touched.shape[0] <= n_top:
        return touched
    values = votes[touched]
    out: I64 = touched[np.argpartition(values, values.shape[0] - n_top)[values.shape[0] - n_top :]]
    return out


def top_cells_both(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, n_top: int
) -> list[tuple[I64, I64, int, int]]:
    """``[top_cells(..., shift=0.0, ...), top_cells(..., shift=0.5, ...)]``, the same values,
    computed together: each hit's offset is computed once per factor for both bin grids
    (three passes over the hits instead of six)."""
    work = np.ascontiguousarray(work, dtype=np.int64)
    qc = np.ascontiguousarray(qc, dtype=np.float64)
    rt = np.ascontiguousarray(rt, dtype=np.float64)
    factors = np.ascontiguousarray(factors, dtype=np.float64)
    b = _bounds2(work, qc, rt, factors, float(bin_width))
    votes, touched0, touched1 = _votes2(work, qc, rt, factors, float(bin_width), b)
    mark = np.zeros(votes.shape, dtype=np.uint8)
    best0 = _best_slots(votes[0], touched0, n_top)
    best1 = _best_slots(votes[1], touched1, n_top)
    mark[0, best0] = 1
    mark[1, best1] = 1
    keys0, keys1 = _members2(
        work,
        qc,
        rt,
        factors,
        float(bin_width),
        b,
        mark,
        int(votes[0, best0].sum()),
        int(votes[1, best1].sum()),
    )
    out: list[tuple[I64, I64, int, int]] = []
    for keys, lo, hi in ((keys0, b[0], b[1]), (keys1, b[2], b[3])):
        cells, counts = np.unique(keys, return_counts=True)
        out.append((cells, counts.astype(np.int64), int(lo), int(hi - lo + 1)))
    return out
