"""The auth dependency: ``Authorization: Bearer KEY`` -> the acting holder or reader."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tdmguard.errors import AuthenticationError
from tdmguard.registry.service import RegistryService
from tdmguard.registry.values import Actor

__all__ = ["ActorDep", "ServiceDep", "current_actor", "get_service"]

_bearer = HTTPBearer(auto_error=False, description="An API key from `tdmguard apikey create`.")


async def get_service(request: Request) -> RegistryService:
    """(async: no I/O here, so no hop to the thread pool)"""
    service: RegistryService = request.app.state.service
    return service


ServiceDep = Annotated[RegistryService, Depends(get_service)]


def current_actor(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The key's actor; 401 without a key, with a malformed, unknown or revoked one. The
    registry state read here is kept on ``request.state.audit_head`` so that a route's
    cached reads (policy facts) need no second query."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError(
            "send an API key: Authorization: Bearer <key>", where="Authorization"
        )
    head = service.state_digest()
    request.state.audit_head = head
    return service.authenticate(credentials.credentials, head=head)


ActorDep = Annotated[Actor, Depends(current_actor)]
