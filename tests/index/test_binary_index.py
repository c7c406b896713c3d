"""BinaryHashIndex: HashIndex's segment life cycle plus exact Hamming-radius search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faiss")

from tdmguard.errors import IndexStoreError
from tdmguard.index import BinaryHashIndex, BinaryHits, BinarySegmentWriter
from tdmguard.index.binary_index import HASH_BYTES, hash_bytes_from_aux

AUX = 10  # 8 hash words + 2 opaque columns


def _flip(hashes: np.ndarray, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``hashes`` (n, 32) uint8 with exactly ``n_bits`` distinct bits flipped per row."""
    out = hashes.copy()
    for row in out:
        for bit in rng.choice(256, size=n_bits, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def _rows(hashes: np.ndarray, tag: int) -> np.ndarray:
    words = np.ascontiguousarray(hashes).view("<i4").astype(np.int32)
    extra = np.stack([np.full(len(hashes), tag), np.arange(len(hashes))], axis=1)
    return np.concatenate([words, extra.astype(np.int32)], axis=1)


def _add(writer: BinarySegmentWriter, work_id: str, hashes: np.ndarray, tag: int) -> None:
    keys = hashes[:, :8].copy().view(">u8").astype(np.uint64).reshape(-1)
    writer.add(work_id, keys, _rows(hashes, tag), {"tag": tag})


@pytest.fixture()
def corpus() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {w: rng.integers(0, 256, (5, HASH_BYTES), dtype=np.uint8) for w in "abcd"}


def _build(folder: Path, corpus: dict[str, np.ndarray]) -> BinaryHashIndex:
    BinaryHashIndex.create(folder, engine="image-pdq/test", aux_width=AUX)
    first = BinarySegmentWriter(AUX)
    _add(first, "a", corpus["a"], 1)
    _add(first, "b", corpus["b"], 2)
    BinaryHashIndex.append_segment(folder, first)
    second = BinarySegmentWriter(AUX)
    _add(second, "c", corpus["c"], 3)
    _add(second, "d", corpus["d"], 4)
    BinaryHashIndex.append_segment(folder, second)
    return BinaryHashIndex.open(folder)


def test_aux_round_trips_hash_bytes(corpus: dict[str, np.ndarray]) -> None:
    assert np.array_equal(hash_bytes_from_aux(_rows(corpus["a"], 0)), corpus["a"])


@pytest.mark.parametrize("method", ["flat", "multi-hash"])
def test_radius_is_inclusive_and_exact(
    tmp_path: Path, corpus: dict[str, np.ndarray], method: str
) -> None:
    index = _build(tmp_path / "image", corpus)
    if method == "multi-hash":
        index.exhaustive_limit = 0
    assert index.search_method == method
    assert list(index.work_ids) == ["a", "b", "c", "d"] and len(index) == 20
    rng = np.random.default_rng(5)
    # row 2 of work c (second segment) at exactly 31 bits, row 4 of work a at 32 bits
    query = np.concatenate([_flip(corpus["c"][2:3], 31, rng), _flip(corpus["a"][4:5], 32, rng)])
    hits = index.search(query, 31)
    assert hits.query_row.tolist() == [0]
    assert index.work_ids[int(hits.work[0])] == "c" and int(hits.distance[0]) == 31
    assert hits.aux[0, 8:].tolist() == [3, 2]  # opaque columns come back with the hit
    assert np.array_equal(hash_bytes_from_aux(hits.aux), corpus["c"][2:3])
    wider = index.search(query, 32)
    assert sorted(zip(wider.query_row.tolist(), wider.distance.tolist(), strict=True)) == [
        (0, 31),
        (1, 32),
    ]


def test_flat_and_multi_hash_agree_on_many_queries(
    tmp_path: Path, corpus: dict[str, np.ndarray]
) -> None:
    index = _build(tmp_path / "image", corpus)
    rng = np.random.default_rng(9)
    stored = np.concatenate(list(corpus.values()))
    query = np.concatenate([_flip(stored, n, rng) for n in (0, 8, 20, 30)])
    flat = index.search(query, 31)
    index_mih = BinaryHashIndex.open(tmp_path / "image")
    index_mih.exhaustive_limit = 0
    mih = index_mih.search(query, 31)

    def triples(h: BinaryHits) -> list[tuple[int, int, int]]:
        return sorted(zip(h.query_row.tolist(), h.work.tolist(), h.distance.tolist(), strict=True))

    assert triples(flat) == triples(mih)
    assert len(flat.query_row) == len(query)  # every perturbed copy found, nothing else


def test_removed_works_are_left_out_and_compaction_keeps_the_rest(
    tmp_path: Path, corpus: dict[str, np.ndarray]
) -> None:
    folder = tmp_path / "image"
    _build(folder, corpus)
    BinaryHashIndex.remove_works(folder, ["a"])
    index = BinaryHashIndex.open(folder)
    both = np.concatenate([corpus["a"][:1], corpus["d"][:1]])
    hits = index.search(both, 0)
    assert [index.work_ids[int(w)] for w in hits.work] == ["d"]
    index.compact()
    index = BinaryHashIndex.open(folder)
    assert list(index.work_ids) == ["b", "c", "d"] and len(index) == 15
    hits = index.search(both, 0)
    assert [index.work_ids[int(w)] for w in hits.work] == ["d"]
    assert index.work_meta(int(hits.work[0])) == {"tag": 4}


def test_empty_index_and_bad_queries(tmp_path: Path) -> None:
    folder = tmp_path / "image"
    BinaryHashIndex.create(folder, engine="image-pdq/test", aux_width=AUX)
    index = BinaryHashIndex.open(folder)
    hits = index.search(np.zeros((2, HASH_BYTES), np.uint8), 31)
    assert hits.work.shape == (0,) and hits.aux.shape == (0, AUX)
    with pytest.raises(ValueError):
        index.search(np.zeros((2, 8), np.uint8), 31)
    with pytest.raises(ValueError):
        index.search(np.zeros((1, HASH_BYTES), np.uint8), 256)


def test_layout_is_refused_when_too_narrow_or_of_another_engine(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError):
        BinaryHashIndex.create(tmp_path / "narrow", engine="image-pdq/test", aux_width=4)
    with pytest.raises(ValueError):
        BinarySegmentWriter(7)
    folder = tmp_path / "image"
    BinaryHashIndex.create(folder, engine="image-pdq/test", aux_width=AUX)
    with pytest.raises(IndexStoreError):
        BinaryHashIndex.create(folder, engine="image-pdq/other", aux_width=AUX)
    with pytest.raises(IndexStoreError):
        BinaryHashIndex.open(tmp_path / "missing")


def test_lookup_only_rows_stay_out_of_the_hamming_search(
    tmp_path: Path, corpus: dict[str, np.ndarray]
) -> None:
    """Rows with a negative aux[:, 8] (the image engine's local-feature and colour-layout
    rows) are found by key look-up, never by the radius search; hits keep global rows."""
    folder = tmp_path / "idx"
    BinaryHashIndex.create(folder, engine="image-pdq/test", aux_width=AUX)
    writer = BinarySegmentWriter(AUX)
    _add(writer, "a", corpus["a"], 1)
    hidden = _rows(corpus["b"], -1)
    keys = np.arange(100, 105, dtype=np.uint64)
    writer.add("b", keys, hidden, {})
    BinaryHashIndex.append_segment(folder, writer)
    second = BinarySegmentWriter(AUX)
    _add(second, "c", corpus["c"], 3)
    BinaryHashIndex.append_segment(folder, second)
    index = BinaryHashIndex.open(folder)
    assert len(index) == 15 and index.searchable_rows() == 10
    hits = index.search(np.concatenate([corpus["b"], corpus["c"][:2]]), 0)
    assert sorted(index.work_ids[w] for w in hits.work) == ["c", "c"]
    assert (hits.aux[:, 8] == 3).all() and sorted(hits.aux[:, 9].tolist()) == [0, 1]
    found = index.lookup(keys[[1, 3]])
    assert [index.work_ids[w] for w in found.work] == ["b", "b"]
    assert (found.aux[:, 8] == -1).all()
    assert np.array_equal(hash_bytes_from_aux(found.aux), corpus["b"][[1, 3]])
