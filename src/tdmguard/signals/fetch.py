"""The compliant fetcher: the only network code of ``signals`` (DESIGN.md).

- One fetch per origin resource: results are cached (robots.txt for 24 h, RFC 9309 section
  2.4) and concurrent requests for the same URL share one in-flight fetch.
- RFC 9309 section 2.3.1 failure rules are read by ``Resource.outcome``: 2xx success, 4xx
  unavailable (no restriction), 5xx / network error / timeout unreachable (complete
  disallow for robots.txt). Redirects are followed up to 5 hops (section 2.3.1.2).
- robots.txt and pages are capped at 500 KiB (RFC 9309 section 2.5, for robots.txt only);
  tdmrep.json, ai.txt and RSL licences have their own, larger caps (a valid 714 KB
  tdmrep.json must not be dropped); a cut body is marked ``truncated`` and its readers parse
  what was read and say so. Media bodies are not read at all, only their headers.
- Addresses are resolved once and the connection pinned to the resolved address (the Host
  header and TLS server name keep the name), so DNS cannot change between the check and the
  connection. A fetch that starts at a public address (the URL checked, or the page whose
  licence is fetched) never goes on to a non-public one (loopback, private, link-local such as
  169.254.169.254, unique-local fc00::/7, ...) through a redirect or a licence link, unless
  ``allow_private_addresses``; the refusal is the resource's error, so it shows as evidence.
  A URL that itself is non-public (an intranet, a test server on 127.0.0.1) is the
  operator's choice and may stay there.
- Bounded concurrency overall and per origin; connect/read timeouts plus a deadline per
  resource, so a server that drips bytes cannot hold a slot.
- Its own product token in ``User-Agent``, and it obeys robots.txt for its own fetches.

Tests inject an ``httpx.AsyncClient`` (a mock transport or a server on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from tdmguard import __version__
from tdmguard.errors import MissingExtraError
from tdmguard.signals.resource import Resource, RetrievalOutcome
from tdmguard.signals.robots import (
    MAX_ROBOTS_BYTES,
    RobotsTxt,
    encode_path,
    parse_robots,
    url_path,
)

try:
    import httpx
except ImportError:  # pragma: no cover - the web extra is part of the default install
    httpx = None  # type: ignore[assignment]

__all__ = [
    "FetchCache",
    "FetchSettings",
    "Resolver",
    "SignalFetcher",
    "address_class",
    "origin_of",
]

# host, port -> IP address strings (the fetcher's default asks the system resolver once).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

PRODUCT_TOKEN = "tdmguard"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits of the fetcher. Times in seconds, sizes in bytes."""

    user_agent: str = f"Mozilla/5.0 (compatible; {PRODUCT_TOKEN}/{__version__}; opt-out checker)"
    product_token: str = PRODUCT_TOKEN
    max_concurrency: int = 64
    per_origin: int = 6
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    deadline_s: float = 20.0  # whole resource, all redirects included
    max_redirects: int = 5
    max_body_bytes: int = MAX_ROBOTS_BYTES  # robots.txt and pages (RFC 9309 section 2.5)
    max_tdmrep_bytes: int = 8 * 1024 * 1024  # /.well-known/tdmrep.json
    max_ai_txt_bytes: int = 2 * 1024 * 1024  # /ai.txt
    max_licence_bytes: int = 4 * 1024 * 1024  # RSL licence documents
    cache_ttl_s: float = 24 * 3600.0  # RFC 9309 section 2.4
    obey_robots: bool = True
    # Fetches that start at a public address may not go on to non-public ones (redirects,
    # licence links) unless this is set (``tdmguard check --allow-private-addresses``).
    allow_private_addresses: bool = False
    max_licences_per_origin: int = 32  # licence documents fetched per checked origin
    url_deadline_s: float = 60.0  # one checked URL, every fetch it needs included


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def address_class(address: str) -> str:
    """"public", or why ``address`` is not: "loopback", "private", "link-local", ...
    An IPv4-mapped IPv6 address is judged as the IPv4 address it carries."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "invalid"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    return "public" if ip.is_global else "non-public"


async def _system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _RefusedError(Exception):
    """A fetch the address rules do not allow; the message says why."""


@dataclass(frozen=True, slots=True)
class _Pinned:
    url: str  # the URL with its host replaced by the address connected to
    host_header: str  # "" when the URL named an address already
    sni: str
    address: str
    public: bool


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FetchCache:
    """Fetched resources by URL with their expiry (monotonic seconds). Shared by the
    fetchers of one process (a scan worker), so a site's files are read once a day."""

    def __init__(
        self, ttl_s: float = 24 * 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: dict[str, tuple[float, Resource]] = {}

    def get(self, url: str) -> Resource | None:
        hit = self._items.get(url)
        if hit is None:
            return None
        expires, res = hit
        if self._clock() >= expires:
            del self._items[url]
            return None
        return res

    def put(self, url: str, res: Resource) -> None:
        self._items[url] = (self._clock() + self.ttl_s, res)

    def __len__(self) -> int:
        return len(self._items)


class SignalFetcher:
    """Async fetcher of signal resources. Use as ``async with SignalFetcher(...) as f``."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: FetchCache | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        """``resolver``: host name to addresses (tests simulate public hosts with it). With
        an injected ``client`` or ``transport`` and no resolver, the transport decides where
        requests go and addresses are not checked."""
        if httpx is None:  # pragma: no cover
            raise MissingExtraError("httpx", "web")
        self.settings = s = settings or FetchSettings()
        self._resolver: Resolver | None = resolver
        if resolver is None and client is None and transport is None:
            self._resolver = _system_resolver
        self._resolved: dict[tuple[str, int], tuple[str, ...]] = {}
        # One small connection pool per origin: a shared pool churns (URLs of many origins
        # interleave, idle connections get evicted) and scans every connection per request.
        self._shared_client = client
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._ssl = ssl.create_default_context()  # built once: loading CA files is slow
        self.cache = cache if cache is not None else FetchCache(s.cache_ttl_s)
        self._inflight: dict[str, asyncio.Future[Resource]] = {}
        self._global = asyncio.Semaphore(s.max_concurrency)
        self._per_origin: dict[str, asyncio.Semaphore] = {}
        self._parsed: dict[str, RobotsTxt] = {}
        self.requests = 0  # HTTP requests sent (each redirect hop counts)

    async def __aenter__(self) -> SignalFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            await c.aclose()

    # -- public ------------------------------------------------------------------------

    async def robots(self, origin: str, *, public: bool = False) -> Resource:
        """``/robots.txt`` of ``origin`` (always allowed to us, RFC 9309 section 2.2.2)."""
        cap = self.settings.max_body_bytes
        return await self._once(
            origin + "/robots.txt", lambda u: self._fetch(u, read_body=True, cap=cap, public=public)
        )

    async def well_known(self, origin: str, path: str) -> Resource:
        """A site file (``/.well-known/tdmrep.json``, ``/ai.txt``): robots.txt permitting,
        each with its own size cap."""
        s = self.settings
        cap = s.max_tdmrep_bytes if path.endswith("tdmrep.json") else s.max_ai_txt_bytes
        return await self.resource(origin + path, read_body=True, cap=cap)

    async def resource(
        self,
        url: str,
        *,
        read_body: bool | None = None,
        cap: int | None = None,
        found_on: str | None = None,
    ) -> Resource:
        """Any URL, once. ``read_body`` None: read HTML bodies only (a page's meta tags);
        True: read up to ``cap`` (default ``max_body_bytes``) whatever the type.
        ``found_on``: the URL whose response named this one (a licence link); when that
        URL is public, this one must be too (unless private addresses are allowed)."""
        public = False
        if found_on is not None:
            try:
                public = await self.is_public(found_on)
                if public:
                    await self._pin(url, public=True)
            except _RefusedError as exc:
                return Resource.make(url, None, fetched_at=_now_iso(), error=str(exc))
        size_cap = cap if cap is not None else self.settings.max_body_bytes
        return await self._once(url, lambda u: self._polite_fetch(u, read_body, size_cap, public))

    async def is_public(self, url: str) -> bool:
        """True when ``url``'s host resolves to public addresses only (False when addresses
        are not checked, or the name does not resolve)."""
        if self._resolver is None:
            return False
        try:
            pinned = await self._pin(url, public=False)
        except _RefusedError:
            return False
        return pinned.public

    # -- internals ---------------------------------------------------------------------

    async def _once(self, url: str, fetch: Callable[[str], Awaitable[Resource]]) -> Resource:
        cached = self.cache.get(url)
        if cached is not None:
            return cached
        pending = self._inflight.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Resource] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            res = await fetch(url)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(url, None)
        self.cache.put(url, res)
        future.set_result(res)
        return res

    async def _polite_fetch(
        self, url: str, read_body: bool | None, cap: int, public: bool
    ) -> Resource:
        origin = origin_of(url)
        if origin is None:
            return Resource.make(url, None, error="not an http(s) URL", fetched_at=_now_iso())
        if self.settings.obey_robots:
            robots = await self.robots(origin, public=public)
            reason = self._own_robots_block(robots, url)
            if reason:
                return Resource.make(url, None, fetched_at=_now_iso(), skipped_reason=reason)
        return await self._fetch(url, read_body=read_body, cap=cap, public=public)

    async def _addresses(self, host: str, port: int) -> tuple[str, ...]:
        key = (host, port)
        hit = self._resolved.get(key)
        if hit is None:
            assert self._resolver is not None
            try:
                async with asyncio.timeout(self.settings.connect_timeout_s):
                    found = tuple(await self._resolver(host, port))
            except (OSError, TimeoutError, UnicodeError) as exc:
                why = f"cannot resolve {host}: {type(exc).__name__}: {exc}"[:200]
                raise _RefusedError(why) from exc
            hit = self._resolved[key] = found
        return hit

    async def _pin(self, url: str, *, public: bool) -> _Pinned:
        """Resolve ``url``'s host once and choose the address to connect to. ``public``:
        the fetch started at a public address, so a non-public one is refused."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise _RefusedError(f"invalid URL {url[:200]!r}: {exc}") from exc
        try:
            literal = str(ipaddress.ip_address(host.split("%", 1)[0]))
        except ValueError:
            literal = ""
        addresses = (literal,) if literal else await self._addresses(host, port)
        if not addresses:
            raise _RefusedError(f"{host} has no address")
        kinds = [(a, address_class(a)) for a in addresses]
        usable = [a for a, kind in kinds if kind == "public"]
        if public and not self.settings.allow_private_addresses and len(usable) != len(kinds):
            bad, kind = next((a, k) for a, k in kinds if k != "public")
            raise _RefusedError(
                f"refused: {url[:200]} resolves to {kind} address {bad}, reached from a"
                " public address (server-side request forgery guard; the operator may"
                " allow it with --allow-private-addresses)"
            )
        address = usable[0] if usable else addresses[0]
        is_public = bool(usable) and len(usable) == len(kinds)
        if literal:
            return _Pinned(url, "", host, address, is_public)
        shown = f"[{address}]" if ":" in address else address
        netloc = shown + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = host + (f":{parts.port}" if parts.port else "")
        return _Pinned(pinned, host_header, host, address, is_public)

    def _own_robots_block(self, robots: Resource, url: str) -> str:
        """Why our own agent may not fetch ``url`` ("" when it may)."""
        outcome = robots.outcome
        token = self.settings.product_token
        if outcome is RetrievalOutcome.UNREACHABLE:
            return f"robots.txt unreachable ({robots.describe()}): complete disallow for {token}"
        if outcome is not RetrievalOutcome.SUCCESS or robots.looks_like_html():
            return ""
        parsed = self._parsed.get(robots.digest)
        if parsed is None:  # parsed once per file, not once per URL
            parsed = self._parsed[robots.digest] = parse_robots(robots.body)
        match = parsed.match(url_path(encode_path(url)), token)
        if not match.allowed and match.rule is not None:
            return f"robots.txt disallows {token} ({match.rule.text}, line {match.rule.line})"
        return ""

    def _client_for(self, url: str) -> httpx.AsyncClient:
        if self._shared_client is not None:
            return self._shared_client
        origin = origin_of(url) or ""
        client = self._clients.get(origin)
        if client is None:
            s = self.settings
            client = self._clients[origin] = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(s.read_timeout_s, connect=s.connect_timeout_s),
                limits=httpx.Limits(
                    max_connections=s.per_origin, max_keepalive_connections=s.per_origin
                ),
                follow_redirects=False,
                trust_env=False,
                verify=self._ssl,
            )
        return client

    def _origin_gate(self, origin: str) -> asyncio.Semaphore:
        gate = self._per_origin.get(origin)
        if gate is None:
            gate = self._per_origin[origin] = asyncio.Semaphore(self.settings.per_origin)
        return gate

    async def _fetch(
        self, url: str, *, read_body: bool | None, cap: int | None = None, public: bool = False
    ) -> Resource:
        fetched_at = _now_iso()
        origin = origin_of(url) or url
        size_cap = cap if cap is not None else self.settings.max_body_bytes
        try:
            async with self._origin_gate(origin), self._global:
                async with asyncio.timeout(self.settings.deadline_s):
                    return await self._follow(url, read_body, fetched_at, size_cap, public)
        except TimeoutError:
            return Resource.make(
                url,
                None,
                fetched_at=fetched_at,
                error=f"deadline of {self.settings.deadline_s:g} s passed",
            )

    async def _follow(
        self, url: str, read_body: bool | None, fetched_at: str, cap: int, public: bool
    ) -> Resource:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target, headers, extensions = current, {}, {}
            if self._resolver is not None and current.startswith(("http://", "https://")):
                try:
                    pinned = await self._pin(current, public=public)
                except _RefusedError as exc:
                    return Resource.make(
                        url, None, fetched_at=fetched_at, final_url=current, error=str(exc)
                    )
                public = public or pinned.public  # once public, every later hop must be
                target = pinned.url
                if pinned.host_header:
                    headers["Host"] = pinned.host_header
                    if current.startswith("https://"):
                        extensions["sni_hostname"] = pinned.sni
            try:
                client = self._client_for(current)
                request = client.build_request(
                    "GET",
                    target,
                    headers={"User-Agent": self.settings.user_agent, "Accept": "*/*", **headers},
                    extensions=extensions,
                )
            except (httpx.InvalidURL, ValueError) as exc:
                return Resource.make(url, None, fetched_at=fetched_at, error=f"invalid URL: {exc}")
            self.requests += 1
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                return Resource.make(
                    url,
                    None,
                    fetched_at=fetched_at,
                    final_url=current,
                    error=f"{type(exc).__name__}: {exc}"[:200],
                )
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    await _drain_if_small(response)
                    current = urljoin(current, response.headers["location"])
                    continue
                return await self._read(url, current, response, read_body, fetched_at, cap)
            finally:
                await response.aclose()
        # RFC 9309 section 2.3.1.2: more than 5 redirects, read as unavailable.
        return Resource.make(
            url,
            310,
            fetched_at=fetched_at,
            final_url=current,
            error=f"more than {self.settings.max_redirects} redirects",
        )

    async def _read(
        self,
        url: str,
        final: str,
        response: httpx.Response,
        read_body: bool | None,
        fetched_at: str,
        cap: int,
    ) -> Resource:
        headers = tuple(response.headers.multi_items())
        ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        want = read_body if read_body is not None else ctype in _HTML_TYPES
        if not want or response.status_code >= 400:
            await _drain_if_small(response)
            block = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8", "replace")
            return Resource.make(
                url,
                response.status_code,
                headers,
                b"",
                fetched_at=fetched_at,
                final_url=final,
                digest=hashlib.sha256(block).hexdigest(),
            )
        chunks: list[bytes] = []
        size = 0
        truncated = False
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= cap:
                    truncated = size > cap
                    break
        except httpx.HTTPError as exc:
            return Resource.make(
                url,
                None,
                fetched_at=fetched_at,
                final_url=final,
                error=f"{type(exc).__name__} while reading the body: {exc}"[:200],
            )
        body = b"".join(chunks)[:cap]
        return Resource.make(
            url,
            response.status_code,
            headers,
            body,
            fetched_at=fetched_at,
            final_url=final,
            truncated=truncated,
        )


_DRAIN_LIMIT = 64 * 1024


async def _drain_if_small(response: httpx.Response) -> None:
    """Read and drop a small unread body so the connection can be reused (closing a
    response mid-body closes its connection); a large or unsized body is not worth it."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= _DRAIN_LIMIT:
        try:
            async for _ in response.aiter_raw():
                pass
        except httpx.HTTPError:
            return
