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
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MissingExtraError

__all__ = [
    "TABLE_BITS",
    "best_cells_per_work",
    "ratio_bounds",
    "select_hits",
    "select_ranges",
    "top_cells",
]

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
    ratio_lo: float,
    ratio_hi: float,
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
        ratio = r_span / q_span[s]
        if ratio < ratio_lo or ratio > ratio_hi:
            continue
        o_qt[k] = q_t[s]
        o_src[k] = s
        o_work[k] = work[j]
        o_rt[k] = np.float64(c0 >> pitch_bits)
        o_dp[k] = dp
        o_lr[k] = ratio
        k += 1
    return o_qt[:k], o_src[:k], o_work[:k], o_rt[:k], o_dp[:k], o_lr[:k]


@njit(cache=True, nogil=True)
def _select_ranges(
    lo: I64,
    count: I64,
    source: I64,
    seg_work: npt.NDArray[np.uint32],
    aux: I32,
    base: int,
    removed: npt.NDArray[np.bool_],
    q_t: F64,
    q_f: F64,
    q_span: F64,
    pitch_bits: int,
    pitch_units: float,
    code_bits: int,
    span_units: float,
    max_pitch: float,
    ratio_lo: float,
    ratio_hi: float,
) -> tuple[F64, I64, I64, F64, F64, F64]:
    """:func:`_select` reading the hits where the index stores them (no gathered copies):
    key ``i`` (query row ``source[i]``) has its hits at rows ``lo[i] .. lo[i]+count[i]-1``."""
    total = 0
    for i in range(lo.shape[0]):
        total += count[i]
    o_qt = np.empty(total, np.float64)
    o_src = np.empty(total, np.int64)
    o_work = np.empty(total, np.int64)
    o_rt = np.empty(total, np.float64)
    o_dp = np.empty(total, np.float64)
    o_lr = np.empty(total, np.float64)
    pitch_mask = (1 << pitch_bits) - 1
    any_removed = removed.shape[0] > 0
    k = 0
    for i in range(lo.shape[0]):
        c = count[i]
        if c == 0:
            continue
        s = source[i]
        qf = q_f[s]
        qs = q_span[s]
        qt = q_t[s]
        # branch-free: every hit is written at k and k moves on only when it is kept (about
        # half are: a branch per test mispredicted that often and cost most of the loop)
        for j in range(lo[i], lo[i] + c):
            c0 = np.int64(aux[j, 0])
            dp = qf - (c0 & pitch_mask) / pitch_units
            span_q = int(np.int64(aux[j, 1]) >> code_bits)
            r_span = (span_q if span_q > 1 else 1) / span_units
            ratio = r_span / qs
            w = np.int64(seg_work[j]) + base
            keep = (abs(dp) <= max_pitch) & (ratio >= ratio_lo) & (ratio <= ratio_hi)
            if any_removed:
                keep = keep & (not removed[w])
            o_qt[k] = qt
            o_src[k] = s
            o_work[k] = w
            o_rt[k] = np.float64(c0 >> pitch_bits)
            o_dp[k] = dp
            o_lr[k] = ratio
            k += int(keep)
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
def _per_work(
    work: I64,
    qc: F64,
    rt: F64,
    factors: F64,
    bin_width: float,
    n_works: int,
    min_votes: int,
    min_hits: int,
    n_best: int,
) -> tuple[I64, I64, I64, I64, I64]:
    """Each work's most voted (factor, offset bin) cell, counted exactly.

    Hits are grouped by work (a counting sort); each work's cells are counted in a small
    dense table (factors x its own offset-bin range, both bin grids), which stays in cache
    and is cleared by the same walk, so the cost is linear in the hits whatever the index
    size. Ties keep the lowest (factor, bin); the half-shifted grid wins only with strictly
    more votes. Returns, for the works whose best cell has ``>= min_votes`` votes: (work,
    votes, factor index, offset bin, shift 0 or 1). Works with fewer than ``min_hits`` hits
    are not voted on at all, nor works whose hits cannot reach ``min_votes`` in one cell (a
    bound from windows of the reference time), nor, with ``n_best`` > 0, works that cannot
    rank among the ``n_best`` best (see :func:`best_cells_per_work`).
    """
    n = work.shape[0]
    first = np.zeros(n_works + 1, np.int64)
    q_lo = np.inf
    q_hi = -np.inf
    for i in range(n):
        first[work[i] + 1] += 1
        q_lo = min(q_lo, qc[i])
        q_hi = max(q_hi, qc[i])
    # works with too few hits get no room: their hits are not copied (most works at scale)
    need = max(min_votes, min_hits, 1)
    for w in range(n_works):
        c = first[w + 1]
        first[w + 1] = first[w] + (c if c >= need else 0)
    s_min = factors.min()
    s_max = factors.max()
    s_mid = 0.5 * (s_min + s_max)
    # windows of y = r - s_mid*q (see _window_width), as wide as all hits' q need (wider
    # than one work's own q would: still a bound)
    inv = 1.0 / _window_width(s_min, s_max, q_lo / bin_width, q_hi / bin_width)
    # each hit's number and window, grouped by work (a counting sort; one 8-byte word a hit:
    # number << 32 | window + 2^20, the window offset to stay positive, by a multiple of
    # 1,024 so that the bound's counters below see the same window classes)
    fill = first[:-1].copy()
    packed = np.empty(first[n_works], np.int64)
    for i in range(n):
        w = work[i]
        j = fill[w]
        if j == first[w + 1]:
            continue
        x = np.int64(np.floor((rt[i] / bin_width - s_mid * (qc[i] / bin_width)) * inv))
        packed[j] = (np.int64(i) << 32) | (x + (1 << 20))
        fill[w] = j + 1
    # each work's bound: the largest count of its hits in two adjacent windows, seen at the
    # last hit counted into either. Windows 1,024 apart share a counter (a work longer than
    # ~1,000 windows, 30 h at 10 s a query): that only raises a bound, never lowers it
    count = np.zeros(1024, np.int32)
    owner = np.full(1024, -1, np.int64)
    bound = np.zeros(n_works, np.int64)
    for w in range(n_works):
        best = 0
        for j in range(first[w], first[w + 1]):
            x = packed[j] & 1023
            v = (count[x] if owner[x] == w else 0) + 1
            count[x] = v
            owner[x] = w
            x_l = (x - 1) & 1023
            x_r = (x + 1) & 1023
            best = max(best, v + max(count[x_l] if owner[x_l] == w else 0,
                                     count[x_r] if owner[x_r] == w else 0))
        bound[w] = best
    # the offsets in bin units of the hits of the works whose bound reaches min_votes
    voted = np.zeros(n_works + 1, np.int64)
    for w in range(n_works):
        voted[w + 1] = voted[w] + (first[w + 1] - first[w] if bound[w] >= min_votes else 0)
    r_b = np.empty(voted[n_works], np.float64)
    q_b = np.empty(voted[n_works], np.float64)
    for w in range(n_works):
        k = voted[w]
        if voted[w + 1] == k:
            continue
        for j in range(first[w], first[w + 1]):
            i = packed[j] >> 32
            r_b[k] = rt[i] / bin_width
            q_b[k] = qc[i] / bin_width
            k += 1
    return _vote_listed(voted, r_b, q_b, bound, factors, min_votes, n_best)


