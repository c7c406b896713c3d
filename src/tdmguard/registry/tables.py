"""SQLAlchemy 2 table definitions of the registry (SQLite and PostgreSQL alike).

Nothing is overwritten: reservations and licences are never updated in place; revoking one
is a new dated row in ``revocations``. Every change appends to ``audit_log``, a hash chain.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "FingerprintRow",
    "Holder",
    "LicenceRow",
    "RegistryMeta",
    "ReservationRow",
    "Revocation",
    "SnapshotEntry",
    "SnapshotSegment",
    "SnapshotSource",
    "Work",
]


class Base(DeclarativeBase):
    pass


class Holder(Base):
    __tablename__ = "holders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    contact: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Work(Base):
    __tablename__ = "works"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The id users see: the holder's external id when given, else "W" + zero-padded row id.
    public_id: Mapped[str] = mapped_column(String(200), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    artists: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of names
    isrc: Mapped[str | None] = mapped_column(String(12), index=True)
    iswc: Mapped[str | None] = mapped_column(String(15), index=True)
    upc: Mapped[str | None] = mapped_column(String(14))
    iscc: Mapped[str | None] = mapped_column(String(100))
    # Columns of the holder's catalogue beyond ours (label, release date, ...): a JSON object.
    extra: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A removed work stays (decisions at earlier dates still see it) but leaves the index.
    removed_on: Mapped[date | None] = mapped_column(Date)


class ReservationRow(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), index=True)
    work_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; [] = holder-wide
    uses: Mapped[str] = mapped_column(Text)  # JSON list of Use values
    purposes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; [] = every purpose
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_at: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LicenceRow(Base):
    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), index=True)
    licensee: Mapped[str] = mapped_column(String(300), index=True)
    work_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; [] = all works
    uses: Mapped[str] = mapped_column(Text)
    purposes: Mapped[str] = mapped_column(Text, default="[]")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Revocation(Base):
    """A dated end to a reservation or a licence (the entry itself stays as it was)."""

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_type: Mapped[str] = mapped_column(String(20))  # "reservation" | "licence"
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    revoked_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FingerprintRow(Base):
    """A work's fingerprint for one modality (never the media itself)."""

    __tablename__ = "fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id"), index=True)
    modality: Mapped[str] = mapped_column(String(20), index=True)
    engine: Mapped[str] = mapped_column(String(100))
    n_hashes: Mapped[int] = mapped_column(Integer)
    source_sha256: Mapped[str] = mapped_column(String(64))  # digest of the media it came from
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Replaced by a newer fingerprint of the same work and modality (kept, not deleted).
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only, hash-chained log: ``hash = sha256(prev_hash + canonical entry)``."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq", name="uq_audit_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, kept as text so it hashes stably
    action: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiKey(Base):
    """An API key of the server: ``tdm_<id>_<secret>``; only the secret's SHA-256 is kept
    (the secret is 256 random bits, so a fast hash is enough: nothing to brute-force)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(String(10))  # admin | write | read
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- signed snapshots (registry/snapshot/) ------------------------------------------------
class RegistryMeta(Base):
    """Small key/value facts about this registry (``registry_id``: its stable random id)."""

    __tablename__ = "registry_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(2000))


class SnapshotSource(Base):
    """A registry this one mirrors: its pinned key and the snapshot state held from it."""

    __tablename__ = "snapshot_sources"
    __table_args__ = (UniqueConstraint("registry_id", "scope", name="uq_snapshot_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    registry_id: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(300))  # "" = whole registry, else a holder name
    public_key: Mapped[str] = mapped_column(String(200))
    namespace: Mapped[str | None] = mapped_column(String(100))
    snapshot_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    snapshot_created_at: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(2000))
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SnapshotEntry(Base):
    """Which local row came from which source row (kind: holder, work, reservation, licence,
    revocation; ``source_key`` is the id in the source registry)."""

    __tablename__ = "snapshot_entries"
    __table_args__ = (
        UniqueConstraint("source_id", "kind", "source_key", name="uq_snapshot_entry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("snapshot_sources.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(200))
    local_id: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the row as pulled (``replay.mirrored_rows``): what ``registry verify``
    # checks the row against (None: pulled before digests were kept)
    row_sha256: Mapped[str | None] = mapped_column(String(64))


class SnapshotSegment(Base):
    """An index segment (``<index>/<modality>/<segment>``) that came from a source."""

    __tablename__ = "snapshot_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("snapshot_sources.id"), index=True)
    modality: Mapped[str] = mapped_column(String(20))
    segment: Mapped[str] = mapped_column(String(100))
    # SHA-256 over the segment's files as pulled (None: pulled before digests were kept)
    sha256: Mapped[str | None] = mapped_column(String(64))
