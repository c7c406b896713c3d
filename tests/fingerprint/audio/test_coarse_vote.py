"""The coarse Hough vote: the hashed cell selection (``top_cells``, exact counts whatever the
vote table's sparsity) and the shipped per-work stage (``best_cells_per_work``)."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from tdmguard.fingerprint.audio.coarse_vote import best_cells_per_work, top_cells

FACTORS = np.geomspace(0.8, 1.25, 9)
BIN = 8.0


def _hits(works: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    work = rng.integers(0, works, n).astype(np.int64)
    qc = rng.uniform(-400, 400, n)
    rt = rng.uniform(0, 40_000, n)
    # one real alignment: work 1 at factor 1.0, offset 5,000 frames
    k = n // 4
    work[:k] = 1
    rt[:k] = 5_000 + qc[:k] + rng.normal(0, 1.0, k)
    return work, qc, rt


def _exact(work: np.ndarray, qc: np.ndarray, rt: np.ndarray, shift: float) -> Counter[int]:
    """Every cell's vote count, by brute force (the definition in top_cells' docstring)."""
    obs = np.floor((rt[None, :] - FACTORS[:, None] * qc[None, :]) / BIN + shift).astype(np.int64)
    lo = int(obs.min())
    span = int(obs.max()) - lo + 1
    keys = (work[None, :] * FACTORS.shape[0] + np.arange(FACTORS.shape[0])[:, None]) * span + (
        obs - lo)
    return Counter(keys.ravel().tolist())


def test_sparse_votes_return_every_cell_exactly() -> None:
    work, qc, rt = _hits(3, 400, 1)
    cells, counts, _, _ = top_cells(work, qc, rt, FACTORS, BIN, 0.0, 10_000)
    exact = _exact(work, qc, rt, 0.0)
    assert dict(zip(cells.tolist(), counts.tolist(), strict=True)) == dict(exact)


def test_dense_votes_keep_the_strongest_cells_with_exact_counts() -> None:
    work, qc, rt = _hits(500, 30_000, 2)
    n_top = 64
    cells, counts, _, _ = top_cells(work, qc, rt, FACTORS, BIN, 0.5, n_top)
    exact = _exact(work, qc, rt, 0.5)
    got = dict(zip(cells.tolist(), counts.tolist(), strict=True))
    assert all(exact[c] == n for c, n in got.items())  # members are counted exactly
    best_cell, best_count = exact.most_common(1)[0]
    assert got[best_cell] == best_count > 1000  # the real alignment's cell is found


def test_query_time_does_not_grow_on_a_sparse_table() -> None:
    # issue 14: the selection over a 2^18-slot table that is nearly all zeros took ~60 ms
    work, qc, rt = _hits(2, 300, 3)
    top_cells(work, qc, rt, FACTORS, BIN, 0.0, 64)  # compile / load the kernels
    times = []
    for _ in range(20):
        t = time.perf_counter()
        top_cells(work, qc, rt, FACTORS, BIN, 0.0, 64)
        times.append(time.perf_counter() - t)
    assert sorted(times)[len(times) // 2] < 0.02  # median; the old path took ~60 ms


# -- the shipped coarse stage: each work's best cell, exactly ------------------------------
ENGINE_FACTORS = np.geomspace(0.87, 1.15, 7)
COARSE_BIN = 32.0


def _brute(work: np.ndarray, qc: np.ndarray, rt: np.ndarray) -> dict[int, tuple[int, int, float]]:
    """Per work: (votes, factor index, offset) of the best cell by the definition."""
    out: dict[int, tuple[int, int, float]] = {}
    for w in np.unique(work):
        sel = work == w
        best: tuple[int, int, float] | None = None
        for shift in (0.0, 0.5):
            cells: Counter[tuple[int, int]] = Counter()
            for f, s in enumerate(ENGINE_FACTORS):
                x = (rt[sel] - s * qc[sel]) / COARSE_BIN
                cells.update((f, int(b)) for b in np.floor(x + shift))
            top = max(cells.values())
            f, b = min(c for c, n in cells.items() if n == top)  # lowest (factor, bin)
            if best is None or top > best[0]:
                best = (top, f, b + 0.5 - shift)
        assert best is not None
        out[int(w)] = best
    return out


def test_each_works_best_cell_is_exact() -> None:
    rng = np.random.default_rng(7)
    n = 6000
    work = rng.integers(0, 40, n).astype(np.int64)
    qc = rng.uniform(-300, 300, n)
    rt = rng.uniform(0, 30_000, n)
    # work 3 holds a real alignment at factor 1.0 (index 3), offset 9,000 frames
    k = 400
    work[:k] = 3
    rt[:k] = 9_000 + qc[:k] + rng.normal(0, 1.0, k)
    works, votes, fi, offset = best_cells_per_work(work, qc, rt, ENGINE_FACTORS, COARSE_BIN, 1)
    brute = _brute(work, qc, rt)
    assert sorted(works.tolist()) == sorted(brute)
    for w, v, f, o in zip(works.tolist(), votes.tolist(), fi.tolist(), offset.tolist(),
                          strict=True):
        bv, bf, bo = brute[w]
        assert v == bv
        assert (f, o) == (bf, bo) or v <= 3  # ties between equal random cells aside
    best = int(np.argmax(votes))
    assert works[best] == 3 and votes[best] >= k and fi[best] == 3
    assert abs(offset[best] * COARSE_BIN - 9_000) <= COARSE_BIN


def test_min_votes_and_empty_input() -> None:
    work = np.array([0, 0, 1], np.int64)
    qc = np.zeros(3)
    rt = np.array([10.0, 11.0, 500.0])
    works, votes, _, _ = best_cells_per_work(work, qc, rt, ENGINE_FACTORS, COARSE_BIN, 2)
    assert works.tolist() == [0] and votes.tolist() == [2]
    empty = best_cells_per_work(work[:0], qc[:0], rt[:0], ENGINE_FACTORS, COARSE_BIN, 2)
    assert all(a.shape == (0,) for a in empty)


def test_random_works_below_min_votes_are_dropped_exactly() -> None:
    """The per-work bound (hits in two adjacent reference windows) only skips works whose
    best cell is below ``min_votes``: the result equals the brute-force vote, filtered."""
    rng = np.random.default_rng(11)
    works_n, n = 3000, 36_000
    work = rng.integers(0, works_n, n).astype(np.int64)
    qc = rng.uniform(-312, 312, n)
    rt = rng.uniform(0, 15_000, n)
    # a few works with hits gathered near one stretch (bound reached, votes may be too)
    for w in range(0, 60, 3):
        sel = np.flatnonzero(work == w)
        rt[sel] = 4_000 + rng.uniform(0, 900, sel.shape[0])
    # and a few real alignments (factor 1.0): every hit in one cell
    for w in range(1, 60, 6):
        sel = np.flatnonzero(work == w)
        rt[sel] = 7_000 + qc[sel] + rng.normal(0, 1.0, sel.shape[0])
    for min_votes in (3, 4, 6):
        works, votes, fi, offset = best_cells_per_work(
            work, qc, rt, ENGINE_FACTORS, COARSE_BIN, min_votes, 8
        )
        counts = np.bincount(work, minlength=works_n)
        picked = [w for w in range(200) if counts[w] >= 8]
        brute = _brute(work[np.isin(work, picked)], qc[np.isin(work, picked)],
                       rt[np.isin(work, picked)])
        want = {w: b for w, b in brute.items() if b[0] >= min_votes}
        got = {w: (v, f, o) for w, v, f, o in zip(works.tolist(), votes.tolist(), fi.tolist(),
                                                  offset.tolist(), strict=True) if w < 200}
        assert sorted(got) == sorted(want)
        assert all(got[w][0] == want[w][0] for w in got)
        assert len(got) >= 6


def test_long_works_and_the_n_best_cut_keep_the_exact_top() -> None:
    """The bound's window counters wrap every 1,024 windows (a work of hours); sharing a
    counter only raises a bound. With ``n_best`` the ``n_best`` first works by (votes, work
    number) are those of the brute-force vote, counts and cells included."""
    rng = np.random.default_rng(23)
    works_n, n = 400, 40_000
    work = rng.integers(0, works_n, n).astype(np.int64)
    qc = rng.uniform(-312, 312, n)
    rt = rng.uniform(0, 4_000_000, n)  # up to 18 h: ~30,000 windows a work
    # real alignments of different strengths, some near the start and some hours in
    for j, w in enumerate(range(5, 200, 13)):
        sel = np.flatnonzero(work == w)[: 6 + 2 * j]
        rt[sel] = (100 + 250_000 * j) + qc[sel] + rng.normal(0, 1.0, sel.shape[0])
    # and hits 1,024 windows apart (the same counter), never in one cell
    sel = np.flatnonzero(work == 7)
    rt[sel] = 40_000 + 1024 * 3.7 * 32 * np.arange(sel.shape[0]) % 3_000_000
    brute = _brute(work, qc, rt)
    order = sorted(brute, key=lambda w: (-brute[w][0], w))
    for n_best in (1, 3, 8):
        works, votes, fi, offset = best_cells_per_work(
            work, qc, rt, ENGINE_FACTORS, COARSE_BIN, 4, 8, n_best
        )
        top = np.lexsort((works, -votes))[:n_best]
        got = [(int(works[j]), int(votes[j]), int(fi[j]), float(offset[j])) for j in top]
        want = [(w, *brute[w]) for w in order[:n_best]]
        assert got == want


def test_ratio_bounds_filter_like_the_logarithm() -> None:
    """The hit filter compares span ratios with ``ratio_bounds`` instead of taking a log per
    hit: for every ratio the engine can form (spans in quarter frames) and for floats at the
    bounds, both tests agree."""
    import math

    from tdmguard.fingerprint.audio.alignment import AlignParams, hit_filter
    from tdmguard.fingerprint.audio.coarse_vote import ratio_bounds

    _, lr_range = hit_filter(AlignParams())
    lo, hi = ratio_bounds(lr_range)
    spans = np.arange(1, 1025) / 4.0
    ratios = (spans[:, None] / spans[None, :]).ravel().tolist()
    edges = []
    for b in (lo, hi):
        x = b
        for _ in range(4):
            x = math.nextafter(x, 0.0)
        for _ in range(9):
            edges.append(x)
            x = math.nextafter(x, math.inf)
    for r in ratios + edges:
        assert (r < lo) == (math.log(r) < lr_range[0])
        assert (r > hi) == (math.log(r) > lr_range[1])
