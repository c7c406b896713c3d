"""Glue between the registry, the engines and the indexes: build an index per modality from
registered fingerprints, and identify media against it.

Hash-based engines (audio, lyrics, melody) use :class:`~tdmguard.index.HashIndex`; the image
engine uses its binary-hash index. Both share one life cycle: ``create``, ``append_segment``,
``open``, ``remove_works``.
"""

from __future__ import annotations

import importlib
import itertools
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tdmguard.errors import IndexStoreError, InputError
from tdmguard.fingerprint.base import Fingerprint, Fingerprinter
from tdmguard.fingerprint.engines import get_engine
from tdmguard.index.hash_index import HashIndex, SegmentWriter
from tdmguard.vocab import Match, Modality

__all__ = ["IndexStats", "Matcher", "append_to_index", "index_folder", "rebuild_index"]


class _Writer(Protocol):
    def add(self, work_id: str, keys: Any, aux: Any, meta: Any = None) -> None: ...

    def __len__(self) -> int: ...


class _Backend(Protocol):
    """The life cycle both index kinds share (see module docstring)."""

    @staticmethod
    def create(folder: Path, *, engine: str, aux_width: int) -> None: ...

    @staticmethod
    def append_segment(folder: Path, writer: Any) -> str: ...

    @classmethod
    def open(cls, folder: Path) -> Any: ...


@dataclass(frozen=True, slots=True)
class _BackendSpec:
    index_cls: Any
    writer_cls: Any


def _backend(modality: Modality) -> _BackendSpec:
    if modality is Modality.IMAGE:
        module = importlib.import_module("tdmguard.index.binary_index")
        return _BackendSpec(module.BinaryHashIndex, module.BinarySegmentWriter)
    return _BackendSpec(HashIndex, SegmentWriter)


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
    """Append fingerprints as one new segment; returns the number of works added. A
    fingerprint made by another engine version is refused (re-register the media)."""
    spec = _backend(engine.modality)
    folder = index_folder(index_dir, engine.modality)
    spec.index_cls.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    added, _ = _append(folder, engine, spec, items, strict=True)
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
    writer: _Writer = spec.writer_cls(engine.aux_width)
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
    Fingerprints made by an older engine version are skipped and counted."""
    engine = get_engine(modality)
    folder = index_folder(index_dir, modality)
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = index_dir / f".{modality.value}.building"
    shutil.rmtree(staging, ignore_errors=True)
    spec = _backend(modality)
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


class Matcher:
    """An engine plus its opened index, ready to identify media of one modality."""

    def __init__(self, engine: Fingerprinter, index: Any) -> None:
        self.engine = engine
        self.index = index

    @classmethod
    def open(cls, index_dir: Path, modality: Modality) -> Matcher | None:
        """None when no index exists for ``modality`` (nothing registered yet)."""
        folder = index_folder(index_dir, modality)
        if not (folder / "manifest.json").exists():
            return None
        engine = get_engine(modality)
        index = _backend(modality).index_cls.open(folder)
        if getattr(index, "engine", engine.engine) != engine.engine:
            raise IndexStoreError(
                f"index was built by {index.engine}, this tdmguard uses {engine.engine}: "
                "run `tdmguard index build`",
                where=str(folder),
            )
        return cls(engine, index)

    def identify_path(self, path: Path) -> list[Match]:
        # Engines that can stream a large file in bounded memory offer match_file.
        match_file = getattr(self.engine, "match_file", None)
        if match_file is not None:
            matches: list[Match] = match_file(path, self.index)
            return matches
        # Engines whose registration fingerprint is richer than a query needs (image: the
        # eight dihedral variants and canonical crops) offer a cheaper extract_query.
        extract = getattr(self.engine, "extract_query", self.engine.extract)
        return self.engine.match(extract(path), self.index)

    def identify_text(self, text: str, *, where: str) -> list[Match]:
        if self.engine.modality is not Modality.LYRICS:
            raise InputError("only lyrics are matched in inline text", where=where)
        match_text = getattr(self.engine, "match_text", None)
        if match_text is not None:
            matches: list[Match] = match_text(text, self.index, where=where)
            return matches
        return self.engine.match(self.engine.extract_text(text, where=where), self.index)


def open_matchers(
    index_dir: Path, modalities: Iterable[Modality] = tuple(Modality)
) -> Mapping[Modality, Matcher]:
    out: dict[Modality, Matcher] = {}
    for modality in modalities:
        matcher = Matcher.open(index_dir, modality)
        if matcher is not None:
            out[modality] = matcher
    return out
