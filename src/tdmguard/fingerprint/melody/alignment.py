"""Local alignment (Smith-Waterman, linear gaps) of two token strings, with Mongeau-Sankoff
style fragmentation and consolidation, row-vectorised.

Besides the usual substitution, insertion and deletion, two moves absorb a note inserted in
or deleted from a copy (Mongeau & Sankoff 1990): two query tokens against one reference token
whose interval is their sum (*fragmentation*: a note was inserted), and one query token
against two reference tokens (*consolidation*: a note was deleted).

Each row of the dynamic programme is computed with numpy: with a linear gap cost ``g`` the
left-to-right dependency ``H[j] = max(T[j], H[j-1] - g)`` unrolls to
``H[j] = max_k<=j (T[k] + g*k) - g*j``, a cumulative maximum. The start of the best path is
carried along with every cell, so one pass gives score and both spans. Cost: O(Lq) numpy
calls of length Lr.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LocalAlignment", "smith_waterman"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class LocalAlignment:
    """Best local alignment: ``score`` and half-open spans ``[q_start, q_end)`` of the query
    tokens and ``[r_start, r_end)`` of the reference tokens (0 score: empty spans)."""

    score: float
    q_start: int
    q_end: int
    r_start: int
    r_end: int


def smith_waterman(
    sim: F64, gap: float, frag: F64 | None = None, cons: F64 | None = None,
    subst: F64 | None = None, ins3: F64 | None = None, del3: F64 | None = None,
) -> LocalAlignment:
    """Align with gains per token pair and a gap cost per inserted or deleted token.

    ``sim[i, j]``: gain of aligning query token i with reference token j, shape (Lq, Lr).
    ``frag[i, j]``: gain of query tokens (i-1, i) against reference token j (row 0 unused).
    ``cons[i, j]``: gain of query token i against reference tokens (j-1, j) (column 0
    unused). ``subst[i, j]``: gain of query tokens (i-1, i) against reference tokens
    (j-1, j) as a pair (a note substituted: both intervals change, their sum does not; row
    and column 0 unused). ``ins3[i, j]``: gain of query tokens (i-2, i-1, i) against
    reference tokens (j-1, j) (a note inserted, with the rhythm change it makes in the token
    before it; rows 0-1 and column 0 unused). ``del3[i, j]``: gain of query tokens (i-1, i)
    against reference tokens (j-2, j-1, j) (a note deleted, likewise; row 0 and columns 0-1
    unused). Missing matrices disable the move. ``gap`` > 0.
    """
    lq, lr = sim.shape
    if lq == 0 or lr == 0:
        return LocalAlignment(0.0, 0, 0, 0, 0)
    width = lr + 1
    ramp = gap * np.arange(lr, dtype=np.float64)
    cols = np.arange(lr, dtype=np.int64)
    h_prev3 = np.zeros(width)
    h_prev2 = np.zeros(width)
    h_prev = np.zeros(width)
    # s_*: start (q * width + r) of the best path through each cell; a path leaving a zero
    # cell (i, j) starts at token pair (i + 1, j + 1); the virtual row -1 starts at (0, r).
    s_prev = np.arange(width, dtype=np.int64)
    s_prev2 = s_prev.copy()
    s_prev3 = s_prev.copy()
    neg = np.full(lr, -np.inf)
    best, best_end, best_start = 0.0, (0, 0), 0
    for i in range(lq):
        # candidates per cell: start here, diagonal, up (query token unmatched), frag, cons
        start_here = (i + 1) * width + cols + 1
        diag = h_prev[:-1] + sim[i]
        up = h_prev[1:] - gap
        fr = h_prev2[:-1] + frag[i] if frag is not None and i >= 1 else neg
        co = neg.copy()
        if cons is not None and lr >= 2:
            co[1:] = h_prev[:-2] + cons[i, 1:]
        sb = neg.copy()
        if subst is not None and i >= 1 and lr >= 2:
            sb[1:] = h_prev2[:-2] + subst[i, 1:]
        moves = [np.zeros(lr), diag, up, fr, co, sb]
        move_starts = [start_here, s_prev[:-1], s_prev[1:], s_prev2[:-1],
                       np.concatenate(([0], s_prev[:-2])),
                       np.concatenate(([0], s_prev2[:-2]))]
        if ins3 is not None and i >= 2 and lr >= 2:
            i3 = neg.copy()
            i3[1:] = h_prev3[:-2] + ins3[i, 1:]
            moves.append(i3)
            move_starts.append(np.concatenate(([0], s_prev3[:-2])))
        if del3 is not None and i >= 1 and lr >= 3:
            d3 = neg.copy()
            d3[2:] = h_prev2[:-3] + del3[i, 2:]
            moves.append(d3)
            move_starts.append(np.concatenate(([0, 0], s_prev2[:-3])))
        cand = np.stack(moves)
        starts = np.stack(move_starts)
        pick = np.argmax(cand, axis=0)
        t = cand[pick, cols]
        st = starts[pick, cols]
        # left moves (reference token unmatched): cumulative maximum, remembering its source
        vals = t + ramp
        running = np.maximum.accumulate(vals)
        src = np.maximum.accumulate(np.where(vals >= running, cols, 0))
        row = running - ramp
        row_start = st[src]
        j = int(np.argmax(row))
        if row[j] > best:
            best, best_end, best_start = float(row[j]), (i + 1, j + 1), int(row_start[j])
        h_prev3, s_prev3 = h_prev2, s_prev2
        h_prev2, s_prev2 = h_prev, s_prev
        h_prev = np.concatenate(([0.0], row))
        s_prev = np.concatenate(([(i + 1) * width], row_start))
    if best <= 0.0:
        return LocalAlignment(0.0, 0, 0, 0, 0)
    q_start, r_start = divmod(best_start, width)
    return LocalAlignment(best, q_start, best_end[0], r_start, best_end[1])
