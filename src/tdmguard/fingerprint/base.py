"""The shape every fingerprint engine shares.

An engine turns media into a :class:`Fingerprint` (hashes with positions), and scores the raw
hits that an index returns for those hashes into :class:`~tdmguard.vocab.Match` values.
The index lives in a sibling package, so the engines see it only through :class:`HashLookup`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tdmguard.errors import InputError
from tdmguard.vocab import Match, Modality

__all__ = [
    "FileMatching",
    "Fingerprint",
    "Fingerprinter",
    "HashHits",
    "HashLookup",
    "QueryExtracting",
    "TextMatching",
]

U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Fingerprint:
    """Hashes of one piece of media.

    ``keys``: shape (n,), uint64 hash values. ``aux``: shape (n, k), int32 positional data per
    hash, engine-defined (for audio: anchor frame and log-frequency bin; for text: token
    position). ``meta``: small scalars such as ``duration_s``.
    """

    modality: Modality
    engine: str
    keys: U64
    aux: I32
    meta: Mapping[str, float | int | str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.keys.ndim != 1 or self.aux.ndim != 2 or self.aux.shape[0] != self.keys.shape[0]:
            raise ValueError(
                f"fingerprint arrays disagree: keys {self.keys.shape}, aux {self.aux.shape}"
            )

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def to_bytes(self) -> bytes:
        """Serialise to a compressed ``.npz`` blob (what the registry stores)."""
        buf = io.BytesIO()
        header = json.dumps(
            {"modality": self.modality.value, "engine": self.engine, "meta": dict(self.meta)}
        )
        np.savez_compressed(
            buf,
            keys=self.keys.astype(np.uint64, copy=False),
            aux=self.aux.astype(np.int32, copy=False),
            header=np.frombuffer(header.encode(), dtype=np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, *, where: str = "fingerprint") -> Fingerprint:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                return cls(
                    modality=Modality(header["modality"]),
                    engine=str(header["engine"]),
                    keys=np.asarray(data["keys"], dtype=np.uint64),
                    aux=np.asarray(data["aux"], dtype=np.int32),
                    meta=MappingProxyType(dict(header.get("meta", {}))),
                )
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
            raise InputError(f"unreadable fingerprint blob ({exc})", where=where) from exc


class HashHits(Protocol):
    """Raw hits of a batch of query hashes in an index (the index returns its own class).

    All arrays have shape (m,): ``query_row`` indexes the query's ``keys``; ``work`` is a
    dense work number (``work_ids[work]`` is the work id); ``aux`` has shape (m, k), the
    reference's positional data stored with the hash.
    """

    @property
    def query_row(self) -> I64: ...

    @property
    def work(self) -> I64: ...

    @property
    def aux(self) -> I32: ...

    @property
    def work_ids(self) -> Sequence[str]: ...


@runtime_checkable
class HashLookup(Protocol):
    """What an engine needs of an index: exact look-up of many hashes at once.

    ``max_per_key`` (optional): skip keys stored more often than this (stop-word keys).
    ``max_hits`` (optional): a hit budget for the whole look-up; beyond it the most frequent
    keys are skipped first (see ``index.HashIndex.lookup``)."""

    def lookup(
        self, keys: U64, max_per_key: int | None = None, max_hits: int | None = None
    ) -> HashHits: ...

    def work_meta(self, work: int) -> Mapping[str, float | int | str]: ...


class Fingerprinter(Protocol):
    """One engine per modality (``fingerprint/audio``, ``lyrics``, ``melody``, ``image``).

    ``engine`` names the algorithm and its version (``audio-triplet/1``): an index built by
    another engine version is refused. ``aux_width`` is the number of int32 columns of
    ``Fingerprint.aux`` (what the hash index stores with each hash).
    """

    modality: Modality
    engine: str
    aux_width: int

    def extract(self, path: Path) -> Fingerprint:
        """Fingerprint a media file; raise :class:`~tdmguard.errors.MediaError` naming it."""
        ...

    def extract_text(self, text: str, *, where: str) -> Fingerprint:
        """Fingerprint inline text (lyrics engine only; others raise ``InputError``)."""
        ...

    def match(self, query: Fingerprint, index: Any) -> list[Match]:
        """Score the index hits of ``query`` into matches above the engine's threshold.

        ``index`` is a :class:`HashLookup` for the hash-based engines (audio, lyrics, melody)
        and the image engine's own binary-hash index for images."""
        ...


# Optional capabilities an engine may add to :class:`Fingerprinter`. The index glue
# (``registry/matching.py``) tests for them with ``isinstance`` against these protocols, so
# the contract is typed in one place instead of probed by attribute name.
@runtime_checkable
class FileMatching(Protocol):
    """An engine that streams a large file in bounded memory while matching it."""

    def match_file(self, path: Path, index: HashLookup) -> list[Match]: ...


@runtime_checkable
class TextMatching(Protocol):
    """An engine that matches inline text directly (lyrics)."""

    def match_text(self, text: str, index: HashLookup, *, where: str = "text") -> list[Match]: ...


@runtime_checkable
class QueryExtracting(Protocol):
    """An engine whose registration fingerprint is richer than a query needs (image: the
    dihedral variants and crops) and that offers a cheaper query fingerprint."""

    def extract_query(self, path: Path) -> Fingerprint: ...
