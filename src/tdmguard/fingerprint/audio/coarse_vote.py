"""Compiled (numba) coarse Hough vote of :mod:`alignment`: one pass per hit, no temporaries.

The numpy formulation built seven ``(factors, hits)`` float64/int64 arrays per offset shift
(~1.4 M elements each for a 10 s query against 100 h) and spent ~30 ms per query in them; the
loops below compute the same cells with the same float64 arithmetic in ~3 ms. numba is part of
the ``audio`` extra; the kernels are compiled on first use and cached on disk
(``__pycache__``), so only the first process after an install pays the ~1 s compile.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MissingExtraError

__all__ = ["TABLE_BITS", "top_cells"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
TABLE_BITS = 18  # 2^18 hashed vote slots
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier


try:
    from numba import njit
except ModuleNotFoundError as exc:  # pragma: no cover - numba is in the audio extra
    raise MissingExtraError("numba", "audio") from exc


@njit(cache=True, nogil=True)
def _vote(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, shift: float
) -> tuple[I64, I64, I32, I64]:
    """Cell key and hashed slot of every (factor, hit), shape (n_f * n,), the votes per
    slot, shape (2^18,), and ``[lo, span]`` of the offset bins."""
    n = qc.shape[0]
    n_f = factors.shape[0]
    obin = np.empty(n_f * n, np.int64)
    lo = np.iinfo(np.int64).max
    hi = np.iinfo(np.int64).min
    for f in range(n_f):
        s = factors[f]
        for i in range(n):
            ob = int(np.floor((rt[i] - s * qc[i]) / bin_width + shift))
            obin[f * n + i] = ob
            if ob < lo:
                lo = ob
            if ob > hi:
                hi = ob
    span = hi - lo + 1
    keys = np.empty(n_f * n, np.int64)
    slots = np.empty(n_f * n, np.int64)
    votes = np.zeros(1 << TABLE_BITS, np.int32)  # 1 MB: stays in L2
    mult = np.uint64(_GOLDEN)
    down = np.uint64(64 - TABLE_BITS)
    for f in range(n_f):
        for i in range(n):
            k = (work[i] * n_f + f) * span + (obin[f * n + i] - lo)
            slot = np.int64((np.uint64(k) * mult) >> down)
            keys[f * n + i] = k
            slots[f * n + i] = slot
            votes[slot] += 1
    return keys, slots, votes, np.array([lo, span], np.int64)


@njit(cache=True, nogil=True)
def _members(keys: I64, slots: I64, mark: npt.NDArray[np.bool_]) -> I64:
    """The keys whose slot is marked, in input order."""
    out = np.empty(keys.shape[0], np.int64)
    m = 0
    for j in range(keys.shape[0]):
        if mark[slots[j]]:
            out[m] = keys[j]
            m += 1
    return out[:m]


def top_cells(
    work: I64, qc: F64, rt: F64, factors: F64, bin_width: float, shift: float, n_top: int
) -> tuple[I64, I64, int, int]:
    """The ~``n_top`` most voted (work, factor, offset bin) cells and their exact counts.

    A hit ``i`` votes, for each factor ``s``, for offset bin ``floor((rt - s*qc)/bin_width +
    shift)``. Cell key: ``(work * n_f + factor) * span + (bin - lo)``. Votes go to 2^18 hashed
    slots; only the members of the ``n_top`` best slots are counted exactly, so a slot shared
    by two cells never merges them. Returns ``(cells, counts, lo, span)``.
    """
    keys, slots, votes, lo_span = _vote(work, qc, rt, factors, float(bin_width), float(shift))
    table = votes.shape[0]
    n_top = min(n_top, table)
    best = np.argpartition(votes, table - n_top)[table - n_top :]
    mark = np.zeros(table, dtype=bool)
    mark[best[votes[best] > 0]] = True
    cells, counts = np.unique(_members(keys, slots, mark), return_counts=True)
    return cells, counts.astype(np.int64), int(lo_span[0]), int(lo_span[1])
