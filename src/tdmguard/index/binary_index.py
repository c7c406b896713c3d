"""On-disk index of 256-bit binary hashes (PDQ) answering Hamming-radius searches.

It is a :class:`~tdmguard.index.hash_index.HashIndex` (same folder, manifest, immutable
segments written to a temporary name then renamed, same ``create`` / ``append_segment`` /
``open`` / ``remove_works`` / ``compact`` and the same :class:`SegmentWriter`), with one
extra contract on the stored rows (:class:`BinarySegmentWriter` checks their width):

    aux[:, 0:8]   the 256-bit hash as 8 int32 words; the 32 hash bytes, in order, are the
                  words' little-endian bytes (``aux[:, :8].astype("<i4").view(np.uint8)``)
    aux[:, 8]     (when present) a row with a negative value here is a *lookup-only* row:
                  kept out of the Hamming search, found by the exact-key ``lookup`` that
                  :class:`HashIndex` provides (the image engine stores local-feature and
                  colour-layout rows this way, beside its PDQ rows, which carry the PDQ
                  quality >= 0 here)
    aux[:, 9:]    opaque to the index, returned with every hit
    keys          opaque here too (the image engine stores a PDQ hash's first 64 bits, so an
                  exact-hash ``lookup`` still works)

Indexes written before lookup-only rows existed hold only searchable rows and read the same.

:meth:`BinaryHashIndex.search` finds every stored hash within a Hamming radius of each query
hash. Search structure (anchors.md section 3): an exhaustive ``faiss.IndexBinaryFlat`` up to
:attr:`BinaryHashIndex.exhaustive_limit` hashes (1 M by default: ~1,200 queries/s per core at
1 M, exact), multi-index hashing (``faiss.IndexBinaryMultiHash``, 16 tables of 16 bits) beyond
it, with ``nflip = radius // 16`` bit flips per table, which is still exact by the pigeonhole
principle (a hash within radius r differs in at most ``r // 16`` bits in at least one of the 16
substrings). No HNSW: its recall at a fixed radius is poor. The faiss structure is built on the
first search (a copy of the hash columns, 32 bytes per hash) and kept for the object's life.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import IndexStoreError, MissingExtraError
from tdmguard.index.hash_index import HashIndex, SegmentWriter

__all__ = ["HASH_BYTES", "HASH_WORDS", "BinaryHashIndex", "BinaryHits", "BinarySegmentWriter"]

HASH_BITS = 256
HASH_BYTES = HASH_BITS // 8
HASH_WORDS = HASH_BYTES // 4  # int32 columns of aux holding the hash
MIH_TABLES = 16  # 16 substrings of 16 bits (ThreatExchange's PDQMultiHashIndex setting)

U8 = npt.NDArray[np.uint8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class BinaryHits:
    """Hits of a batch of query hashes, shape (m,) each.

    ``query_row`` indexes the query hashes; ``work`` is the dense work number
    (``work_ids[work]`` is the work id); ``distance`` is the Hamming distance in bits;
    ``aux`` has shape (m, k), the stored row (hash words included).
    """

    query_row: I64
    work: I64
    distance: I64
    aux: I32
    work_ids: Sequence[str]


def hash_bytes_from_aux(aux: npt.NDArray[Any]) -> U8:
    """(n, >= 8) int32 aux rows -> (n, 32) uint8 hash bytes, per the module's layout."""
    words = np.ascontiguousarray(np.asarray(aux)[:, :HASH_WORDS], dtype="<i4")
    return words.view(np.uint8).reshape(words.shape[0], HASH_BYTES)


class BinarySegmentWriter(SegmentWriter):
    """:class:`SegmentWriter` that refuses rows too narrow to hold a 256-bit hash."""

    def __init__(self, aux_width: int) -> None:
        if aux_width < HASH_WORDS:
            raise ValueError(f"a binary-hash segment needs aux_width >= {HASH_WORDS}")
        super().__init__(aux_width)


