"""Score index hits by a consistent time line and pitch offset per work (Hough, then a fit).

A query that is an excerpt of a reference, played ``s`` times faster and shifted by ``p``
semitones, puts every true hit on the line ``t_ref = a + s * t_query`` with
``f_query - f_ref = p``. Random hits scatter. So, per work:

1. coarse vote over 7 time factors 0.87..1.15 and 32-frame offset bins (both halves), counted
   exactly per work (``coarse_vote.best_cells_per_work``);
2. for the best few works, a fine vote over time factors +-3 % around the coarse one (0.4 %
   steps), 3-frame offsets and half-semitone pitch offsets;
3. inliers within ``tol_frames`` and ``tol_st`` of the winning cell; a least-squares line fit
   through them gives the time factor and offset; refit once on the refined inliers.

The score is the number of distinct query triplets that agree. Random agreement is rare: with
~0.5 random hits per query triplet spread over every work's whole length, six or more of them
on one line within +-2.5 frames is unlikely; ``min_score`` is set from the false-positive
runs in ``benchmarks/audio`` (see docs/audio.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["AlignParams", "Alignment", "align_hits", "hit_filter"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AlignParams:
    min_factor: float = 0.87
    max_factor: float = 1.15
    coarse_factors: int = 7
    coarse_bin: float = 32.0  # frames
    fine_span: float = 0.03  # +- relative, around the coarse factor
    fine_step: float = 0.004
    fine_bin: float = 3.0  # frames
    pitch_bin: float = 0.5  # semitones
    max_pitch_st: float = 4.0
    tol_frames: float = 2.5
    tol_st: float = 0.5
    ratio_tol: float = 0.12  # |ln(per-hash factor / line factor)| allowed
    candidates: int = 8
    min_score: int = 8
    min_votes: int = 4


@dataclass(frozen=True, slots=True)
class Alignment:
    """One work's agreement. Times are in frames; ``offset`` is ``a`` of ``t_ref = a + s*t_q``."""

    work: int
    score: int
    time_factor: float
    offset: float
    pitch_st: float
    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    hits: int


def _best_cells(keys: I64) -> tuple[I64, I64]:
    cells, counts = np.unique(keys, return_counts=True)
    return cells, counts.astype(np.int64)


def _max_in_window(values: F64, width: float) -> int:
    """The most of ascending ``values`` that lie in one closed interval of length ``width``
    (a little more, for rounding)."""
    ends = np.searchsorted(values, values + width + 1e-9, side="right")
    return int((ends - np.arange(values.shape[0])).max()) if values.shape[0] else 0


def hit_filter(p: AlignParams) -> tuple[float, tuple[float, float]]:
    """``(max |pitch offset| in semitones, (min, max) ln span ratio)`` a hit needs to be kept:
    outside them it cannot lie on any line this search allows."""
    return p.max_pitch_st, (
        float(np.log(p.min_factor)) - p.ratio_tol,
        float(np.log(p.max_factor)) + p.ratio_tol,
    )


def align_hits(
    qt: F64, source: I64, work: I64, rt: F64, dp: F64, ratio: F64, p: AlignParams
) -> list[Alignment]:
    """Alignments of works with at least ``p.min_score`` agreeing query triplets, best first.

    All arrays have shape (m,), one entry per hit that passed :func:`hit_filter`
    (``coarse_vote.select_hits``): ``qt`` the query triplet's anchor frame, ``source`` its row
    in the query, ``work`` the reference work number, ``rt`` the reference anchor frame,
    ``dp`` the pitch offset (query minus reference, semitones), ``ratio`` the hash's own
    time-factor estimate (reference span / query span: noisy, used to drop hits that cannot be
    on the line; its logarithm is taken only for the hits of the ranked works).
    """
    # compiled kernels: imported here so that importing the engine needs no numba
    from tdmguard.fingerprint.audio.coarse_vote import best_cells_per_work

    if qt.shape[0] < p.min_score:
        return []
    centre = 0.5 * (float(qt.min()) + float(qt.max()))
    qc = qt - centre
    factors = np.geomspace(p.min_factor, p.max_factor, p.coarse_factors)
    # stage 1: each work's best (factor, offset bin) cell, with bins shifted by half to catch
    # edges; the works with the most votes go on to the fine stage
    # a work with fewer hits than min_score cannot score min_score (the score counts distinct
    # query triplets among its hits): it is not voted on. At 1,000 h most works get a few
    # random hits each (~6 on average for a 10 s query), so this skips most of the vote
    works, votes, fi, obin = best_cells_per_work(
        work, qc, rt, factors, p.coarse_bin, p.min_votes, p.min_score, p.candidates
    )
    top = np.lexsort((works, -votes))[: p.candidates]
    ranked = [
        (int(works[j]), (int(votes[j]), float(factors[fi[j]]), float(obin[j]))) for j in top
    ]
    out: list[Alignment] = []
    if not ranked:
        return out
    # the hits of every ranked work, found in one pass over all hits (not one pass per work)
    rank_of = np.full(int(work.max()) + 1, -1, np.int64)
    for j, (w, _) in enumerate(ranked):
        rank_of[w] = j
    mine = np.flatnonzero(rank_of[work] >= 0)
    mine_rank = rank_of[work[mine]]
    for j, (w, (_, factor, obin_centre)) in enumerate(ranked):
        i = mine[mine_rank == j]
        found = _fine(
            w,
            factor,
            obin_centre * p.coarse_bin,
            qc[i],
            qt[i],
            dp[i],
            np.log(ratio[i]),
            source[i],
            rt[i],
            p,
        )
        if found is not None and found.score >= p.min_score:
            out.append(found)
    out.sort(key=lambda a: -a.score)
    return out


