from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tdmguard.errors import IndexStoreError
from tdmguard.index.hash_index import HashIndex, SegmentWriter


def _writer(works: dict[str, list[int]]) -> SegmentWriter:
    w = SegmentWriter(aux_width=2)
    for work_id, keys in works.items():
        k = np.array(keys, dtype=np.uint64)
        aux = np.stack([np.arange(len(keys)), np.full(len(keys), 7)], axis=1).astype(np.int32)
        w.add(work_id, k, aux, {"n": len(keys)})
    return w


def test_lookup_across_segments_and_removal(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    HashIndex.create(folder, engine="e/1", aux_width=2)
    HashIndex.append_segment(folder, _writer({"a": [5, 1, 5, 9], "b": [9, 2]}))
    HashIndex.append_segment(folder, _writer({"c": [9, 3]}))
    idx = HashIndex.open(folder)
    assert len(idx) == 8 and list(idx.work_ids) == ["a", "b", "c"]
    hits = idx.lookup(np.array([9, 5, 4], dtype=np.uint64))
    found = sorted((int(r), idx.work_ids[int(w)], int(a[0])) for r, w, a in
                   zip(hits.query_row, hits.work, hits.aux, strict=True))
    assert found == [(0, "a", 3), (0, "b", 0), (0, "c", 0), (1, "a", 0), (1, "a", 2)]
    assert idx.work_meta(1) == {"n": 2}

    HashIndex.remove_works(folder, ["b"])
    idx = HashIndex.open(folder)
    hits = idx.lookup(np.array([9], dtype=np.uint64))
    assert sorted(idx.work_ids[int(w)] for w in hits.work) == ["a", "c"]
    idx.compact()
    idx = HashIndex.open(folder)
    assert list(idx.work_ids) == ["a", "c"] and len(idx) == 6
    assert len(json.loads((folder / "manifest.json").read_text())["segments"]) == 1


def test_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="index build"):
        HashIndex.open(tmp_path / "none")
    HashIndex.create(tmp_path / "e", engine="e/1", aux_width=3)
    hits = HashIndex.open(tmp_path / "e").lookup(np.array([1, 2], dtype=np.uint64))
    assert hits.query_row.size == 0 and hits.aux.shape == (0, 3)


def test_engine_mismatch_and_corruption(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    HashIndex.create(folder, engine="e/1", aux_width=2)
    with pytest.raises(IndexStoreError, match="e/1"):
        HashIndex.create(folder, engine="e/2", aux_width=2)
    name = HashIndex.append_segment(folder, _writer({"a": [1]}))
    (folder / name / "keys.npy").write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="corrupt segment"):
        HashIndex.open(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexStoreError, match="unreadable manifest"):
        HashIndex.open(folder)


def test_lookup_matches_brute_force(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    works = {f"w{i}": rng.integers(0, 50, size=rng.integers(0, 30)).tolist() for i in range(20)}
    HashIndex.create(tmp_path / "r", engine="e/1", aux_width=2)
    HashIndex.append_segment(tmp_path / "r", _writer(works))
    idx = HashIndex.open(tmp_path / "r")
    query = rng.integers(0, 60, size=40).astype(np.uint64)
    hits = idx.lookup(query)
    got = sorted((int(r), idx.work_ids[int(w)], int(a[0])) for r, w, a in
                 zip(hits.query_row, hits.work, hits.aux, strict=True))
    want = sorted((qi, wid, pos) for qi, q in enumerate(query.tolist())
                  for wid, keys in works.items() for pos, k in enumerate(keys) if k == q)
    assert got == want


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("sample_max", [1 << 15, 3])
def test_sampled_search_and_key_ranges_agree_with_searchsorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_max: int, compiled: bool
) -> None:
    """A segment larger than the in-memory sample's stride is searched in two steps (sample,
    then a window in lock step): every position must equal np.searchsorted's, also when the
    stride is doubled to keep the sample small (``sample_max`` 3: stride 16,384), with the
    compiled search (numba) and with the numpy one."""
    from tdmguard.index import hash_index

    monkeypatch.setattr(hash_index, "_SAMPLE_MAX", sample_max)
    if compiled:
        assert hash_index._numba_ranges is not None
    else:
        monkeypatch.setattr(hash_index, "_numba_ranges", None)
    rng = np.random.default_rng(5)
    # 60,000 keys, many repeated (runs across window edges), some values absent
    keys = np.sort(rng.integers(0, 9_000, 60_000) * 3).astype(np.uint64)
    writer = SegmentWriter(aux_width=2)
    writer.add("big", keys, np.zeros((keys.shape[0], 2), np.int32))
    HashIndex.create(tmp_path / "r", engine="e/1", aux_width=2)
    HashIndex.append_segment(tmp_path / "r", writer)
    idx = HashIndex.open(tmp_path / "r")
    query = np.concatenate([
        rng.integers(0, 27_100, 3_000).astype(np.uint64),
        keys[:: 4_096],  # the sample's own keys
        np.array([0, int(keys[-1]), int(keys[-1]) + 1, 2**63], np.uint64),
    ])
    (ranges,) = idx.key_ranges(query)
    stored = np.load(next((tmp_path / "r").glob("seg-*")) / "keys.npy")
    assert np.array_equal(ranges.count, np.searchsorted(stored, query, "right")
                          - np.searchsorted(stored, query, "left"))
    present = ranges.count > 0
    assert np.array_equal(ranges.lo[present], np.searchsorted(stored, query[present], "left"))
    hits = idx.lookup(query, max_hits=5_000)
    assert 0 < hits.query_row.shape[0] <= 5_000


def test_work_rows_across_segments_and_removal(tmp_path: Path) -> None:
    folder = tmp_path / "lyrics"
    HashIndex.create(folder, engine="e/1", aux_width=2)
    HashIndex.append_segment(folder, _writer({"a": [5, 1, 5, 9], "b": [9, 2]}))
    HashIndex.append_segment(folder, _writer({"c": [9, 3], "d": []}))
    idx = HashIndex.open(folder)
    for work, keys in enumerate(([5, 1, 5, 9], [9, 2], [9, 3], [])):
        got_keys, got_aux = idx.work_rows(work)
        # every hash of the work, each with its own aux row (here: its position)
        assert sorted(zip(got_keys.tolist(), got_aux[:, 0].tolist(), strict=True)) == sorted(
            zip(keys, range(len(keys)), strict=True))
        assert got_aux.shape == (len(keys), 2) and bool((got_aux[:, 1] == 7).all())
    assert idx.work_rows(4)[0].shape == (0,) and idx.work_rows(-1)[1].shape == (0, 2)
    HashIndex.remove_works(folder, ["a"])
    assert HashIndex.open(folder).work_rows(0)[0].shape == (0,)
