"""Request and response bodies of the API (pydantic), in the CLI's JSON shapes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tdmguard.vocab import Purpose, Use, WorkKind

__all__ = [
    "AuditEntryOut",
    "CheckIn",
    "DecideOut",
    "HealthOut",
    "HolderIn",
    "HolderOut",
    "IdOut",
    "IdentifyOut",
    "ImportOut",
    "LicenceIn",
    "LicenceOut",
    "ReservationIn",
    "ReservationOut",
    "RevokeIn",
    "RevokeOut",
    "VerifyOut",
    "WorkDetailOut",
    "WorkOut",
]

Name = Annotated[str, Field(min_length=1, max_length=300)]
WorkId = Annotated[str, Field(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HolderIn(_In):
    name: Name
    contact: Annotated[str, Field(max_length=500)] | None = None


class HolderOut(BaseModel):
    id: int
    name: str
    contact: str | None


class WorkOut(BaseModel):
    id: str
    holder: str
    title: str
    kind: WorkKind
    artists: list[str]
    isrc: str | None
    iswc: str | None
    upc: str | None
    iscc: str | None
    fingerprints: list[str]


class ReservationIn(_In):
    """A reservation (or, with ``exempt``, an exemption) of the key's holder (an admin key
    names ``holder``). Empty ``works`` = every work of the holder; empty ``purposes`` = all."""

    uses: Annotated[list[Use], Field(min_length=1)]
    from_: date = Field(alias="from")
    until: date | None = None
    works: Annotated[list[WorkId], Field(max_length=10_000)] = []
    purposes: list[Purpose] = []
    declared_at: Annotated[str, Field(max_length=2000)] | None = None
    exempt: bool = False
    holder: Name | None = None


class ReservationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    holder: str
    uses: list[Use]
    purposes: list[Purpose]
    works: list[str]
    from_: date = Field(alias="from")
    until: date | None
    exempt: bool
    declared_at: str | None
    revoked_on: date | None


class LicenceIn(_In):
    licensee: Name
    uses: Annotated[list[Use], Field(min_length=1)]
    from_: date = Field(alias="from")
    until: date | None = None
    works: Annotated[list[WorkId], Field(max_length=10_000)] = []
    purposes: list[Purpose] = []
    holder: Name | None = None


class LicenceOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    holder: str
    licensee: str
    uses: list[Use]
    purposes: list[Purpose]
    works: list[str]
    from_: date = Field(alias="from")
    until: date | None
    revoked_on: date | None


class WorkDetailOut(WorkOut):
    reservations: list[ReservationOut]
    licences: list[LicenceOut]


class IdOut(BaseModel):
    id: int


class RevokeIn(_In):
    on: date | None = Field(None, description="Date it ends (default today).")


class RevokeOut(BaseModel):
    revoked: int
    on: date


class ImportOut(BaseModel):
    imported: int
    works: list[WorkOut]


class DecideOut(BaseModel):
    decision: str
    reasons: list[dict[str, Any]]
    work: str
    holder: str


class IdentifyOut(BaseModel):
    modality: str
    matches: list[dict[str, Any]]


class CheckIn(_In):
    urls: Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]], Field(min_length=1)]
    agent: Annotated[str, Field(min_length=1, max_length=200)] = "*"
    fetch_pages: bool = True
    geo: Annotated[str, Field(min_length=2, max_length=10)] | None = None


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    action: str
    payload: dict[str, Any]
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    first_broken: int | None
    problem: str | None
    head: str


class HealthOut(BaseModel):
    status: str
    version: str
    audit_head: str
