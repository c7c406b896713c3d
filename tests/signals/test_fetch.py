"""The fetcher against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from tdmguard.signals.fetch import FetchCache, FetchSettings, SignalFetcher, origin_of
from tdmguard.signals.resource import RetrievalOutcome

from .local_sites import HTML, TEXT, Route, Site, serve


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _robots(site: Site, settings: FetchSettings | None = None):  # type: ignore[no-untyped-def]
    async with SignalFetcher(settings) as f:
        return await f.robots(site.base)


def test_origin_of() -> None:
    assert origin_of("https://A.example:443/x?y") == "https://a.example"
    assert origin_of("http://a.example:8080/") == "http://a.example:8080"
    assert origin_of("ftp://a.example/") is None
    assert origin_of("http://[::1]:99/") == "http://[::1]:99"
    assert origin_of("not a url") is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, RetrievalOutcome.SUCCESS),
        (404, RetrievalOutcome.UNAVAILABLE),
        (403, RetrievalOutcome.UNAVAILABLE),
        (503, RetrievalOutcome.UNREACHABLE),
    ],
)
def test_robots_status_outcomes(status: int, outcome: RetrievalOutcome) -> None:
    with serve(Site({"/robots.txt": Route(status, b"User-agent: *\nDisallow: /", TEXT)})) as [s]:
        res = run(_robots(s))
    assert res.status == status
    assert res.outcome is outcome


def test_connection_refused_is_unreachable() -> None:
    with serve(Site({})) as [s]:
        base = s.base
    res = run(_robots(Site({}, base=base)))  # the server is gone now
    assert res.status is None
    assert res.outcome is RetrievalOutcome.UNREACHABLE


def test_redirects_are_followed_within_limits() -> None:
    routes = {
        "/robots.txt": Route(301, headers={"Location": "/r1"}),
        "/r1": Route(302, headers={"Location": "/r2"}),
        "/r2": Route(200, b"User-agent: *\nDisallow: /x", TEXT),
    }
    with serve(Site(routes)) as [s]:
        res = run(_robots(s))
    assert (res.status, res.final_url.endswith("/r2")) == (200, True)
    assert res.body.startswith(b"User-agent")


def test_too_many_redirects_is_unavailable() -> None:
    routes = {f"/r{i}": Route(302, headers={"Location": f"/r{i + 1}"}) for i in range(10)}
    routes["/robots.txt"] = Route(302, headers={"Location": "/r0"})
    with serve(Site(routes)) as [s]:
        res = run(_robots(s))
        hops = len(s.log)
    assert res.outcome is RetrievalOutcome.UNAVAILABLE
    assert "redirects" in res.error
    assert hops == 6  # the first request and 5 redirects (RFC 9309 section 2.3.1.2)


def test_huge_body_is_capped_at_500_kib() -> None:
    body = b"User-agent: *\n" + b"Disallow: /x\n" * 200_000  # about 2.6 MB
    with serve(Site({"/robots.txt": Route(200, body, TEXT)})) as [s]:
        res = run(_robots(s))
    assert len(res.body) == 500 * 1024
    assert res.truncated


def test_slow_server_hits_the_deadline() -> None:
    with serve(Site({"/robots.txt": Route(200, b"x" * 8192, TEXT, drip_s=0.3)})) as [s]:
        res = run(_robots(s, FetchSettings(deadline_s=0.5)))
    assert res.outcome is RetrievalOutcome.UNREACHABLE
    assert "deadline" in res.error


def test_slow_headers_hit_the_read_timeout() -> None:
    with serve(Site({"/robots.txt": Route(200, b"", TEXT, delay_s=1.0)})) as [s]:
        res = run(_robots(s, FetchSettings(read_timeout_s=0.2, deadline_s=5)))
    assert res.status is None
    assert "Timeout" in res.error


def test_own_product_token_in_user_agent() -> None:
    with serve(Site({"/robots.txt": Route(200, b"", TEXT)})) as [s]:
        run(_robots(s))
        ua = s.log[0][1]
    assert "tdmguard/" in ua


def test_obeys_robots_for_its_own_fetches() -> None:
    robots = b"User-agent: tdmguard\nDisallow: /private/\n"
    with serve(
        Site({"/robots.txt": Route(200, robots, TEXT), "/private/a": Route(200, b"x", HTML)})
    ) as [s]:

        async def go():  # type: ignore[no-untyped-def]
            async with SignalFetcher() as f:
                return await f.resource(s.base + "/private/a")

        res = run(go())
        seen = [p for p, _ in s.log]
    assert res.outcome is RetrievalOutcome.NOT_FETCHED
    assert "/private/a" not in seen


def test_unreachable_robots_means_we_fetch_nothing_else() -> None:
    with serve(Site({"/robots.txt": Route(500, b"")})) as [s]:

        async def go():  # type: ignore[no-untyped-def]
            async with SignalFetcher() as f:
                return await f.resource(s.base + "/page")

        res = run(go())
        seen = [p for p, _ in s.log]
    assert res.outcome is RetrievalOutcome.NOT_FETCHED
    assert seen == ["/robots.txt"]


def test_one_fetch_per_resource_and_bounded_concurrency_per_origin() -> None:
    routes = {"/robots.txt": Route(200, b"", TEXT, delay_s=0.05)}
    routes |= {f"/p{i}": Route(200, b"<html></html>", HTML, delay_s=0.02) for i in range(20)}
    with serve(Site(routes)) as [s]:

        async def go():  # type: ignore[no-untyped-def]
            async with SignalFetcher(FetchSettings(per_origin=2)) as f:
                urls = [s.base + f"/p{i % 20}" for i in range(60)]
                return await asyncio.gather(*(f.resource(u) for u in urls)), f.requests

        results, requests = run(go())
        assert s.requests_for("/robots.txt") == 1
        assert all(s.requests_for(f"/p{i}") == 1 for i in range(20))
        assert s.max_in_flight <= 2
    assert requests == 21
    assert all(r.status == 200 for r in results)


def test_media_bodies_are_not_read() -> None:
    routes = {
        "/robots.txt": Route(200, b"", TEXT),
        "/a.mp3": Route(
            200, b"\xff\xfb" * 50_000, {"Content-Type": "audio/mpeg", "X-Robots-Tag": "noai"}
        ),
    }
    with serve(Site(routes)) as [s]:

        async def go():  # type: ignore[no-untyped-def]
            async with SignalFetcher() as f:
                return await f.resource(s.base + "/a.mp3")

        res = run(go())
    assert res.body == b""
    assert ("X-Robots-Tag", "noai") in [(k.title(), v) for k, v in res.headers] or any(
        k.lower() == "x-robots-tag" for k, _ in res.headers
    )
    assert len(res.digest) == 64


def test_cache_expires_after_its_ttl() -> None:
    now = [0.0]
    cache = FetchCache(ttl_s=10, clock=lambda: now[0])
    with serve(Site({"/robots.txt": Route(200, b"", TEXT)})) as [s]:

        async def go():  # type: ignore[no-untyped-def]
            async with SignalFetcher(cache=cache) as f:
                await f.robots(s.base)
            async with SignalFetcher(cache=cache) as f:
                await f.robots(s.base)
            now[0] = 11.0
            async with SignalFetcher(cache=cache) as f:
                await f.robots(s.base)

        run(go())
        assert s.requests_for("/robots.txt") == 2


def test_invalid_url_is_a_resource_not_an_exception() -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with SignalFetcher() as f:
            return await f.resource("http://")

    res = run(go())
    assert res.outcome is RetrievalOutcome.UNREACHABLE