def _fine(
    w: int,
    factor: float,
    offset: float,
    qc: F64,
    qt: F64,
    dp: F64,
    lr: F64,
    source: I64,
    rt: F64,
    p: AlignParams,
) -> Alignment | None:
    """Fine vote and line fit for work ``w``; the arrays hold that work's hits only."""
    near = np.abs(rt - factor * qc - offset) <= 1.5 * p.coarse_bin
    if int(near.sum()) < p.min_score:
        return None
    # the inliers below agree on pitch within +-tol_st of one value: fewer than min_score
    # near hits in every pitch window of 2 tol_st and no alignment can reach min_score (most
    # random candidates stop here, before the fine vote)
    if _max_in_window(np.sort(dp[near]), 2.0 * p.tol_st) < p.min_score:
        return None
    qc_w, qt_w, dp_w, src_w, rt_w = qc[near], qt[near], dp[near], source[near], rt[near]
    lr_w = lr[near]
    fine = factor * np.exp(
        np.arange(-p.fine_span, p.fine_span + 1e-9, p.fine_step, dtype=np.float64)
    )
    off = rt_w[None, :] - fine[:, None] * qc_w[None, :]
    obin = np.floor(off / p.fine_bin).astype(np.int64)
    obin -= obin.min()
    pbin = np.floor((dp_w + p.max_pitch_st) / p.pitch_bin).astype(np.int64)
    n_p = int(pbin.max()) + 1
    span = int(obin.max()) + 1
    keys = (np.arange(fine.shape[0])[:, None] * span + obin) * n_p + pbin[None, :]
    cells, counts = _best_cells(keys.reshape(-1))
    best = int(cells[int(np.argmax(counts))])
    rest, pb = divmod(best, n_p)
    fi, _ = divmod(rest, span)
    s = float(fine[fi])
    pitch = (pb + 0.5) * p.pitch_bin - p.max_pitch_st
    # the winning cell's offset, as the median over its members
    member = (obin[fi] == rest % span) & (pbin == pb)
    a = float(np.median(off[fi][member]))
    inl = np.zeros(0, dtype=bool)
    for _ in range(2):
        resid = rt_w - (a + s * qc_w)
        inl = (
            (np.abs(resid) <= p.tol_frames)
            & (np.abs(dp_w - pitch) <= p.tol_st)
            & (np.abs(lr_w - np.log(s)) <= p.ratio_tol)
        )
        if int(inl.sum()) < 3:
            return None
        x, y = qc_w[inl], rt_w[inl]
        if float(np.ptp(x)) > 20.0:  # enough spread (> 0.3 s) for a slope
            s_fit, a_fit = np.polyfit(x, y, 1)
            if p.min_factor <= s_fit <= p.max_factor:
                s, a = float(s_fit), float(a_fit)
        pitch = float(np.median(dp_w[inl]))
    # distinct query triplets, counted once per query frame and once per reference frame:
    # a steady tone repeats one triplet shape frame after frame and must not outvote music
    score = min(
        int(np.unique(src_w[inl]).shape[0]),
        int(np.unique(np.rint(qt_w[inl])).shape[0]),
        int(np.unique(np.rint(rt_w[inl])).shape[0]),
    )
    centre = float(qt_w[0] - qc_w[0])
    q_lo, q_hi = float(qt_w[inl].min()), float(qt_w[inl].max())
    return Alignment(
        work=w,
        score=score,
        time_factor=s,
        offset=a - s * centre,
        pitch_st=pitch,
        query_start=q_lo,
        query_end=q_hi,
        ref_start=float(rt_w[inl].min()),
        ref_end=float(rt_w[inl].max()),
        hits=int(near.sum()),
    )