@njit(cache=True, nogil=True)
def _window_width(s_min: float, s_max: float, q_lo: float, q_hi: float) -> float:
    """A cell's voters satisfy c <= r - s*q < c + 1 (grid shifted by half: the same width)
    for its factor s, so y = r - s_mid*q = (r - s*q) + (s - s_mid)*q lies in an interval
    of width 1 + (e_hi - e_lo), the extremes of (s - s_mid)*q over the factors and the
    hits' q (in ``[q_lo, q_hi]``): in at most two adjacent windows of that width (4 bins for
    a 10 s query). Their counts bound the best cell from above; below min_votes the work
    would be dropped after voting anyway (most random works at scale: no vote cast)."""
    s_mid = 0.5 * (s_min + s_max)
    e_hi = max(max((s_min - s_mid) * q_lo, (s_min - s_mid) * q_hi),
               max((s_max - s_mid) * q_lo, (s_max - s_mid) * q_hi))
    e_lo = min(min((s_min - s_mid) * q_lo, (s_min - s_mid) * q_hi),
               min((s_max - s_mid) * q_lo, (s_max - s_mid) * q_hi))
    return 1.0 + (e_hi - e_lo) + 1e-6


@njit(cache=True, nogil=True)
def _vote_listed(
    first: I64, r_b: F64, q_b: F64, bound: I64, factors: F64, min_votes: int, n_best: int
) -> tuple[I64, I64, I64, I64, I64]:
    """The exact vote of every work ``w`` whose hits are ``r_b``/``q_b[first[w]:first[w+1]]``
    (in bins) and whose ``bound`` (an upper bound of its best cell) reaches ``min_votes``,
    in work order; with ``n_best`` > 0, works whose bound cannot outvote the ``n_best``-th
    best so far are skipped. Returns (work, votes, factor index, offset bin, shift)."""
    n_works = first.shape[0] - 1
    n_f = factors.shape[0]
    s_min = factors.min()
    s_max = factors.max()
    table = np.zeros(1 << 16, np.int32)
    top = np.zeros(max(n_best, 1), np.int64)
    n_top = 0
    full = False
    kth = 0
    o_w = np.empty(n_works, np.int64)
    o_c = np.empty(n_works, np.int64)
    o_f = np.empty(n_works, np.int64)
    o_b = np.empty(n_works, np.int64)
    o_s = np.empty(n_works, np.int64)
    k = 0
    for w in range(n_works):
        a = first[w]
        b = first[w + 1]
        if b == a or bound[w] < min_votes or (full and bound[w] <= kth):
            continue
        r_lo = np.inf
        r_hi = -np.inf
        q_lo = np.inf
        q_hi = -np.inf
        for j in range(a, b):
            r_lo = min(r_lo, r_b[j])
            r_hi = max(r_hi, r_b[j])
            q_lo = min(q_lo, q_b[j])
            q_hi = max(q_hi, q_b[j])
        # bounds of rt - s * qc (in bins) over the factors (s > 0), with a bin to spare
        lo = int(np.floor(min(r_lo - s_min * q_hi, r_lo - s_max * q_hi))) - 1
        nb = int(np.floor(max(r_hi - s_min * q_lo, r_hi - s_max * q_lo))) + 3 - lo
        size = 2 * n_f * nb
        if size > table.shape[0]:
            table = np.zeros(2 * size, np.int32)
        half = n_f * nb
        best0 = 0
        cell0 = 0
        best1 = 0
        cell1 = 0
        for f in range(n_f):
            s = factors[f]
            for j in range(a, b):
                x = r_b[j] - s * q_b[j]
                c0 = f * nb + (int(np.floor(x)) - lo)
                v = table[c0] + 1
                table[c0] = v
                if v > best0 or (v == best0 and c0 < cell0):
                    best0 = v
                    cell0 = c0
                c1 = f * nb + (int(np.floor(x + 0.5)) - lo)
                v = table[half + c1] + 1
                table[half + c1] = v
                if v > best1 or (v == best1 and c1 < cell1):
                    best1 = v
                    cell1 = c1
        if size <= 4 * n_f * (b - a):
            table[:size] = 0
        else:
            for f in range(n_f):
                s = factors[f]
                for j in range(a, b):
                    x = r_b[j] - s * q_b[j]
                    table[f * nb + (int(np.floor(x)) - lo)] = 0
                    table[half + f * nb + (int(np.floor(x + 0.5)) - lo)] = 0
        shift = 1 if best1 > best0 else 0
        best = best1 if shift else best0
        cell = cell1 if shift else cell0
        if best < min_votes:
            continue
        if n_best > 0 and (not full or best > kth):
            # keep the n_best highest votes seen; a later work (higher number) needs more
            # than the lowest of them to rank above it (ties go to the lower work number)
            if not full:
                top[n_top] = best
                n_top += 1
                full = n_top == n_best
            else:
                top[np.argmin(top)] = best
            if full:
                kth = top.min()
        o_w[k] = w
        o_c[k] = best
        o_f[k] = cell // nb
        o_b[k] = cell % nb + lo
        o_s[k] = shift
        k += 1
    return o_w[:k], o_c[:k], o_f[:k], o_b[:k], o_s[:k]


