"""The coarse Hough vote's cell selection: exact counts, whatever the vote table's sparsity."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from tdmguard.fingerprint.audio.coarse_vote import top_cells, top_cells_both

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


def test_both_shifts_in_one_pass_give_the_single_shift_answers() -> None:
    work, qc, rt = _hits(300, 20_000, 4)
    both = top_cells_both(work, qc, rt, FACTORS, BIN, 32)
    for shift, got in zip((0.0, 0.5), both, strict=True):
        single = top_cells(work, qc, rt, FACTORS, BIN, shift, 32)
        assert got[2:] == single[2:]
        assert np.array_equal(got[0], single[0]) and np.array_equal(got[1], single[1])
