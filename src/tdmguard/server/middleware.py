"""ASGI middleware that publishes a holder's reservation on a site (Starlette, FastAPI or any
ASGI 3 app) and turns AI crawlers away.

- On every response under a reserved path it adds ``tdm-reservation``, ``tdm-policy``,
  ``Content-Usage``, ``X-Robots-Tag`` and ``Link rel=license`` (optout-protocols.md §12 item 3).
- It serves ``/robots.txt``, ``/ai.txt``, ``/.well-known/tdmrep.json``, the TDM policy, the
  RSL licence and the declaration page from the declaration (plain values, no database).
- A request whose ``User-Agent`` names an AI crawler of the ai.robots.txt list (whole-word
  match, §2.2) whose category the reservation covers (an ``ai-train`` reservation: training
  crawlers, not search or assistant ones) on a reserved path gets ``403`` unless the policy
  lets that crawler through (a licensee). A header naming several crawlers is judged by the
  strictest. Every such decision is logged (logger ``tdmguard.server.middleware``, control
  characters escaped) and passed to ``on_decision``.
- Paths are judged as the app will route them and as any normalising layer would read
  them: ``//music/x``, ``/x/../music/x`` and ``/music/./x`` are ``/music/x``; a path is
  reserved when any of its readings is.
- Headers the app sets itself are kept; ``X-Robots-Tag`` and ``Link`` are merged (ours are
  added beside the app's unless the app's already say the same), so the reservation is never
  lost to an app that sets its own.

Usage::

    app = FastAPI()
    app.add_middleware(ReservationMiddleware, declaration=decl, policy=CrawlerPolicy())
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tdmguard.declare import (
    AICrawler,
    HolderDeclaration,
    bundle_files,
    reservation_headers,
)
from tdmguard.declare.crawlers import crawlers_in_user_agent

__all__ = [
    "CrawlerAction",
    "CrawlerDecision",
    "CrawlerPolicy",
    "ReservationMiddleware",
    "path_readings",
    "printable",
]

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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, limit: int = 300) -> str:
    """``text`` safe for one log line: control characters (CR, LF, ESC, ...) escaped as
    ``\\xNN``, at most ``limit`` characters."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])


def path_readings(path: str) -> tuple[str, ...]:
    """The ways ``path`` can be routed: as sent (Starlette matches ``scope["path"]`` as
    it is), and with empty and dot segments resolved and backslashes read as slashes (what
    static-file handlers, proxies and ``os.path.normpath`` do). RFC 3986 section 5.2.4."""
    readings = [path]
    for variant in (path, path.replace("\\", "/")):
        segments: list[str] = []
        parts = variant.split("/")
        for part in parts:
            if part in ("", "."):
                continue
            if part == "..":
                if segments:
                    segments.pop()
                continue
            segments.append(part)
        trailing = parts[-1] in ("", ".", "..") and bool(segments)
        normal = "/" + "/".join(segments) + ("/" if trailing else "")
        if normal not in readings:
            readings.append(normal)
    return tuple(readings)


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
            token,
            printable(path, 2048),
            action,
            status,
            printable(ua),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        _log.info(
            "AI crawler %s %s %s -> %d", token, action.value, decision.path, status,
            extra={"tdmguard_decision": decision.to_json()},
        )  # fmt: skip
        if self.on_decision is not None:
            self.on_decision(decision)

    def _blocking_crawler(self, user_agent: str) -> tuple[AICrawler | None, list[AICrawler]]:
        """The strictest reading of a ``User-Agent``: the first crawler it names that the
        reservation covers and the policy blocks (None if none), and the covered ones the
        policy lets through."""
        allowed: list[AICrawler] = []
        for crawler in crawlers_in_user_agent(user_agent):
            if not crawler.reserved_by(self.declaration.reserved_uses):
                continue
            if self.policy.action_for(crawler.token) is CrawlerAction.BLOCK:
                return crawler, allowed
            allowed.append(crawler)
        return None, allowed

    def _merge_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The app's headers plus ours: a header the app did not set is added; the app's
        ``X-Robots-Tag`` and ``Link`` are kept and ours added beside them unless the app's
        already carry the same directives / link target; any other header the app set wins."""
        present: dict[bytes, list[bytes]] = {}
        for name, value in headers:
            present.setdefault(name.lower(), []).append(value)
        added: list[tuple[bytes, bytes]] = []
        for name, value in self._headers:
            have = present.get(name)
            if have is None:
                added.append((name, value))
            elif name == b"x-robots-tag":
                theirs = {d.strip().lower() for v in have for d in v.split(b",")}
                missing = [d for d in value.split(b",") if d.strip().lower() not in theirs]
                if missing:
                    added.append((name, b",".join(missing).strip()))
            elif name == b"link":
                target = value.split(b">", 1)[0] + b">"
                if not any(target in v for v in have):
                    added.append((name, value))
        return [*headers, *added]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "/")
        method: str = scope.get("method", "GET")
        readings = path_readings(path)
        served = self._files.get(path)
        if served is not None and method in {"GET", "HEAD"}:
            await self._respond(send, 200, served[0], served[1], head=method == "HEAD", extra=[])
            return
        prefixes = self.declaration.reserved_paths
        reserved = any(_path_reserved(p, prefixes) for p in readings)
        user_agent = ""
        for name, value in scope.get("headers", []):
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
                break
        if reserved and user_agent:
            blocker, allowed = self._blocking_crawler(user_agent)
            if blocker is not None:
                decl = self.declaration
                body = (
                    f"403 Forbidden: {blocker.token} is an AI crawler and {decl.holder}"
                    f" reserves this content against text and data mining and AI training"
                    f" (Art. 4(3) Directive (EU) 2019/790). Licensing: {decl.licensing_url}"
                    f" ({decl.contact_email}). Declaration: {decl.page_url}\n"
                ).encode()
                self._decide(blocker.token, path, CrawlerAction.BLOCK, 403, user_agent)
                await self._respond(
                    send,
                    403,
                    body,
                    "text/plain; charset=utf-8",
                    head=method == "HEAD",
                    extra=self._headers,
                )
                return
            for crawler in allowed:
                self._decide(crawler.token, path, CrawlerAction.ALLOW, 0, user_agent)
        if not reserved:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers", []))
                message = {**message, "headers": self._merge_headers(headers)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