class BinaryHashIndex(HashIndex):
    """Read side of a binary-hash index; writing is :class:`HashIndex`'s, unchanged."""

    #: above this many stored hashes, search with multi-index hashing instead of a flat scan
    exhaustive_limit: int = 1_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.aux_width < HASH_WORDS:
            raise IndexStoreError(
                f"a binary-hash index needs aux_width >= {HASH_WORDS}, not {self.aux_width}",
                where=str(self.folder),
            )
        self._faiss: Any = None
        self._row_work: I64 | None = None  # (n,) global work number of each stored row
        self._row_start: I64 | None = None  # (segments + 1,) first global row of each segment
        self._searchable: I64 | None = None  # faiss row -> global row

    @staticmethod
    def create(folder: Path, *, engine: str, aux_width: int) -> None:
        if aux_width < HASH_WORDS:
            raise IndexStoreError(
                f"a binary-hash index needs aux_width >= {HASH_WORDS}, not {aux_width}",
                where=str(folder),
            )
        HashIndex.create(folder, engine=engine, aux_width=aux_width)

    @property
    def search_method(self) -> str:
        """``"flat"`` (exhaustive) or ``"multi-hash"``, by the number of searchable hashes."""
        return "flat" if self.searchable_rows() <= self.exhaustive_limit else "multi-hash"

    def searchable_rows(self) -> int:
        """Rows in the Hamming search (all rows but the lookup-only ones)."""
        if self._searchable is not None:
            return int(self._searchable.shape[0])
        if self.aux_width <= HASH_WORDS:
            return len(self)
        return sum(int((np.asarray(s.aux[:, HASH_WORDS]) >= 0).sum()) for s in self._segments)

    def _build(self) -> Any:
        try:
            import faiss
        except ModuleNotFoundError as exc:
            raise MissingExtraError("faiss", "image") from exc
        segments = self._segments
        parts = []
        rows = []
        start = 0
        for s in segments:
            aux = np.asarray(s.aux)
            if self.aux_width > HASH_WORDS:
                pick = np.flatnonzero(aux[:, HASH_WORDS] >= 0)
                parts.append(hash_bytes_from_aux(aux[pick]))
            else:
                pick = np.arange(aux.shape[0])
                parts.append(hash_bytes_from_aux(aux))
            rows.append(pick.astype(np.int64) + start)
            start += int(aux.shape[0])
        hashes = np.concatenate(parts) if parts else np.zeros((0, HASH_BYTES), np.uint8)
        self._searchable = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        index: Any
        if self.search_method == "flat":
            index = faiss.IndexBinaryFlat(HASH_BITS)
        else:
            index = faiss.IndexBinaryMultiHash(HASH_BITS, MIH_TABLES, HASH_BITS // MIH_TABLES)
        if hashes.shape[0]:
            index.add(hashes)
        self._row_work = (
            np.concatenate([np.asarray(s.work, dtype=np.int64) + s.base for s in segments])
            if segments
            else np.zeros(0, np.int64)
        )
        self._row_start = np.cumsum([0, *(int(s.keys.shape[0]) for s in segments)]).astype(np.int64)
        self._faiss = index
        return index

    def search(self, hashes: U8, max_distance: int) -> BinaryHits:
        """Every stored hash within ``max_distance`` bits of each query hash.

        ``hashes``: shape (q, 32) uint8, the same byte layout as stored. Removed works are
        left out. Hits are ordered by query row, then by faiss's order.
        """
        query = np.ascontiguousarray(hashes, dtype=np.uint8)
        if query.ndim != 2 or query.shape[1] != HASH_BYTES:
            raise ValueError(f"query hashes must have shape (q, {HASH_BYTES})")
        if not 0 <= max_distance < HASH_BITS:
            raise ValueError(f"max_distance must be in 0..{HASH_BITS - 1}")
        index = self._faiss if self._faiss is not None else self._build()
        if query.shape[0] == 0 or index.ntotal == 0:
            return self._hits(np.zeros(0, np.uint64), np.zeros(0, np.float32), np.zeros(0, int))
        if self.search_method == "multi-hash":
            index.nflip = max_distance // MIH_TABLES
        # faiss's binary range search keeps distances strictly below the radius
        lims, dist, rows = index.range_search(query, max_distance + 1)
        return self._hits(lims, dist, rows)

    def _hits(
        self, lims: npt.NDArray[Any], dist: npt.NDArray[Any], rows: npt.NDArray[Any]
    ) -> BinaryHits:
        assert self._searchable is not None
        rows = self._searchable[np.asarray(rows, dtype=np.int64)]
        bounds: I64 = np.asarray(lims, dtype=np.int64)
        counts: I64 = bounds[1:] - bounds[:-1] if bounds.shape[0] else np.zeros(0, np.int64)
        query_row = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
        assert self._row_work is not None and self._row_start is not None
        work = self._row_work[rows]
        aux = np.zeros((rows.shape[0], self.aux_width), np.int32)
        seg_of_row = np.searchsorted(self._row_start, rows, side="right") - 1
        for number, seg in enumerate(self._segments):
            pick = seg_of_row == number
            if pick.any():
                aux[pick] = seg.aux[rows[pick] - self._row_start[number]]
        distance = np.asarray(dist).astype(np.int64)
        if self.removed:
            keep = ~self._removed_mask[work]
            query_row, work, distance, aux = query_row[keep], work[keep], distance[keep], aux[keep]
        return BinaryHits(query_row, work, distance, aux, self.work_ids)
