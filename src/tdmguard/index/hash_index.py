"""On-disk, memory-mapped hash index made of immutable segments.

Layout of an index folder for one modality (``<index_dir>/<modality>/``)::

    manifest.json            {"format": 1, "engine": ..., "aux_width": k,
                              "segments": ["seg-000001-1a2b3c4d", ...], "removed": [work ids]}
    seg-000001-1a2b3c4d/keys.npy      (n,) uint64, sorted ascending
    seg-000001-1a2b3c4d/work.npy      (n,) uint32, segment-local work number
    seg-000001-1a2b3c4d/aux.npy       (n, k) int32, positional data stored with each hash
    seg-000001-1a2b3c4d/works.json    [{"id": work id, "meta": {...}}, ...] in work-number order

Segments are written to a temporary folder and renamed into place, then the manifest is
replaced atomically, so a reader never sees a half-written segment. Writers hold the
folder's lock (:mod:`tdmguard.index.locking`) around each manifest read-modify-write.
Opening memory-maps the arrays (well under a second at any size); every worker of a scan
shares the pages read-only.
Removing a work adds it to ``removed``; :meth:`HashIndex.compact` rewrites segments without it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.atomic import write_json_atomic
from tdmguard.errors import IndexStoreError
from tdmguard.index.locking import index_lock

__all__ = ["HashIndex", "KeyRanges", "SegmentHits", "SegmentWriter"]

FORMAT = 1
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class SegmentHits:
    """Hits of a batch of query keys; see ``fingerprint.base.HashHits`` for the fields."""

    query_row: I64
    work: I64
    aux: I32
    work_ids: Sequence[str]


class SegmentWriter:
    """Collects fingerprints of works and writes them as one new immutable segment."""

    def __init__(self, aux_width: int) -> None:
        self.aux_width = aux_width
        self._keys: list[U64] = []
        self._aux: list[I32] = []
        self._work: list[npt.NDArray[np.uint32]] = []
        self._works: list[dict[str, Any]] = []

    def add(
        self, work_id: str, keys: U64, aux: I32, meta: Mapping[str, float | int | str] | None = None
    ) -> None:
        if aux.ndim != 2 or aux.shape != (keys.shape[0], self.aux_width):
            raise ValueError(f"aux must have shape ({keys.shape[0]}, {self.aux_width})")
        number = len(self._works)
        self._works.append({"id": work_id, "meta": dict(meta or {})})
        self._keys.append(keys.astype(np.uint64, copy=False))
        self._aux.append(aux.astype(np.int32, copy=False))
        self._work.append(np.full(keys.shape[0], number, dtype=np.uint32))

    def __len__(self) -> int:
        return len(self._works)

    def write(self, folder: Path) -> None:
        """Write the segment into ``folder`` (which must not exist yet), atomically."""
        keys = np.concatenate(self._keys) if self._keys else np.zeros(0, np.uint64)
        aux = np.concatenate(self._aux) if self._aux else np.zeros((0, self.aux_width), np.int32)
        work = np.concatenate(self._work) if self._work else np.zeros(0, np.uint32)
        order = np.argsort(keys, kind="stable")
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            np.save(tmp / "keys.npy", keys[order])
            np.save(tmp / "work.npy", work[order])
            np.save(tmp / "aux.npy", aux[order])
            (tmp / "works.json").write_text(json.dumps(self._works), encoding="utf-8")
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


@dataclass(frozen=True, slots=True, eq=False)
class KeyRanges:
    """Where a batch of query keys lies in one segment, nothing gathered yet.

    Query key ``i`` is stored at rows ``lo[i] .. lo[i] + count[i] - 1`` of ``work`` and
    ``aux`` (``count[i]`` is 0 when absent or skipped); ``lo``, ``count``: shape (q,) int64.
    ``work``: shape (n,) uint32 segment-local work numbers (add ``base`` for the index's);
    ``aux``: shape (n, k) int32; both memory-mapped. An engine that filters hits as it reads
    them (the audio engine) walks these ranges itself instead of asking for gathered copies.
    """

    work: npt.NDArray[np.uint32]
    aux: I32
    base: int
    lo: I64
    count: I64


# one key in _SAMPLE_STRIDE (or fewer, so that a sample holds at most _SAMPLE_MAX keys and
# reading it touches at most ~32k pages, 128 MB) is
# kept in memory per segment, read at the segment's first look-up (not at open: that stays
# instant, and a 10,000 h index has 935M keys): a look-up first finds its
# key's window in that sample, then binary-searches the window instead of the whole
# (memory-mapped) array, all keys of a batch in lock step (numpy fancy indexing, so the
# memory reads of the batch overlap): 2-3x faster than np.searchsorted at 100M keys, where
# each search missed the caches and the TLB at every step
_SAMPLE_STRIDE = 1 << 12
_SAMPLE_MAX = 1 << 15


@dataclass(frozen=True, slots=True, eq=False)
class _Segment:
    name: str
    keys: U64
    work: npt.NDArray[np.uint32]
    aux: I32
    base: int  # global number of this segment's work 0
    # [keys[::stride]], filled at the first search (a list: the dataclass is frozen)
    sample: list[U64] = field(default_factory=list)
    # [(rows sorted by work, first of each work's rows)], filled at the first work_rows
    by_work: list[tuple[npt.NDArray[np.int32] | I64, I64]] = field(default_factory=list)

    def work_rows(self, local: int) -> I64 | npt.NDArray[np.int32]:
        """Rows of segment-local work ``local``. The first call sorts the work column
        (O(n log n), 4 bytes a row kept in memory while the index is open)."""
        if not self.by_work:
            work = np.asarray(self.work)
            full = np.argsort(work, kind="stable")
            order: npt.NDArray[np.int32] | I64 = (
                full.astype(np.int32) if full.shape[0] < (1 << 31) else full)
            bounds = np.searchsorted(work[order], np.arange(int(work.max(initial=0)) + 2))
            self.by_work.append((order, bounds.astype(np.int64)))
        order, bounds = self.by_work[0]
        if local < 0 or local + 1 >= bounds.shape[0]:
            return order[:0]
        return order[int(bounds[local]) : int(bounds[local + 1])]

    def _stride(self) -> int:
        stride = _SAMPLE_STRIDE
        while int(self.keys.shape[0]) // stride > _SAMPLE_MAX:
            stride *= 2
        return stride

    def ranges(self, sorted_query: U64) -> tuple[I64, I64]:
        """``(lo, count)`` of ascending ``sorted_query``: where each key's copies start
        (``np.searchsorted`` left) and how many there are (0 when absent)."""
        keys = np.asarray(self.keys)
        n = keys.shape[0]
        if _numba_ranges is not None and n > 4 * _SAMPLE_STRIDE:
            stride = self._stride()
            if not self.sample:
                self.sample.append(np.array(keys[::stride], dtype=np.uint64))
            out: tuple[I64, I64] = _numba_ranges(
                keys, self.sample[0], stride, np.ascontiguousarray(sorted_query, np.uint64)
            )
            return out
        lo = self.search(sorted_query, "left")
        # most query keys are absent: the second binary search runs only for present ones
        present = np.flatnonzero(keys[np.minimum(lo, n - 1)] == sorted_query)
        count = np.zeros(sorted_query.shape[0], np.int64)
        if present.shape[0]:
            count[present] = self.search(sorted_query[present], "right") - lo[present]
        return lo, count

    def search(self, sorted_query: U64, side: str) -> I64:
        """``np.searchsorted(self.keys, sorted_query, side)`` for ascending ``sorted_query``."""
        keys = np.asarray(self.keys)  # a plain view: memmap indexing goes through Python
        n = keys.shape[0]
        if n <= 4 * _SAMPLE_STRIDE:
            out: I64 = np.searchsorted(keys, sorted_query, side=side)  # type: ignore[call-overload]
            return out
        stride = self._stride()
        if not self.sample:  # two threads may both fill it: the same values, no harm
            self.sample.append(np.array(keys[::stride], dtype=np.uint64))
        right = side == "right"
        w = np.searchsorted(self.sample[0], sorted_query, side=side)  # type: ignore[call-overload]
        # the answer lies in ((w-1)*stride, w*stride] (right) or [(w-1)*stride, w*stride]
        a = np.maximum(0, (w - 1) * stride)
        b = np.minimum(n, w * stride + 1)
        for _ in range(stride.bit_length() + 1):
            mid = (a + b) >> 1
            value = keys[np.minimum(mid, n - 1)]
            below = (value <= sorted_query) if right else (value < sorted_query)
            below &= mid < b
            a = np.where(below, mid + 1, a)
            b = np.where(below, b, mid)
        found: I64 = a.astype(np.int64, copy=False)
        return found


try:  # numba comes with the audio extra; without it the numpy searches below do the same
    from numba import njit
except ModuleNotFoundError:  # pragma: no cover
    _numba_ranges = None
else:

    @njit(cache=True, nogil=True, inline="always")
    def _lockstep_lower(arr: U64, base: I64, qv: U64, size: int, span: int) -> None:
        """Moves each ``base[x]`` (x < ``size``) within ``arr[base[x]:base[x] + span]`` to
        the last slot below ``qv[x]`` (or leaves it at the start): a branch-free binary
        search of the ``size`` keys in lock step."""
        while span > 1:
            half = span >> 1
            for x in range(size):
                base[x] += (arr[base[x] + half - 1] < qv[x]) * half
            span -= half

    @njit(cache=True, nogil=True)
    def _numba_ranges(keys: U64, sample: U64, stride: int, query: U64) -> tuple[I64, I64]:
        """``(lo, count)`` per key of ascending ``query``: ``lo`` as ``np.searchsorted(keys,
        query, "left")``, ``count`` the number of stored copies (0 when absent).

        Each key's window comes from ``sample`` (``keys[::stride]``, in cache); the windows of
        16 keys, all of one length, are then binary-searched in lock step without branches
        (a data-dependent branch mispredicts half the time, and each mispredict waits for
        its memory read: the reads of the group overlap only without them); the copies are
        counted by galloping from ``lo``, whose neighbours the search has just read. One
        pass, no temporary arrays: the two numpy searches it replaces cost ~4 ms for a 10 s
        audio query's 4,000 keys at 1,000 h."""
        n = keys.shape[0]
        m = query.shape[0]
        n_s = sample.shape[0]
        lo = np.empty(m, np.int64)
        count = np.zeros(m, np.int64)
        group = 16
        base = np.empty(group, np.int64)
        qv = np.empty(group, np.uint64)
        # every window holds stride + 1 keys (moved left at the end of the array): it holds
        # the window the sample names, and every key before it is below the query key
        length = min(n, stride + 1)
        for g0 in range(0, m, group):
            size = min(m, g0 + group) - g0
            for x in range(size):
                qv[x] = query[g0 + x]
                base[x] = 0
            # lower bound in the sample (branch-free, lock step)
            _lockstep_lower(sample, base, qv, size, n_s)
            for x in range(size):
                w = base[x] + (sample[base[x]] < qv[x])
                base[x] = min(max(0, (w - 1) * stride), n - length)
            _lockstep_lower(keys, base, qv, size, length)
            for x in range(size):
                first = base[x] + (keys[base[x]] < qv[x])
                lo[g0 + x] = first
                key = qv[x]
                if first >= n or keys[first] != key:
                    continue
                last = first  # keys[last] == key
                step = 1
                while last + step < n and keys[last + step] == key:
                    last += step
                    step *= 2
                end = min(n, last + step)  # keys[end] != key (or end == n)
                last += 1
                while last < end:
                    mid = (last + end) >> 1
                    if keys[mid] == key:
                        last = mid + 1
                    else:
                        end = mid
                count[g0 + x] = last - first
        return lo, count


def _gather_rows(aux: I32, pos: I64) -> I32:
    """``aux[pos]`` for a C-contiguous (n, k) int32 array, shape (len(pos), k).

    Each row is gathered as one k*4-byte item: numpy's 2-D fancy indexing copies element by
    element and was 6x slower (2 ms for 200k hits of a 100 h audio index).
    """
    k = aux.shape[1]
    if k == 0 or not aux.flags.c_contiguous:
        return np.asarray(aux[pos], dtype=np.int32)
    rows = np.asarray(aux).view(np.dtype((np.void, 4 * k))).reshape(-1)
    out: I32 = rows[pos].view(np.int32).reshape(-1, k)
    return out


class HashIndex:
    """Read side: all segments of one modality, memory-mapped, answering batched look-ups."""

    def __init__(
        self,
        folder: Path,
        manifest: dict[str, Any],
        segments: list[_Segment],
        work_ids: list[str],
        work_meta: list[dict[str, Any]],
    ) -> None:
        self.folder = folder
        self.engine = str(manifest.get("engine", ""))
        self.aux_width = int(manifest.get("aux_width", 0))
        self.removed = frozenset(str(w) for w in manifest.get("removed", []))
        self._segments = segments
        self._work_ids = work_ids
        self._work_meta = work_meta
        self._removed_mask = np.array([w in self.removed for w in work_ids], dtype=bool)

    # -- writing ---------------------------------------------------------------------------
    @staticmethod
    def create(folder: Path, *, engine: str, aux_width: int) -> None:
        """Create an empty index folder (no-op if one of the same engine exists)."""
        with index_lock(folder):
            HashIndex._create(folder, engine=engine, aux_width=aux_width)

    @staticmethod
    def _create(folder: Path, *, engine: str, aux_width: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        manifest_path = folder / "manifest.json"
        if manifest_path.exists():
            current = HashIndex._read_manifest(folder)
            if current.get("engine") != engine or int(current.get("aux_width", -1)) != aux_width:
                raise IndexStoreError(
                    f"index holds engine {current.get('engine')!r}, not {engine!r}: "
                    "rebuild it with `tdmguard index build --rebuild`",
                    where=str(folder),
                )
            return
        write_json_atomic(
            manifest_path,
            {
                "format": FORMAT,
                "engine": engine,
                "aux_width": aux_width,
                "segments": [],
                "removed": [],
            },
        )

    @staticmethod
    def append_segment(folder: Path, writer: SegmentWriter) -> str:
        """Write ``writer`` as a new segment and publish it in the manifest.

        Runs under the folder's lock (:mod:`tdmguard.index.locking`), so concurrent writers
        each add their segment; the name carries a random suffix, so even a writer that
        ignored the lock could not overwrite another's segment."""
        with index_lock(folder):
            manifest = HashIndex._read_manifest(folder)
            if int(manifest["aux_width"]) != writer.aux_width:
                raise IndexStoreError(
                    "segment aux width differs from the index's", where=str(folder)
                )
            name = _segment_name(manifest["segments"])
            writer.write(folder / name)
            manifest["segments"] = [*manifest["segments"], name]
            added = {w["id"] for w in writer._works}
            manifest["removed"] = [w for w in manifest["removed"] if w not in added]
            write_json_atomic(folder / "manifest.json", manifest)
            return name

    @staticmethod
    def remove_works(folder: Path, work_ids: Iterable[str]) -> None:
        with index_lock(folder):
            manifest = HashIndex._read_manifest(folder)
            manifest["removed"] = sorted(set(manifest["removed"]) | set(work_ids))
            write_json_atomic(folder / "manifest.json", manifest)

    @staticmethod
    def stored_work_ids(folder: Path) -> set[str]:
        """Ids of the works the index holds (removed ones left out), read from the segments'
        ``works.json`` without mapping any array. Empty when there is no index yet."""
        if not (folder / "manifest.json").exists():
            return set()
        manifest = HashIndex._read_manifest(folder)
        out: set[str] = set()
        for name in manifest["segments"]:
            path = folder / name / "works.json"
            try:
                works = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise IndexStoreError(f"corrupt segment ({exc})", where=str(path)) from exc
            out.update(str(w["id"]) for w in works)
        return out - {str(w) for w in manifest.get("removed", [])}

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def _read_manifest(folder: Path) -> dict[str, Any]:
        path = folder / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexStoreError(
                "no index here: run `tdmguard index build`", where=str(folder)
            ) from exc
        except (OSError, ValueError) as exc:
            raise IndexStoreError(f"unreadable manifest ({exc})", where=str(path)) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise IndexStoreError("unknown index format", where=str(path))
        return manifest

    @classmethod
    def open(cls, folder: Path) -> HashIndex:
        manifest = cls._read_manifest(folder)
        segments: list[_Segment] = []
        work_ids: list[str] = []
        work_meta: list[dict[str, Any]] = []
        for name in manifest["segments"]:
            seg_dir = folder / name
            try:
                keys = np.load(seg_dir / "keys.npy", mmap_mode="r")
                work = np.load(seg_dir / "work.npy", mmap_mode="r")
                aux = np.load(seg_dir / "aux.npy", mmap_mode="r")
                works = json.loads((seg_dir / "works.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise IndexStoreError(f"corrupt segment ({exc})", where=str(seg_dir)) from exc
            segments.append(_Segment(name, keys, work, aux, len(work_ids)))
            work_ids.extend(str(w["id"]) for w in works)
            work_meta.extend(dict(w.get("meta", {})) for w in works)
        return cls(folder, manifest, segments, work_ids, work_meta)

    @property
    def work_ids(self) -> Sequence[str]:
        return self._work_ids

    def work_meta(self, work: int) -> Mapping[str, float | int | str]:
        return self._work_meta[work]

    def __len__(self) -> int:
        """Number of hashes across all segments (removed works included until compaction)."""
        return sum(int(s.keys.shape[0]) for s in self._segments)

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())

    @property
    def removed_mask(self) -> npt.NDArray[np.bool_]:
        """Shape (works,): True for the works removed from the index (until compaction)."""
        return self._removed_mask

    def key_ranges(
        self, keys: U64, max_per_key: int | None = None, max_hits: int | None = None
    ) -> list[KeyRanges]:
        """Where each of ``keys`` (shape (q,) uint64) is stored, per segment that holds any;
        see :meth:`lookup` for ``max_per_key`` and ``max_hits``. Removed works are *not*
        left out here (see :attr:`removed_mask`)."""
        query = np.asarray(keys, dtype=np.uint64)
        # binary searches in ascending key order walk the memory-mapped keys near the previous
        # answer (cache and page friendly): 4-5x faster than in query order at 10M keys
        order = np.argsort(query, kind="stable")
        sorted_query = query[order]
        ranges: list[KeyRanges] = []
        for seg in self._segments:
            if seg.keys.shape[0] == 0 or query.shape[0] == 0:
                continue
            lo_sorted, counts_sorted = seg.ranges(sorted_query)
            if not counts_sorted.any():
                continue
            lo = np.empty(query.shape[0], np.int64)
            counts = np.empty(query.shape[0], np.int64)
            lo[order] = lo_sorted
            counts[order] = counts_sorted
            if max_per_key is not None:
                counts = np.where(counts > max_per_key, 0, counts)
            ranges.append(KeyRanges(seg.work, seg.aux, seg.base, lo, counts))
        if max_hits is not None and ranges:
            per_key = (
                ranges[0].count if len(ranges) == 1 else np.sum([r.count for r in ranges], axis=0)
            )
            if int(per_key.sum()) > max_hits:
                cap = _count_cap(per_key, max_hits)
                drop = per_key > cap
                ranges = [
                    KeyRanges(r.work, r.aux, r.base, r.lo, np.where(drop, 0, r.count))
                    for r in ranges
                ]
        return ranges

    def lookup(
        self, keys: U64, max_per_key: int | None = None, max_hits: int | None = None
    ) -> SegmentHits:
        """Exact look-up of every key; removed works are left out.

        ``keys``: shape (q,) uint64. Returns hits with ``query_row`` into ``keys``.
        ``max_per_key``: a key stored more often than this in a segment is skipped there
        (such "stop-word" keys carry little evidence and would cost most of the gathering).
        ``max_hits``: a budget for the whole look-up. When the keys would return more hits,
        the most frequent keys (counted over all segments) are skipped, whole, until what is
        left fits: the rarest keys, which carry the most evidence per hit, are kept. Keys with
        equal counts are kept or skipped together, so the answer does not depend on the
        order of ``keys``. This keeps the cost of a query bounded as the index grows.
        """
        query = np.asarray(keys, dtype=np.uint64)
        ranges = [
            (r, r.lo, r.count) for r in self.key_ranges(query, max_per_key, max_hits)
        ]
        rows: list[I64] = []
        works: list[I64] = []
        auxs: list[I32] = []
        for seg, lo, counts in ranges:
            total = int(counts.sum())
            if total == 0:
                continue
            q_rows = np.repeat(np.arange(query.shape[0], dtype=np.int64), counts)
            # positions lo[i] .. hi[i]-1 for each query key, flattened
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            pos = starts + np.arange(total, dtype=np.int64)
            rows.append(q_rows)
            works.append(seg.work[pos].astype(np.int64) + seg.base)
            auxs.append(_gather_rows(seg.aux, pos))
        if not rows:
            return SegmentHits(
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros((0, self.aux_width), np.int32),
                self._work_ids,
            )
        # one segment (the usual case after compaction): no concatenation copies
        row = rows[0] if len(rows) == 1 else np.concatenate(rows)
        work_arr = works[0] if len(works) == 1 else np.concatenate(works)
        aux_arr = auxs[0] if len(auxs) == 1 else np.concatenate(auxs)
        if self.removed:
            keep = ~self._removed_mask[work_arr]
            row, work_arr, aux_arr = row[keep], work_arr[keep], aux_arr[keep]
        return SegmentHits(row, work_arr, aux_arr, self._work_ids)

    def work_rows(self, work: int) -> tuple[U64, I32]:
        """Keys (shape (m,) uint64) and aux (shape (m, k) int32) of every hash of work
        number ``work``, in key order; empty for a removed work. For engines that check a
        candidate work beyond the hashes a query hit (the lyrics engine's word alignment).
        The first call per segment sorts its work column once (4 bytes a row in memory)."""
        keys: list[U64] = []
        auxs: list[I32] = []
        if 0 <= work < len(self._work_ids) and not self._removed_mask[work]:
            for seg in self._segments:
                if seg.keys.shape[0] == 0 or work < seg.base:
                    continue
                rows = seg.work_rows(work - seg.base)
                if rows.shape[0]:
                    keys.append(np.asarray(seg.keys[rows]))
                    auxs.append(_gather_rows(seg.aux, rows.astype(np.int64)))
        if not keys:
            return np.zeros(0, np.uint64), np.zeros((0, self.aux_width), np.int32)
        if len(keys) == 1:
            return keys[0], auxs[0]
        return np.concatenate(keys), np.concatenate(auxs)

    def compact(self) -> None:
        """Rewrite all segments into one, dropping removed works."""
        writer = SegmentWriter(self.aux_width)
        for number, work_id in enumerate(self._work_ids):
            if work_id in self.removed:
                continue
            parts_k: list[U64] = []
            parts_a: list[I32] = []
            for seg in self._segments:
                local = number - seg.base
                mask = np.asarray(seg.work) == local
                if local >= 0 and mask.any():
                    parts_k.append(np.asarray(seg.keys[mask]))
                    parts_a.append(np.asarray(seg.aux[mask]))
            keys = np.concatenate(parts_k) if parts_k else np.zeros(0, np.uint64)
            aux = np.concatenate(parts_a) if parts_a else np.zeros((0, self.aux_width), np.int32)
            writer.add(work_id, keys, aux, self._work_meta[number])
        old = list(self._segments)
        with index_lock(self.folder):
            manifest = self._read_manifest(self.folder)
            if list(manifest["segments"]) != [seg.name for seg in old]:
                raise IndexStoreError(
                    "the index changed while compacting: open it again and retry",
                    where=str(self.folder),
                )
            name = _segment_name(manifest["segments"])
            writer.write(self.folder / name)
            manifest["segments"] = [name]
            manifest["removed"] = []
            write_json_atomic(self.folder / "manifest.json", manifest)
            for seg in old:
                shutil.rmtree(self.folder / seg.name, ignore_errors=True)


def _count_cap(per_key: I64, max_hits: int) -> int:
    """The largest count ``c`` such that the keys with ``0 < count <= c`` hold at most
    ``max_hits`` hits in all (0 when even the rarest keys exceed the budget)."""
    values, repeat = np.unique(per_key[per_key > 0], return_counts=True)
    cumulative = np.cumsum(values * repeat)
    fits = int(np.searchsorted(cumulative, max_hits, side="right"))
    return int(values[fits - 1]) if fits else 0


def _segment_name(existing: Sequence[str]) -> str:
    """``seg-<number>-<random>``: numbered after the highest existing segment (so names sort
    in write order), with 32 random bits so no two writers can pick the same name."""
    number = 1 + max((int(str(s).split("-")[1]) for s in existing), default=0)
    return f"seg-{number:06d}-{secrets.token_hex(4)}"
