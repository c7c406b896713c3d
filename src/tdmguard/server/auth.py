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


def get_service(request: Request) -> RegistryService:
    service: RegistryService = request.app.state.service
    return service


ServiceDep = Annotated[RegistryService, Depends(get_service)]


def current_actor(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The key's actor; 401 without a key, with a malformed, unknown or revoked one."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError(
            "send an API key: Authorization: Bearer <key>", where="Authorization"
        )
    return service.authenticate(credentials.credentials)


ActorDep = Annotated[Actor, Depends(current_actor)]
