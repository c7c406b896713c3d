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
