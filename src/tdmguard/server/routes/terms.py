"""Reservations and licences of the key's holder: create, list, revoke (a revocation is a
new dated entry; nothing is overwritten)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from tdmguard.server.auth import ActorDep, ServiceDep
from tdmguard.server.errors import ERROR_RESPONSES
from tdmguard.server.schemas import (
    IdOut,
    LicenceIn,
    LicenceOut,
    ReservationIn,
    ReservationOut,
    RevokeIn,
    RevokeOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
HolderQuery = Annotated[
    str | None, Query(max_length=300, description="Only this holder's (name or id).")
]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/reservations", response_model=IdOut, status_code=201, tags=["reservations"])
def reserve(body: ReservationIn, actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    """Reserve uses of the key holder's works (holder-wide, or the ``works`` named)."""
    info = service.reserve(
        actor,
        body.holder,
        uses=body.uses,
        effective_from=body.from_,
        effective_until=body.until,
        work_ids=body.works,
        purposes=body.purposes,
        declared_at=body.declared_at,
        exempt=body.exempt,
    )
    return {"id": info.id}


@router.get("/reservations", response_model=list[ReservationOut], tags=["reservations"])
def list_reservations(
    actor: ActorDep, service: ServiceDep, holder: HolderQuery = None
) -> list[dict[str, object]]:
    return [r.to_json() for r in service.list_reservations(actor, holder)]


@router.post(
    "/reservations/{reservation_id}/revoke", response_model=RevokeOut, tags=["reservations"]
)
def revoke_reservation(
    reservation_id: EntryId, actor: ActorDep, service: ServiceDep, body: RevokeIn | None = None
) -> dict[str, object]:
    """End one of the key holder's reservations from ``on`` (default today)."""
    on = (body.on if body else None) or date.today()
    service.revoke_reservation(actor, reservation_id, on=on)
    return {"revoked": reservation_id, "on": on.isoformat()}


@router.post("/licences", response_model=IdOut, status_code=201, tags=["licences"])
def grant_licence(body: LicenceIn, actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    """Grant a licence of the key holder's works to an organisation."""
    info = service.grant_licence(
        actor,
        body.holder,
        licensee=body.licensee,
        uses=body.uses,
        valid_from=body.from_,
        valid_until=body.until,
        work_ids=body.works,
        purposes=body.purposes,
    )
    return {"id": info.id}


@router.get("/licences", response_model=list[LicenceOut], tags=["licences"])
def list_licences(
    actor: ActorDep, service: ServiceDep, holder: HolderQuery = None
) -> list[dict[str, object]]:
    """Licences the key may see: all (admin), its holder's (write key); read keys get 403."""
    return [lic.to_json() for lic in service.list_licences(actor, holder)]


@router.post("/licences/{licence_id}/revoke", response_model=RevokeOut, tags=["licences"])
def revoke_licence(
    licence_id: EntryId, actor: ActorDep, service: ServiceDep, body: RevokeIn | None = None
) -> dict[str, object]:
    on = (body.on if body else None) or date.today()
    service.revoke_licence(actor, licence_id, on=on)
    return {"revoked": licence_id, "on": on.isoformat()}
