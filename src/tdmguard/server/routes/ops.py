"""Health (no key needed) and the audit log (any key; licence and API-key entries only for
an admin or the holder concerned)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tdmguard import __version__
from tdmguard.server.auth import ActorDep, ServiceDep
from tdmguard.server.errors import ERROR_RESPONSES
from tdmguard.server.schemas import AuditEntryOut, HealthOut, VerifyOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


@router.get("/health", response_model=HealthOut, tags=["ops"])
def health(service: ServiceDep) -> dict[str, str]:
    """The server answers and its registry database is reachable (no key needed)."""
    return {"status": "ok", "version": __version__, "audit_head": service.state_digest()}


@router.get("/audit", response_model=list[AuditEntryOut], tags=["audit"])
def audit(
    actor: ActorDep,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="Entries after this seq.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """The hash-chained audit log, oldest first (page with ``after``)."""
    return service.audit_entries(actor, after_seq=after, limit=limit)


@router.get("/audit/verify", response_model=VerifyOut, tags=["audit"])
def verify(actor: ActorDep, service: ServiceDep) -> dict[str, object]:
    """Walk the chain: ``ok`` false names the first edited, deleted or moved entry."""
    return service.verify(actor).to_json() | {"head": service.state_digest()}
