"""``registry verify`` on a mirror: every mirrored row and index segment against what was
verified and pulled from its source.

A pull checks the source's signature and every file digest, then records, beside each row it
writes, the SHA-256 of that row as written (``snapshot_entries.row_sha256``, over
:func:`tdmguard.registry.replay.mirrored_rows`), beside each index segment the SHA-256 over
its files (``snapshot_segments.sha256``), and in the mirror's own hash-chained audit log
(the ``snapshot.apply`` entry) one digest over all of them (:func:`source_digest`). Verify
recomputes them all: a mirrored row changed, deleted, or a segment file changed after the
pull is named; digests edited to hide it break the audit entry's digest, which the audit
chain (and a pinned head) protects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tdmguard.registry import replay
from tdmguard.registry.store import Registry
from tdmguard.registry.tables import AuditEntry, SnapshotEntry, SnapshotSegment, SnapshotSource

__all__ = ["SEGMENT_FILES", "MirrorCheck", "segment_digest", "source_digest", "verify_mirror"]

SEGMENT_FILES = ("aux.npy", "keys.npy", "work.npy", "works.json")
_TABLE = {"holder": "holders", "work": "works", "reservation": "reservations",
          "licence": "licences", "revocation": "revocations"}
_ORDER = tuple(_TABLE)


@dataclass(frozen=True, slots=True)
class MirrorCheck:
    """What :func:`verify_mirror` found: ``problem`` (None when all is well) names the first
    mirrored row or segment that differs, in ``table``/``row``."""

    sources: int
    rows: int
    segments: int
    unrecorded: int  # rows pulled before digests were kept (not checkable)
    problem: str | None = None
    table: str | None = None
    row: str | None = None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def segment_digest(folder: Path, known: Mapping[str, str] | None = None) -> str:
    """SHA-256 over a segment's files' SHA-256s (``known``: digests already checked, by
    file name; the others are read)."""
    lines = []
    for name in SEGMENT_FILES:
        sha = (known or {}).get(name) or _file_sha256(folder / name)
        lines.append(f"{name} {sha}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def source_digest(s: Session, source_id: int) -> str:
    """One digest over a source's recorded row and segment digests (kept in the mirror's
    audit log with each pull)."""
    lines = sorted(
        f"{kind}/{key} {sha}" for kind, key, sha in s.execute(
            select(SnapshotEntry.kind, SnapshotEntry.source_key, SnapshotEntry.row_sha256)
            .where(SnapshotEntry.source_id == source_id)))
    lines += sorted(
        f"segment/{modality}/{seg} {sha}" for modality, seg, sha in s.execute(
            select(SnapshotSegment.modality, SnapshotSegment.segment, SnapshotSegment.sha256)
            .where(SnapshotSegment.source_id == source_id)))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _last_applied(s: Session) -> dict[str, str | None]:
    """Source name -> the digest its latest ``snapshot.apply`` entry recorded."""
    out: dict[str, str | None] = {}
    for (payload,) in s.execute(select(AuditEntry.payload).where(
            AuditEntry.action == "snapshot.apply").order_by(AuditEntry.seq)):
        try:
            p = json.loads(payload)
        except ValueError:
            continue
        if isinstance(p, dict) and isinstance(p.get("source"), str):
            digest = p.get("mirror_sha256")
            out[p["source"]] = digest if isinstance(digest, str) else None
    return out


def verify_mirror(registry: Registry, index_dir: Path) -> MirrorCheck:
    """Check every source's mirrored rows and index segments against the digests recorded
    when they were pulled; the first difference is named."""
    rows = segments = unrecorded = 0
    with Session(registry.engine) as s:
        sources = list(s.execute(select(SnapshotSource).order_by(SnapshotSource.id)).scalars())
        applied = _last_applied(s)
        for src in sources:
            entries = list(s.execute(
                select(SnapshotEntry.kind, SnapshotEntry.source_key, SnapshotEntry.local_id,
                       SnapshotEntry.row_sha256)
                .where(SnapshotEntry.source_id == src.id)))
            wanted: dict[str, set[int]] = {}
            for kind, _, local, _ in entries:
                wanted.setdefault(kind, set()).add(local)
            actual = replay.mirrored_rows(s, wanted)
            entries.sort(key=lambda e: (_ORDER.index(e[0]) if e[0] in _ORDER else 9, e[2]))
            for kind, key, local, recorded in entries:
                table = _TABLE.get(kind, kind)
                row = actual.get((kind, local))
                name = str(row["id"]) if row is not None and kind == "work" else str(local)
                where = f"(source {src.name}'s {kind} {key}, snapshot {src.snapshot_id})"
                if row is None:
                    return MirrorCheck(len(sources), rows, segments, unrecorded,
                                       f"{table} row {local} is missing {where}: deleted "
                                       "outside tdmguard", table, str(local))
                if recorded is None:
                    unrecorded += 1
                    continue
                rows += 1
                if replay.row_digest(row) != recorded:
                    return MirrorCheck(len(sources), rows, segments, unrecorded,
                                       f"{table} row {name} differs from what was pulled "
                                       f"{where}: changed outside tdmguard", table, name)
            for modality, seg, recorded in s.execute(
                    select(SnapshotSegment.modality, SnapshotSegment.segment,
                           SnapshotSegment.sha256)
                    .where(SnapshotSegment.source_id == src.id)
                    .order_by(SnapshotSegment.modality, SnapshotSegment.segment)):
                folder = index_dir / modality / seg
                where = f"index/{modality}/{seg}"
                try:
                    listed = seg in json.loads(
                        (index_dir / modality / "manifest.json").read_text("utf-8")
                    ).get("segments", [])
                    actual_sha = segment_digest(folder) if recorded is not None else None
                except (OSError, ValueError, AttributeError) as exc:
                    return MirrorCheck(len(sources), rows, segments, unrecorded,
                                       f"index segment {seg} of source {src.name} is missing "
                                       f"or unreadable ({exc})", "index", where)
                if not listed:
                    return MirrorCheck(len(sources), rows, segments, unrecorded,
                                       f"index segment {seg} of source {src.name} is not in "
                                       f"the {modality} index manifest", "index", where)
                if recorded is None:
                    continue
                segments += 1
                if actual_sha != recorded:
                    return MirrorCheck(len(sources), rows, segments, unrecorded,
                                       f"index segment {seg} of source {src.name} differs "
                                       "from what was pulled: changed outside tdmguard",
                                       "index", where)
            expected = applied.get(src.name)
            if expected is not None and source_digest(s, src.id) != expected:
                return MirrorCheck(len(sources), rows, segments, unrecorded,
                                   f"the digests recorded for source {src.name} differ from "
                                   "its last snapshot.apply audit entry: edited outside "
                                   "tdmguard", "snapshot_entries", src.name)
    return MirrorCheck(len(sources), rows, segments, unrecorded)
