"""Plain values the registry hands out (never ORM rows, so callers cannot write through them)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from tdmguard.vocab import Purpose, Use, WorkKind

__all__ = [
    "CLI_ACTOR",
    "Actor",
    "ApiKeyInfo",
    "HolderInfo",
    "LicenceInfo",
    "ReservationInfo",
    "Scope",
    "VerifyResult",
    "WorkInfo",
]


class Scope(enum.StrEnum):
    """What an actor may do. ``admin``: everything (operators, the local CLI); ``write``: read,
    and change its own holder's records; ``read``: public terms, decide, identify, check."""

    ADMIN = "admin"
    WRITE = "write"
    READ = "read"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: every use case of the service layer takes one, and every audit entry names
    it. ``holder`` is the holder a write key acts for (None for admins and most readers);
    ``key_id`` the API key used (None for the CLI)."""

    name: str
    scope: Scope
    holder: str | None = None
    key_id: str | None = None

    def to_audit(self) -> dict[str, object]:
        return {"name": self.name, "holder": self.holder, "key": self.key_id}


#: The local command line: the operator of the registry file, acting as admin.
CLI_ACTOR = Actor("cli", Scope.ADMIN)


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as listed (never the secret or its hash)."""

    id: str
    name: str
    scope: Scope
    holder: str | None
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope.value,
            "holder": self.holder,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class HolderInfo:
    id: int
    name: str
    contact: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "contact": self.contact}


@dataclass(frozen=True, slots=True)
class WorkInfo:
    id: str  # the public id (holder's external id when given)
    holder: str
    kind: WorkKind
    title: str
    artists: tuple[str, ...] = ()
    isrc: str | None = None
    iswc: str | None = None
    upc: str | None = None
    iscc: str | None = None
    modalities: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # the catalogue's other columns, sorted by name
    removed_on: date | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "holder": self.holder,
            "title": self.title,
            "kind": self.kind.value,
            "artists": list(self.artists),
            "isrc": self.isrc,
            "iswc": self.iswc,
            "upc": self.upc,
            "iscc": self.iscc,
            "fingerprints": list(self.modalities),
            "extra": dict(self.extra),
            "removed_on": self.removed_on.isoformat() if self.removed_on else None,
        }


@dataclass(frozen=True, slots=True)
class ReservationInfo:
    id: int
    holder: str
    uses: tuple[Use, ...]
    purposes: tuple[Purpose, ...]
    work_ids: tuple[str, ...]
    effective_from: date
    effective_until: date | None
    exempt: bool
    declared_at: str | None
    revoked_on: date | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "holder": self.holder,
            "uses": [u.value for u in self.uses],
            "purposes": [p.value for p in self.purposes],
            "works": list(self.work_ids),
            "from": self.effective_from.isoformat(),
            "until": self.effective_until.isoformat() if self.effective_until else None,
            "exempt": self.exempt,
            "declared_at": self.declared_at,
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
        }


@dataclass(frozen=True, slots=True)
class LicenceInfo:
    id: int
    holder: str
    licensee: str
    uses: tuple[Use, ...]
    purposes: tuple[Purpose, ...]
    work_ids: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    revoked_on: date | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "holder": self.holder,
            "licensee": self.licensee,
            "uses": [u.value for u in self.uses],
            "purposes": [p.value for p in self.purposes],
            "works": list(self.work_ids),
            "from": self.valid_from.isoformat(),
            "until": self.valid_until.isoformat() if self.valid_until else None,
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
        }


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What ``registry verify`` found. ``first_broken_seq`` names a broken audit entry;
    ``table``/``row``/``field`` the first table row that differs from the replayed log
    (``differences``: up to 50 of them, as JSON); ``rows`` counts the rows compared."""

    ok: bool
    entries: int
    first_broken_seq: int | None = None
    problem: str | None = None
    table: str | None = None
    row: str | None = None
    field: str | None = None
    rows: int = 0
    differences: tuple[dict[str, object], ...] = ()
    head_seq: int = 0
    head: str | None = None
    pin: str | None = None

    @property
    def where(self) -> str:
        if self.table is not None:
            return f"{self.table} row {self.row}"
        if self.first_broken_seq is not None:
            return f"audit entry {self.first_broken_seq}"
        return "audit log"

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_broken": self.first_broken_seq,
            "problem": self.problem,
            "table": self.table,
            "row": self.row,
            "field": self.field,
            "rows_checked": self.rows,
            "differences": list(self.differences),
            "head_seq": self.head_seq,
            "pin": self.pin,
        }
