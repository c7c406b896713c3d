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

__all__ = ["Chain", "align_words", "best_chain", "recover_tokens"]

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


# -- word alignment next to a chain ----------------------------------------------------------
# A changed word breaks every n-gram window that holds it, so the words between an edit and
# the end of a quote (or between two edits) fall in no matched window: "Rivers [are] damp /
# Acids stain you" with "are" changed matches "damp acids stain you" only. The index keeps
# every n-gram of a lyric with its position, and an n-gram hash is a polynomial of its token
# hashes (hashing.window_raw undoes the mixing), so next to a matched window, whose tokens
# the query tells, each further window of the lyric tells one more token hash: the lyric's
# words around the chain are recovered as hashes, and the query's words are aligned to them.
MATCH_SCORE = 1.0
SUBSTITUTION_COST = 0.5  # a changed word: cheaper than an inserted or deleted one
GAP_COST = 1.0
_MASK = (1 << 64) - 1


def recover_tokens(known: dict[int, int], raw_at: dict[int, int], width: int,
                   lo: int, hi: int, base: int) -> dict[int, int]:
    """Token hashes of lyric positions ``lo..hi``: ``known`` (position -> token hash, from
    matched windows) extended through the lyric's windows ``raw_at`` (start position ->
    polynomial value of its ``width`` tokens, ``hashing.window_raw``): a window with every
    token but one known gives that one. A window absent from the index (an n-gram common
    in ordinary text, one repeated token) stops the walk in that direction."""
    powers = [pow(base, k, 1 << 64) for k in range(width)]
    inverse = [pow(base, -k, 1 << 64) for k in range(width)]
    tokens = dict(known)
    starts = sorted(s for s in raw_at if lo - width < s <= hi)
    idle = 0  # passes in a row that found nothing: stop after one each way
    forward = True
    while idle < 2:  # passes alternate forwards and backwards: a walk either way in one
        changed = False
        for s in (starts if forward else reversed(starts)):
            missing = [k for k in range(width) if s + k not in tokens]
            if len(missing) != 1 or not lo <= s + missing[0] <= hi:
                continue
            u = missing[0]
            rest = raw_at[s]
            for k in range(width):
                if k != u:
                    rest -= tokens[s + k] * powers[width - 1 - k]
            tokens[s + u] = (rest * inverse[width - 1 - u]) & _MASK
            changed = True
        idle = 0 if changed else idle + 1
        forward = not forward
    return tokens


def align_words(query: list[int], lyric: list[int | None], *, anchored_end: bool,
                min_score: float = 0.0) -> list[tuple[int, int]]:
    """Pairs (i, j) of equal words ``query[i] == lyric[j]`` in the best alignment of the two
    sequences, both starting right after an anchor (a matched window): a word matched
    scores :data:`MATCH_SCORE`, a changed word costs :data:`SUBSTITUTION_COST`, an inserted
    or deleted one :data:`GAP_COST`; ``None`` (a lyric word not recovered) matches nothing.
    ``anchored_end``: both sequences are used whole (the stretch between two anchors);
    otherwise the alignment stops where its score is highest, the end of the quote, and
    finds nothing unless that score is above ``min_score``. Small inputs (a few lines),
    plain dynamic programming."""
    n, m = len(query), len(lyric)
    if n == 0 or m == 0:
        return []
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 1 diagonal, 2 up (query word), 3 left
    for i in range(1, n + 1):
        score[i][0] = -GAP_COST * i
        move[i][0] = 2
    for j in range(1, m + 1):
        score[0][j] = -GAP_COST * j
        move[0][j] = 3
    best, best_at = 0.0, (0, 0)
    for i in range(1, n + 1):
        q = query[i - 1]
        row, above = score[i], score[i - 1]
        for j in range(1, m + 1):
            diag = above[j - 1] + (MATCH_SCORE if lyric[j - 1] == q else -SUBSTITUTION_COST)
            up = above[j] - GAP_COST
            left = row[j - 1] - GAP_COST
            if diag >= up and diag >= left:
                row[j], move[i][j] = diag, 1
            elif up >= left:
                row[j], move[i][j] = up, 2
            else:
                row[j], move[i][j] = left, 3
            if row[j] > best:
                best, best_at = row[j], (i, j)
    if not anchored_end and best <= min_score:
        return []
    i, j = (n, m) if anchored_end else best_at
    pairs: list[tuple[int, int]] = []
    while i > 0 or j > 0:
        step = move[i][j]
        if step == 1:
            if lyric[j - 1] == query[i - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif step == 2:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]