def best_cells_per_work(
    work: I64,
    qc: F64,
    rt: F64,
    factors: F64,
    bin_width: float,
    min_votes: int,
    min_hits: int = 0,
    n_best: int = 0,
) -> tuple[I64, I64, I64, F64]:
    """The coarse vote, exactly, per work: a hit ``i`` votes, for each factor ``s``, for the
    offset bin ``floor((rt - s*qc) / bin_width + shift)`` of its work, on two grids (shift 0
    and 0.5). Returns, for each work whose best cell has ``>= min_votes`` votes: ``(work,
    votes, factor index, offset)``, the offset being the best bin's centre in frames / bin
    width (the half shift undone). ``min_hits``: works with fewer hits are skipped unvoted
    (the alignment stage passes its ``min_score``: such a work cannot reach it). ``n_best``
    (0: all): only the ``n_best`` first works by (most votes, lowest work number) are wanted;
    the answer then holds them, exactly, and may leave out works that cannot rank among
    them (not voted on when their hits cannot outvote the ``n_best``-th best so far)."""
    if work.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0, np.float64)
    w, c, f, b, s = _per_work(
        np.ascontiguousarray(work, dtype=np.int64),
        np.ascontiguousarray(qc, dtype=np.float64),
        np.ascontiguousarray(rt, dtype=np.float64),
        np.ascontiguousarray(factors, dtype=np.float64),
        float(bin_width),
        int(work.max()) + 1,
        int(min_votes),
        int(min_hits),
        int(n_best),
    )
    return w, c, f, b + 0.5 - 0.5 * s


