"""The one JSON error shape and the one table from errors to HTTP statuses.

Every error answer is ``{"error": {"code": ..., "message": ..., "field": ...}}``: ``code`` a
stable word (``not_found``, ``forbidden``...), ``message`` for people, ``field`` the field,
parameter, file line or header concerned (or null). Bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tdmguard import errors

__all__ = ["ERROR_RESPONSES", "BodyLimitMiddleware", "ErrorBody", "install_error_handlers"]

log = logging.getLogger("tdmguard.server")

# Most specific first: the first class an error is an instance of decides.
_TABLE: tuple[tuple[type[errors.TdmguardError], int, str], ...] = (
    (errors.AuthenticationError, 401, "unauthorized"),
    (errors.PermissionDeniedError, 403, "forbidden"),
    (errors.NotFoundError, 404, "not_found"),
    (errors.ConflictError, 409, "conflict"),
    (errors.IntegrityError, 409, "integrity"),
    (errors.TooLargeError, 413, "too_large"),
    (errors.InputError, 422, "invalid"),
    (errors.RegistryError, 503, "registry_unavailable"),
    (errors.IndexStoreError, 503, "index_unavailable"),
    (errors.FetchError, 502, "fetch_failed"),
    (errors.MissingExtraError, 501, "not_installed"),
    (errors.ConfigError, 500, "misconfigured"),
)
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: Documented on every route (the OpenAPI schema then tells clients the error shape).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error_doc("No API key, or an unknown or revoked one"),
    403: _error_doc("The key may not do this (another holder's record, a read key)"),
    404: _error_doc("No such record"),
    409: _error_doc("Conflicts with the registry (duplicate id, ...)"),
    413: _error_doc("Request body over the configured limit"),
    422: _error_doc("A field is malformed; 'field' names it"),
}


def status_for(exc: errors.TdmguardError) -> tuple[int, str]:
    for cls, status, code in _TABLE:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal"


def error_response(
    status: int, code: str, message: str, field: str | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_tdmguard(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.TdmguardError)
        status, code = status_for(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return error_response(status, code, exc.message, exc.where)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        return error_response(
            422, "invalid", str(first.get("msg", "invalid request")), ".".join(loc) or None
        )

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(
            exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail)
        )

    async def on_other(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal", "internal error (logged on the server)")

    app.add_exception_handler(errors.TdmguardError, on_tdmguard)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_other)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _TooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a chunked body passes the limit. An HTTP exception, so
    FastAPI's body parsing passes it on as it is (it turns other errors into a 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over the limit of {max_bytes / 1048576:g} MiB")


class BodyLimitMiddleware:
    """413 for request bodies over ``max_bytes``: at once from ``Content-Length``, or as
    soon as a chunked body passes the limit (before the app buffers it)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit_mb = self.max_bytes / (1024 * 1024)
        response = error_response(
            413, "too_large", f"request body over the limit of {limit_mb:g} MiB", "body"
        )
        await response(scope, receive, send)
