"""Alignment of n-gram hits of one work: the best chain in order on both sides.

Hits are (query token, reference token, weight) triples. A chain takes hits in increasing
order on both sides, each step at most ``max_gap`` tokens on either side (edits and text
interleaved between lyric lines leave gaps; a reference n-gram is used at most once, so a
chorus repeated in the query counts once). Two steps are possible: along the same diagonal
(the next window is the same number of tokens further on both sides: overlapping windows
share their tokens), or past the end of the previous window on both sides (a gap: an edit,
interleaved text). A step that overlaps the previous window on one side but not by the
same amount on the other is impossible in a real quote (the shared tokens would sit at two
places of the lyric); it used to let a chain stitch one query phrase to two occurrences of
a repeated lyric phrase and count two lyric lines for it. The chain of greatest total
weight is found by dynamic programming over hits sorted by query position: O(h * w) with
w the hits within ``max_gap`` query tokens, vectorised per hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Chain", "best_chain"]

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, eq=False)
class Chain:
    """The chosen hits (indices into the input arrays, in query order) and their weight."""

    hits: I64
    weight: float

    def __len__(self) -> int:
        return int(self.hits.shape[0])


def best_chain(q_pos: I64, r_pos: I64, weight: F32, *, max_gap: int,
               length: I64 | None = None) -> Chain:
    """The heaviest chain of hits increasing in both ``q_pos`` and ``r_pos``.

    All inputs shape (h,); hits need not be sorted. ``length``: tokens of each hit's window
    (the same on both sides: the window hash includes it); without it, any step in order
    is allowed. Steps are at most ``max_gap`` tokens on each side. Returns an empty chain
    for no hits."""
    h = q_pos.shape[0]
    if h == 0:
        return Chain(np.zeros(0, np.int64), 0.0)
    order = np.lexsort((r_pos, q_pos))
    q = q_pos[order]
    r = r_pos[order]
    w = weight[order].astype(np.float64)
    span = None if length is None else np.asarray(length[order] - 1, dtype=np.int64)
    best = w.copy()
    pred = np.full(h, -1, np.int64)
    lo_all = np.searchsorted(q, q - max_gap, side="left")
    for j in range(1, h):
        lo = int(lo_all[j])
        if lo >= j:
            continue
        qi = q[lo:j]
        ri = r[lo:j]
        ok = (qi < q[j]) & (ri < r[j]) & (ri >= r[j] - max_gap)
        if span is not None:
            # same diagonal, or past the previous window's end on both sides
            dq = q[j] - qi
            dr = r[j] - ri
            si = span[lo:j]
            ok &= (dq == dr) | ((dq > si) & (dr > si))
        if not ok.any():
            continue
        cand = np.where(ok, best[lo:j], -1.0)
        k = int(np.argmax(cand))
        if cand[k] > 0:
            best[j] = w[j] + cand[k]
            pred[j] = lo + k
    end = int(np.argmax(best))
    chain: list[int] = []
    while end >= 0:
        chain.append(end)
        end = int(pred[end])
    picked = order[np.array(chain[::-1], dtype=np.int64)]
    return Chain(picked.astype(np.int64), float(weight[picked].sum()))
