"""``HashIndex.lookup(max_per_key=...)`` skips keys stored more often than the cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tdmguard.index.hash_index import HashIndex, SegmentWriter


def test_frequent_keys_are_skipped(tmp_path: Path) -> None:
    HashIndex.create(tmp_path, engine="t/1", aux_width=1)
    writer = SegmentWriter(1)
    common = np.full(5, 7, np.uint64)
    writer.add("a", np.concatenate([common, np.array([1], np.uint64)]), np.zeros((6, 1), np.int32))
    writer.add("b", np.array([7, 2], np.uint64), np.ones((2, 1), np.int32))
    HashIndex.append_segment(tmp_path, writer)
    index = HashIndex.open(tmp_path)
    query = np.array([7, 1, 2], np.uint64)
    assert index.lookup(query).query_row.shape[0] == 8
    capped = index.lookup(query, max_per_key=3)
    assert sorted(capped.query_row.tolist()) == [1, 2]
    assert [capped.work_ids[w] for w in capped.work[np.argsort(capped.query_row)]] == ["a", "b"]


def test_hit_budget_skips_the_most_frequent_keys_first(tmp_path: Path) -> None:
    HashIndex.create(tmp_path, engine="t/1", aux_width=1)
    # key 5 stored 4 times, key 6 twice, key 8 once; key 6 also once in a second segment
    first = SegmentWriter(1)
    first.add("a", np.array([5, 5, 5, 5, 6, 6, 8], np.uint64), np.zeros((7, 1), np.int32))
    HashIndex.append_segment(tmp_path, first)
    second = SegmentWriter(1)
    second.add("b", np.array([6, 9], np.uint64), np.ones((2, 1), np.int32))
    HashIndex.append_segment(tmp_path, second)
    index = HashIndex.open(tmp_path)
    query = np.array([8, 5, 6, 7], np.uint64)

    def rows(max_hits: int | None) -> list[int]:
        return sorted(index.lookup(query, max_hits=max_hits).query_row.tolist())

    assert rows(None) == [0, 1, 1, 1, 1, 2, 2, 2]
    assert rows(8) == rows(None)  # within budget: everything
    # key 6 counts 3 over both segments: with key 5 (4) dropped, 1 + 3 = 4 hits fit
    assert rows(7) == [0, 2, 2, 2]
    assert rows(4) == [0, 2, 2, 2]
    assert rows(3) == [0]  # key 6's three hits no longer fit: dropped whole
    assert rows(0) == []
    # the order of the query keys does not change which keys are kept
    shuffled = index.lookup(query[::-1], max_hits=4)
    assert sorted(query[::-1][shuffled.query_row].tolist()) == [6, 6, 6, 8]
