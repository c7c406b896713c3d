"""ASGI middleware that publishes a holder's reservation on a site (Starlette, FastAPI or any
ASGI 3 app) and turns AI crawlers away.

- On every response under a reserved path it adds ``tdm-reservation``, ``tdm-policy``,
  ``Content-Usage``, ``X-Robots-Tag`` and ``Link rel=license`` (optout-protocols.md §12 item 3).
- It serves ``/robots.txt``, ``/ai.txt``, ``/.well-known/tdmrep.json``, the TDM policy, the
  RSL licence and the declaration page from the declaration (plain values, no database).
- A request whose ``User-Agent`` names an AI crawler of the ai.robots.txt list (whole-word
  match, §2.2) on a reserved path gets ``403`` unless the policy lets that crawler through
  (a licensee); every such decision is logged (logger ``tdmguard.server.middleware``) and
  passed to ``on_decision``.

Usage::

    app = FastAPI()
    app.add_middleware(ReservationMiddleware, declaration=decl, policy=CrawlerPolicy())
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tdmguard.declare import (
    HolderDeclaration,
    bundle_files,
    crawler_in_user_agent,
    reservation_headers,
)

__all__ = ["CrawlerAction", "CrawlerDecision", "CrawlerPolicy", "ReservationMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("tdmguard.server.middleware")


class CrawlerAction(enum.StrEnum):
    BLOCK = "block"  # 403 on reserved paths
    ALLOW = "allow"  # let through (the headers still say what is reserved)


@dataclass(frozen=True, slots=True)
class CrawlerPolicy:
    """What to do with AI crawlers on reserved paths: ``default`` for every listed
    crawler, except the tokens in ``allow_tokens`` (licensees), compared case-insensitively."""

    default: CrawlerAction = CrawlerAction.BLOCK
    allow_tokens: frozenset[str] = frozenset()

    def action_for(self, token: str) -> CrawlerAction:
        if token.lower() in {t.lower() for t in self.allow_tokens}:
            return CrawlerAction.ALLOW
        return self.default


@dataclass(frozen=True, slots=True)
class CrawlerDecision:
    """One logged decision about an AI crawler's request."""

    token: str
    path: str
    action: CrawlerAction
    status: int
    user_agent: str
    at: str

    def to_json(self) -> dict[str, object]:
        return {
            "token": self.token,
            "path": self.path,
            "action": self.action.value,
            "status": self.status,
            "user_agent": self.user_agent,
            "at": self.at,
        }


def _path_reserved(path: str, prefixes: Iterable[str]) -> bool:
    for prefix in prefixes:
        if prefix.endswith("$"):
            if path == prefix[:-1]:
                return True
        elif path.startswith(prefix.rstrip("*")):
            return True
    return False


class ReservationMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        declaration: HolderDeclaration,
        policy: CrawlerPolicy | None = None,
        on_decision: Callable[[CrawlerDecision], None] | None = None,
    ) -> None:
        self.app = app
        self.declaration = declaration
        self.policy = policy or CrawlerPolicy()
        self.on_decision = on_decision
        self._headers = [
            (name.lower().encode("latin-1"), value.encode("utf-8"))
            for name, value in reservation_headers(declaration)
        ]
        # Files served by URL path (the bundle's server snippets have no URL).
        self._files: dict[str, tuple[bytes, str]] = {}
        for f in bundle_files(declaration):
            if f.url is not None:
                self._files[f.url[len(declaration.base_url) :]] = (f.content, f.media_type)

    async def _respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        media_type: str,
        *,
        head: bool,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    def _decide(self, token: str, path: str, action: CrawlerAction, status: int, ua: str) -> None:
        decision = CrawlerDecision(
            token, path, action, status, ua[:300], datetime.now(UTC).isoformat(timespec="seconds")
        )
        _log.info(
            "AI crawler %s %s %s -> %d", token, action.value, path, status,
            extra={"tdmguard_decision": decision.to_json()},
        )  # fmt: skip
        if self.on_decision is not None:
            self.on_decision(decision)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "/")
        method: str = scope.get("method", "GET")
        served = self._files.get(path)
        if served is not None and method in {"GET", "HEAD"}:
            await self._respond(send, 200, served[0], served[1], head=method == "HEAD", extra=[])
            return
        reserved = _path_reserved(path, self.declaration.reserved_paths)
        user_agent = ""
        for name, value in scope.get("headers", []):
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
                break
        crawler = crawler_in_user_agent(user_agent) if reserved and user_agent else None
        if crawler is not None:
            action = self.policy.action_for(crawler.token)
            if action is CrawlerAction.BLOCK:
                decl = self.declaration
                body = (
                    f"403 Forbidden: {crawler.token} is an AI crawler and {decl.holder}"
                    f" reserves this content against text and data mining and AI training"
                    f" (Art. 4(3) Directive (EU) 2019/790). Licensing: {decl.licensing_url}"
                    f" ({decl.contact_email}). Declaration: {decl.page_url}\n"
                ).encode()
                self._decide(crawler.token, path, action, 403, user_agent)
                await self._respond(
                    send,
                    403,
                    body,
                    "text/plain; charset=utf-8",
                    head=method == "HEAD",
                    extra=self._headers,
                )
                return
            self._decide(crawler.token, path, action, 0, user_agent)
        if not reserved:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in self._headers if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
