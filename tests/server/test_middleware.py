"""The reservation middleware behind a real uvicorn server on 127.0.0.1, queried with httpx."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from tdmguard.declare import reservation_headers
from tdmguard.server.middleware import (
    CrawlerAction,
    CrawlerDecision,
    CrawlerPolicy,
    ReservationMiddleware,
)
from tests.conftest import serving
from tests.declare.examples import example_declaration

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
starlette = pytest.importorskip("starlette")

from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

DECL = example_declaration(paths=("/music/", "/art/"))
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def track(request: object) -> Response:
    return Response(
        b"ID3fake-audio", media_type="audio/mpeg", headers={"X-Robots-Tag": "noarchive"}
    )


async def news(request: object) -> Response:
    return PlainTextResponse("news")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[CrawlerDecision]]]:
    decisions: list[CrawlerDecision] = []
    app = Starlette(routes=[Route("/music/track.mp3", track), Route("/news", news)])
    app.add_middleware(
        ReservationMiddleware,
        declaration=DECL,
        policy=CrawlerPolicy(allow_tokens=frozenset({"claudebot"})),
        on_decision=decisions.append,
    )
    with serving(app) as url:
        yield url, decisions


def test_reserved_path_gets_every_header(server: tuple[str, list[CrawlerDecision]]) -> None:
    base, _ = server
    r = httpx.get(f"{base}/music/track.mp3", headers={"User-Agent": BROWSER})
    assert r.status_code == 200 and r.content == b"ID3fake-audio"
    for name, value in reservation_headers(DECL):
        if name != "X-Robots-Tag":
            assert r.headers[name] == value
    # The app's own X-Robots-Tag is kept and ours is merged beside it (issue #18).
    assert r.headers.get_list("X-Robots-Tag") == ["noarchive", "noai, noimageai"]


def test_other_paths_are_untouched(server: tuple[str, list[CrawlerDecision]]) -> None:
    base, _ = server
    r = httpx.get(f"{base}/news", headers={"User-Agent": GPTBOT})
    assert r.status_code == 200 and r.text == "news"
    assert "tdm-reservation" not in r.headers


def test_ai_crawler_is_refused_on_reserved_paths(server: tuple[str, list[CrawlerDecision]]) -> None:
    base, decisions = server
    r = httpx.get(f"{base}/music/track.mp3", headers={"User-Agent": GPTBOT})
    assert r.status_code == 403
    assert "GPTBot" in r.text and "ai-licensing@label.example" in r.text
    assert r.headers["tdm-reservation"] == "1"
    decision = next(d for d in reversed(decisions) if d.token == "GPTBot")
    assert decision.action is CrawlerAction.BLOCK and decision.status == 403
    assert decision.path == "/music/track.mp3"


def test_head_request_is_refused_without_a_body(server: tuple[str, list[CrawlerDecision]]) -> None:
    base, _ = server
    r = httpx.head(
        f"{base}/art/cover.jpg", headers={"User-Agent": "CCBot/2.0 (https://commoncrawl.org/faq/)"}
    )
    assert r.status_code == 403 and r.content == b""


def test_licensed_crawler_is_let_through_and_logged(
    server: tuple[str, list[CrawlerDecision]], caplog: pytest.LogCaptureFixture
) -> None:
    base, decisions = server
    with caplog.at_level(logging.INFO, logger="tdmguard.server.middleware"):
        r = httpx.get(
            f"{base}/music/track.mp3",
            headers={"User-Agent": "Mozilla/5.0 (compatible; ClaudeBot/1.0)"},
        )
    assert r.status_code == 200 and r.headers["tdm-reservation"] == "1"
    assert decisions[-1].token == "ClaudeBot" and decisions[-1].action is CrawlerAction.ALLOW
    assert any("ClaudeBot allow /music/track.mp3" in rec.getMessage() for rec in caplog.records)


def test_lookalike_user_agents_are_not_crawlers(server: tuple[str, list[CrawlerDecision]]) -> None:
    base, _ = server
    for ua in ("NotGPTBotX/1.0", "GPTBotanical/2", BROWSER):
        assert (
            httpx.get(f"{base}/music/track.mp3", headers={"User-Agent": ua}).status_code == 200
        ), ua


def test_well_known_files_are_served_even_to_crawlers(
    server: tuple[str, list[CrawlerDecision]],
) -> None:
    base, _ = server
    robots = httpx.get(f"{base}/robots.txt", headers={"User-Agent": GPTBOT})
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    assert "User-agent: GPTBot" in robots.text and "Disallow: /music/" in robots.text
    tdmrep = httpx.get(f"{base}/.well-known/tdmrep.json")
    assert tdmrep.headers["content-type"] == "application/json"
    assert json.loads(tdmrep.text)[0]["tdm-reservation"] == 1
    assert "Disallow: *.mp3" in httpx.get(f"{base}/ai.txt").text
    assert httpx.get(f"{base}{DECL.licence_path}").headers["content-type"] == "application/rsl+xml"
    assert "Article 4(3)" in httpx.get(f"{base}{DECL.page_path}").text
    assert httpx.post(f"{base}/robots.txt").status_code != 200  # only GET and HEAD are served
