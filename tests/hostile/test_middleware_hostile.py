"""Issue #18 (middleware) and #14 (Publishing): hostile requests against the reservation
middleware behind a real uvicorn server on 127.0.0.1, sent raw with ``http.client`` so
the paths reach the server exactly as written (httpx would normalise them)."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tdmguard.declare import ai_crawlers
from tdmguard.server.middleware import (
    CrawlerDecision,
    CrawlerPolicy,
    ReservationMiddleware,
    path_readings,
    printable,
)
from tdmguard.vocab import Use
from tests.conftest import serving
from tests.declare.examples import example_declaration

uvicorn = pytest.importorskip("uvicorn")
starlette = pytest.importorskip("starlette")

from starlette.applications import Starlette  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

GPTBOT = "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"
SEARCHBOT = "Mozilla/5.0 (compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot)"


async def anything(request: object) -> Response:
    # An app that serves any path (a catch-all route, as static-file apps do) and sets its
    # own Link and X-Robots-Tag headers.
    return Response(
        b"content",
        media_type="audio/mpeg",
        headers={
            "Link": '<https://label.example/about>; rel="author"',
            "X-Robots-Tag": "noarchive",
        },
    )


def _serve(app: Starlette) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _app(uses: frozenset[Use], decisions: list[CrawlerDecision]) -> Starlette:
    app = Starlette(routes=[Route("/{rest:path}", anything)])
    app.add_middleware(
        ReservationMiddleware,
        declaration=example_declaration(uses, paths=("/music/",)),
        policy=CrawlerPolicy(),
        on_decision=decisions.append,
    )
    return app


@pytest.fixture(scope="module")
def tdm_server() -> Iterator[tuple[str, list[CrawlerDecision]]]:
    decisions: list[CrawlerDecision] = []
    for base in _serve(_app(frozenset({Use.TDM}), decisions)):
        yield base, decisions


@pytest.fixture(scope="module")
def train_server() -> Iterator[str]:
    yield from _serve(_app(frozenset({Use.AI_TRAIN}), []))


def _get(base: str, path: str, ua: str) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
    conn.putheader("User-Agent", ua)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.parametrize(
    "path",
    ["/music/x", "//music/x", "/x/../music/x", "/./music/x", "/music//x", "/a/b/../../music/x"],
)
def test_every_reading_of_a_reserved_path_is_refused(
    tdm_server: tuple[str, list[CrawlerDecision]], path: str
) -> None:
    base, _ = tdm_server
    response = _get(base, path, GPTBOT)
    assert response.status == 403, path
    assert response.getheader("tdm-reservation") == "1"


def test_reservation_headers_on_unusual_paths_for_everyone(
    tdm_server: tuple[str, list[CrawlerDecision]],
) -> None:
    base, _ = tdm_server
    response = _get(base, "//music/x", "Mozilla/5.0 Firefox/128.0")
    assert response.status == 200
    assert response.getheader("tdm-reservation") == "1"


def test_app_headers_are_merged_not_lost(tdm_server: tuple[str, list[CrawlerDecision]]) -> None:
    base, _ = tdm_server
    response = _get(base, "/music/x", "Mozilla/5.0 Firefox/128.0")
    links = response.headers.get_all("Link") or []
    assert any('rel="author"' in v for v in links)
    assert any('rel="license"' in v for v in links)
    robots_tags = response.headers.get_all("X-Robots-Tag") or []
    assert "noarchive" in robots_tags and "noai, noimageai" in robots_tags


def test_user_agent_naming_two_crawlers_is_judged_by_the_strictest(train_server: str) -> None:
    assert _get(train_server, "/music/x", SEARCHBOT).status == 200
    both = "Mozilla/5.0 (compatible; OAI-SearchBot/1.0; GPTBot/1.2)"
    assert _get(train_server, "/music/x", both).status == 403


def test_control_characters_never_reach_log_lines(
    tdm_server: tuple[str, list[CrawlerDecision]], caplog: pytest.LogCaptureFixture
) -> None:
    base, decisions = tdm_server
    with caplog.at_level(logging.INFO, logger="tdmguard.server.middleware"):
        # %0a / %1b are decoded by the server into scope["path"]
        response = _get(base, "/music/x%0aFAKE%20LINE%1b[31m", GPTBOT)
    assert response.status == 403
    messages = [rec.getMessage() for rec in caplog.records]
    assert messages and all("\n" not in m and "\x1b" not in m for m in messages)
    assert any("\\x0aFAKE LINE\\x1b" in m for m in messages)
    assert "\n" not in decisions[-1].path


def test_path_readings() -> None:
    assert path_readings("/x/../music/x") == ("/x/../music/x", "/music/x")
    assert path_readings("//music/") == ("//music/", "/music/")
    assert path_readings("/../../") == ("/../../", "/")
    assert "/music/x" in path_readings("/music\\x")
    assert printable("a\r\nb\x1b\x9f") == "a\\x0d\\x0ab\\x1b\\x9f"


# -- issue #14, Publishing: each reservation blocks exactly its crawlers ------------------


@pytest.mark.parametrize("use", list(Use), ids=lambda u: u.value)
def test_each_reservable_use_blocks_exactly_its_crawlers(use: Use) -> None:
    """For every reservable use, in-process through the ASGI interface (one server per use
    would cost seconds): a crawler gets 403 exactly when its category is reserved."""
    import asyncio

    decl = example_declaration(frozenset({use}), paths=("/music/",))

    async def ok_app(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    middleware = ReservationMiddleware(ok_app, declaration=decl)

    async def status_for(ua: str) -> int:
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "method": "GET", "path": "/music/a.mp3",
            "headers": [(b"user-agent", ua.encode("latin-1", "replace"))],
        }  # fmt: skip
        await middleware(scope, receive, send)
        return int(sent[0]["status"])  # type: ignore[call-overload]

    async def run_all() -> None:
        for crawler in ai_crawlers():
            ua = f"Mozilla/5.0 (compatible; {crawler.token}; +https://x.example)"
            status = await status_for(ua)
            expected = 403 if crawler.reserved_by({use}) else 200
            assert status == expected, (use, crawler.token, crawler.purpose)

    asyncio.run(run_all())


def test_ai_train_reservation_keeps_search_crawlers() -> None:
    by_name = {c.token: c for c in ai_crawlers()}
    for name in ("OAI-SearchBot", "Applebot", "Bravebot", "PerplexityBot", "Claude-SearchBot"):
        assert not by_name[name].reserved_by({Use.AI_TRAIN}), name
        assert by_name[name].reserved_by({Use.SEARCH}), name
        assert by_name[name].reserved_by({Use.TDM}), name
    for name in ("GPTBot", "ClaudeBot", "CCBot", "Google-Extended", "Applebot-Extended"):
        assert by_name[name].reserved_by({Use.AI_TRAIN}), name
        assert not by_name[name].reserved_by({Use.SEARCH}), name


@pytest.mark.parametrize("use", list(Use), ids=lambda u: u.value)
def test_robots_txt_of_each_reservable_use_disallows_exactly_its_crawlers(use: Use) -> None:
    from tdmguard.crawlers import AgentPurpose, product_token
    from tdmguard.declare.robots_files import render_robots_txt
    from tdmguard.signals.robots import parse_robots

    decl = example_declaration(frozenset({use}), paths=("/music/",))
    parsed = parse_robots(render_robots_txt(decl))
    url = "https://label.example/music/a.mp3"
    for crawler in ai_crawlers():
        blocked = crawler.reserved_by({use})
        allowed = parsed.allows(url, product_token(crawler.token))
        if blocked:
            assert not allowed, (use, crawler.token)
        elif crawler.purpose is AgentPurpose.SEARCH:
            assert allowed, (use, crawler.token)  # search visibility is never given up
    assert parsed.allows(url, "Googlebot")
