"""The sources a mirror holds, as plain values (for ``registry sources`` and report.json)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from tdmguard.registry.store import Registry
from tdmguard.registry.tables import SnapshotEntry, SnapshotSegment, SnapshotSource
from tdmguard.signing import parse_public_key

__all__ = ["SourceInfo", "list_sources", "mirror_sources_json"]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str
    registry_id: str
    scope: str
    key_id: str
    public_key: str
    namespace: str | None
    snapshot_id: str
    seq: int
    head: str
    snapshot_created_at: str
    pulled_at: datetime
    location: str
    works: int
    segments: int

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "registry_id": self.registry_id,
            "scope": self.scope or None,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "namespace": self.namespace,
            "snapshot": self.snapshot_id,
            "seq": self.seq,
            "head": self.head,
            "snapshot_created_at": self.snapshot_created_at,
            "pulled_at": self.pulled_at.isoformat(timespec="seconds"),
            "location": self.location,
            "works": self.works,
            "segments": self.segments,
        }


def list_sources(registry: Registry) -> list[SourceInfo]:
    with Session(registry.engine) as s:
        works = dict(s.execute(
            select(SnapshotEntry.source_id, func.count())
            .where(SnapshotEntry.kind == "work").group_by(SnapshotEntry.source_id)
        ).all())
        segments = dict(s.execute(
            select(SnapshotSegment.source_id, func.count()).group_by(SnapshotSegment.source_id)
        ).all())
        return [
            SourceInfo(
                name=r.name, registry_id=r.registry_id, scope=r.scope,
                key_id=parse_public_key(r.public_key).key_id, public_key=r.public_key,
                namespace=r.namespace, snapshot_id=r.snapshot_id, seq=r.seq, head=r.head,
                snapshot_created_at=r.snapshot_created_at, pulled_at=r.pulled_at,
                location=r.location, works=int(works.get(r.id, 0)),
                segments=int(segments.get(r.id, 0)),
            )
            for r in s.execute(select(SnapshotSource).order_by(SnapshotSource.name)).scalars()
        ]


def mirror_sources_json(registry: Registry) -> list[dict[str, object]]:
    """Every source of a mirror with its snapshot id, sequence and head hash (report.json
    cites these so a decision traces to a signed, dated registry state); [] for a registry
    that mirrors nothing (or predates the snapshot tables)."""
    try:
        return [
            {k: v for k, v in src.to_json().items()
             if k in ("name", "registry_id", "scope", "key_id", "snapshot", "seq", "head",
                      "snapshot_created_at", "pulled_at", "namespace")}
            for src in list_sources(registry)
        ]
    except (OperationalError, ProgrammingError):
        return []