def ratio_bounds(lr_range: tuple[float, float]) -> tuple[float, float]:
    """``(lo, hi)`` such that, for every positive float ``x``, ``x < lo`` exactly when
    ``math.log(x) < lr_range[0]`` and ``x > hi`` exactly when ``math.log(x) > lr_range[1]``:
    the hit filter compares span ratios with these instead of taking a logarithm per hit (a
    third of its time), with the same outcome (``exp`` of the bound, moved by a few ulps
    until it is the exact edge of the monotone ``log``)."""
    lr_lo, lr_hi = float(lr_range[0]), float(lr_range[1])
    lo = math.exp(lr_lo)
    while math.log(lo) < lr_lo:
        lo = math.nextafter(lo, math.inf)
    while math.log(math.nextafter(lo, 0.0)) >= lr_lo:
        lo = math.nextafter(lo, 0.0)
    hi = math.exp(lr_hi)
    while math.log(hi) > lr_hi:
        hi = math.nextafter(hi, 0.0)
    while math.log(math.nextafter(hi, math.inf)) <= lr_hi:
        hi = math.nextafter(hi, math.inf)
    return lo, hi


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
    max_pitch`` and ``ln(span_ref / span_q)`` lies in ``lr_range`` (tested on the ratio itself
    against :func:`ratio_bounds`: no logarithm per hit). Returns, for the kept hits, ``(query
    frame, query row, work, reference frame, pitch offset st, span ratio span_ref / span_q)``.
    """
    pitch_bits, pitch_units, code_bits, span_units = layout
    ratio_lo, ratio_hi = ratio_bounds(lr_range)
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
        ratio_lo,
        ratio_hi,
    )
    return out


def select_ranges(
    ranges: Sequence[tuple[I64, I64, npt.NDArray[np.uint32], I32, int]],
    source: I64,
    removed: npt.NDArray[np.bool_],
    q_t: F64,
    q_f: F64,
    q_span: F64,
    *,
    layout: tuple[int, float, int, float],
    max_pitch: float,
    lr_range: tuple[float, float],
) -> tuple[F64, I64, I64, F64, F64, F64]:
    """:func:`select_hits` for hits not gathered yet: ``ranges`` holds, per index segment,
    ``(lo, count, work, aux, base)`` (``index.KeyRanges``), where query key ``i`` (row
    ``source[i]`` of the query) is stored at rows ``lo[i] .. lo[i]+count[i]-1`` of ``work``
    and ``aux``. ``removed``: per work number, True for a removed work (empty: none). Same
    hits, in the same order, as gathering them first; what is dropped is never copied."""
    pitch_bits, pitch_units, code_bits, span_units = layout
    ratio_lo, ratio_hi = ratio_bounds(lr_range)
    parts: list[tuple[F64, I64, I64, F64, F64, F64]] = []
    for lo, count, work, aux, base in ranges:
        parts.append(
            _select_ranges(
                np.ascontiguousarray(lo, dtype=np.int64),
                np.ascontiguousarray(count, dtype=np.int64),
                np.ascontiguousarray(source, dtype=np.int64),
                np.asarray(work),
                np.asarray(aux),
                int(base),
                np.ascontiguousarray(removed, dtype=np.bool_),
                np.ascontiguousarray(q_t, dtype=np.float64),
                np.ascontiguousarray(q_f, dtype=np.float64),
                np.ascontiguousarray(q_span, dtype=np.float64),
                int(pitch_bits),
                float(pitch_units),
                int(code_bits),
                float(span_units),
                float(max_pitch),
                ratio_lo,
                ratio_hi,
            )
        )
    if len(parts) == 1:
        return parts[0]
    if not parts:
        f, i = np.zeros(0, np.float64), np.zeros(0, np.int64)
        return f, i, i, f, f, f
    return (
        np.concatenate([q[0] for q in parts]),
        np.concatenate([q[1] for q in parts]),
        np.concatenate([q[2] for q in parts]),
        np.concatenate([q[3] for q in parts]),
        np.concatenate([q[4] for q in parts]),
        np.concatenate([q[5] for q in parts]),
    )


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
