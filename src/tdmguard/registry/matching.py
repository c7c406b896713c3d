"""Glue between the registry, the engines and the indexes: build an index per modality from
registered fingerprints, append new ones, and identify media against it.

Which index a modality uses comes from the modality table (``fingerprint.engines``): hash
engines (audio, lyrics, melody) use :class:`~tdmguard.index.HashIndex`, images its binary-hash
subclass. Both share one life cycle: ``create``, ``append_segment``, ``open``,
``remove_works``.

Concurrency (many writers, many reader processes):

- every write to one modality's folder holds that folder's lock (``index.locking``);
- the registry commits first, the index is appended second. A crash in between leaves works
  in the database that the index lacks; ``tdmguard index build`` (:func:`rebuild_index`)
  rebuilds from the database and so repairs it. Appending is idempotent: a work the index
  already holds is skipped, so a retried append never duplicates it;
- a rebuild holds the lock from reading the database to swapping the folder in, so an
  append waits and then sees the rebuilt folder (and skips what the rebuild already took);
- a :class:`Matcher` stats the manifest before each query and reopens the index when it
  changed, so long-lived readers (every server worker, every scan worker) see new segments
  without a restart.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tdmguard.errors import IndexStoreError, InputError
from tdmguard.fingerprint.base import (
    FileMatching,
    Fingerprint,
    Fingerprinter,
    QueryExtracting,
    TextMatching,
)
from tdmguard.fingerprint.engines import MODALITIES, IndexKind, get_engine
from tdmguard.index.binary_index import BinaryHashIndex, BinarySegmentWriter
from tdmguard.index.hash_index import HashIndex, SegmentWriter
from tdmguard.index.locking import index_lock
from tdmguard.vocab import Match, Modality

__all__ = ["IndexStats", "Matcher", "append_to_index", "index_folder", "rebuild_index"]


@dataclass(frozen=True, slots=True)
class _BackendSpec:
    index_cls: type[HashIndex]
    writer_cls: type[SegmentWriter]


_BACKENDS: Mapping[IndexKind, _BackendSpec] = {
    IndexKind.HASH: _BackendSpec(HashIndex, SegmentWriter),
    IndexKind.BINARY: _BackendSpec(BinaryHashIndex, BinarySegmentWriter),
}


def _backend(modality: Modality) -> _BackendSpec:
    return _BACKENDS[MODALITIES[modality].index_kind]


def index_folder(index_dir: Path, modality: Modality) -> Path:
    return index_dir / modality.value


@dataclass(frozen=True, slots=True)
class IndexStats:
    modality: Modality
    works: int
    hashes: int
    size_bytes: int
    folder: Path
    stale: int = 0  # fingerprints of an older engine version, left out

    def to_json(self) -> dict[str, object]:
        return {
            "modality": self.modality.value,
            "works": self.works,
            "hashes": self.hashes,
            "size_bytes": self.size_bytes,
            "folder": str(self.folder),
            "stale_fingerprints": self.stale,
        }


def append_to_index(
    index_dir: Path, engine: Fingerprinter, items: Iterable[tuple[str, Fingerprint]]
) -> int:
    """Append fingerprints as one new segment; returns the number of works added. Works the
    index already holds are skipped (a retried or repaired append never duplicates one). A
    fingerprint made by another engine version is refused (re-register the media)."""
    spec = _backend(engine.modality)
    folder = index_folder(index_dir, engine.modality)
    with index_lock(folder):
        spec.index_cls.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        present = spec.index_cls.stored_work_ids(folder)
        added, _ = _append(
            folder, engine, spec, ((w, fp) for w, fp in items if w not in present), strict=True
        )
    return added


def _append(
    folder: Path,
    engine: Fingerprinter,
    spec: _BackendSpec,
    items: Iterable[tuple[str, Fingerprint]],
    *,
    strict: bool,
) -> tuple[int, int]:
    """Write ``items`` as one segment; returns (works added, stale fingerprints skipped)."""
    writer = spec.writer_cls(engine.aux_width)
    skipped = 0
    for work_id, fp in items:
        if fp.engine != engine.engine:
            if strict:
                raise IndexStoreError(
                    f"fingerprint of work {work_id} was made by {fp.engine}, the index uses "
                    f"{engine.engine}: re-register the work's media",
                    where=str(folder),
                )
            skipped += 1
            continue
        writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
    if len(writer):
        spec.index_cls.append_segment(folder, writer)
    return len(writer), skipped


def rebuild_index(
    index_dir: Path, modality: Modality, items: Iterable[tuple[str, Fingerprint]]
) -> IndexStats:
    """Rebuild one modality's index from scratch into a fresh folder, then swap it in.
    Fingerprints made by an older engine version are skipped and counted.

    ``items`` should be lazy (the registry's ``fingerprints(modality)``): it is read under
    the folder's lock, so an append that committed to the database before the rebuild read
    it is either in the rebuilt index or skipped as already there."""
    engine = get_engine(modality)
    folder = index_folder(index_dir, modality)
    index_dir.mkdir(parents=True, exist_ok=True)
    spec = _backend(modality)
    with index_lock(folder):
        staging = index_dir / f".{modality.value}.building"
        shutil.rmtree(staging, ignore_errors=True)
        spec.index_cls.create(staging, engine=engine.engine, aux_width=engine.aux_width)
        works = stale = 0
        items = iter(items)
        # Segments of at most 2,000 works, so memory stays flat however large the catalogue.
        while batch := list(itertools.islice(items, 2000)):
            added, skipped = _append(staging, engine, spec, batch, strict=False)
            works, stale = works + added, stale + skipped
        old = index_dir / f".{modality.value}.old"
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    opened = spec.index_cls.open(folder)
    return IndexStats(modality, works, len(opened), opened.size_bytes(), folder, stale)


def _stamp(folder: Path) -> tuple[int, int, int] | None:
    """What changes when a manifest is replaced (a new file each time: see atomic writes)."""
    try:
        st = (folder / "manifest.json").stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class Matcher:
    """An engine plus its opened index, ready to identify media of one modality. The index
    is reopened when its manifest changes (new segments, a rebuild)."""

    def __init__(self, engine: Fingerprinter, index: HashIndex, folder: Path | None = None) -> None:
        self.engine = engine
        self._index = index
        self._folder = folder
        self._stamp = _stamp(folder) if folder is not None else None
        self._reopen_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, modality: Modality) -> Matcher | None:
        """None when no index exists for ``modality`` (nothing registered yet)."""
        folder = index_folder(index_dir, modality)
        if not (folder / "manifest.json").exists():
            return None
        engine = get_engine(modality)
        return cls(engine, cls._open_index(engine, folder), folder)

    @staticmethod
    def _open_index(engine: Fingerprinter, folder: Path) -> HashIndex:
        index = _backend(engine.modality).index_cls.open(folder)
        if index.engine != engine.engine:
            raise IndexStoreError(
                f"index was built by {index.engine}, this tdmguard uses {engine.engine}: "
                "run `tdmguard index build`",
                where=str(folder),
            )
        return index

    @property
    def index(self) -> HashIndex:
        """The current index (reopened first when the manifest changed since last time)."""
        folder = self._folder
        if folder is None:
            return self._index
        stamp = _stamp(folder)
        if stamp is not None and stamp != self._stamp:
            with self._reopen_lock:
                if stamp != self._stamp:
                    try:
                        self._index = self._open_index(self.engine, folder)
                    except IndexStoreError:
                        # a compaction removed a segment between our stat and our read:
                        # the manifest is already the next one, so one retry sees it
                        self._index = self._open_index(self.engine, folder)
                    self._stamp = stamp
        return self._index

    def identify_path(self, path: Path) -> list[Match]:
        index = self.index
        if isinstance(self.engine, FileMatching):
            return self.engine.match_file(path, index)
        if isinstance(self.engine, QueryExtracting):
            return self.engine.match(self.engine.extract_query(path), index)
        return self.engine.match(self.engine.extract(path), index)

    def identify_text(self, text: str, *, where: str) -> list[Match]:
        if self.engine.modality is not Modality.LYRICS:
            raise InputError("only lyrics are matched in inline text", where=where)
        index = self.index
        if isinstance(self.engine, TextMatching):
            return self.engine.match_text(text, index, where=where)
        return self.engine.match(self.engine.extract_text(text, where=where), index)


def open_matchers(
    index_dir: Path, modalities: Iterable[Modality] = tuple(Modality)
) -> Mapping[Modality, Matcher]:
    out: dict[Modality, Matcher] = {}
    for modality in modalities:
        matcher = Matcher.open(index_dir, modality)
        if matcher is not None:
            out[modality] = matcher
    return out
