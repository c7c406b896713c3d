"""Issue #18, the web fetcher: no crossing from public to private addresses, bounded
licence fetching, and generous limits for TDMRep, RSL and ai.txt with cut bodies read as
far as they go. Real servers on 127.0.0.1 (``tests/signals/local_sites.py``); a "public"
origin is simulated with an injected resolver and a mock transport answering for it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import httpx
import pytest

from tdmguard.signals.assess import MAX_LICENCES_PER_URL
from tdmguard.signals.check import CheckOptions, check_urls, check_urls_async
from tdmguard.signals.fetch import FetchSettings, SignalFetcher, address_class
from tdmguard.vocab import Stance, Use
from tests.signals.local_sites import HTML, JSON, TEXT, Route, Site, serve

PUBLIC_IP = "93.184.215.14"  # a global address; nothing connects to it (the mock answers)


def test_address_classes() -> None:
    assert address_class("93.184.215.14") == "public"
    assert address_class("2606:4700::1111") == "public"
    for address, kind in [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 inside
        ("0.0.0.0", "unspecified"),
    ]:
        assert address_class(address) == kind, address


class PublicSite:
    """A mock transport for a host the injected resolver calls public: every request is
    recorded; a request to any other address is recorded too and answered 200 (if the guard
    lets one through, the test sees it)."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []  # (address, path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.url.host, request.url.path))
        if request.url.host != PUBLIC_IP:
            return httpx.Response(200, text="internal secret")
        assert request.headers["host"].startswith("public.test")
        return self.routes.get(request.url.path, httpx.Response(404))

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        table = {"public.test": [PUBLIC_IP], "sneaky.test": [PUBLIC_IP, "10.0.0.5"]}
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]


def _run(site: PublicSite, urls: list[str], **settings: object) -> list[dict[str, object]]:
    async def go() -> list[dict[str, object]]:
        run = await check_urls_async(
            urls,
            options=CheckOptions(fetch=FetchSettings(**settings)),  # type: ignore[arg-type]
            transport=httpx.MockTransport(site.handle),
            resolver=site.resolve,
        )
        return [r.to_json() for r in run.results]

    return asyncio.run(go())


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/admin",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[fc00::1]/",
        "http://sneaky.test/",  # resolves to a public and a private address
    ],
)
def test_redirect_from_public_to_non_public_is_refused(target: str) -> None:
    site = PublicSite(
        {
            "/robots.txt": httpx.Response(404),
            "/page": httpx.Response(302, headers={"Location": target}),
        }
    )
    (result,) = _run(site, ["http://public.test/page"])
    assert all(host == PUBLIC_IP for host, _ in site.requests), site.requests
    raw = json.dumps(result)
    assert "refused" in raw and "server-side request forgery" in raw


def test_licence_link_into_private_addresses_is_refused_and_reads_unlicensed() -> None:
    site = PublicSite(
        {
            "/robots.txt": httpx.Response(
                200, text="User-agent: *\nLicense: http://169.254.169.254/lic.xml\n"
            ),
            "/page": httpx.Response(
                200,
                headers={
                    "Content-Type": "text/plain",
                    "Link": '<http://127.0.0.1:9/l.xml>; rel="license"; type="application/rsl+xml"',
                },
            ),
        }
    )
    (result,) = _run(site, ["http://public.test/page"])
    assert all(host == PUBLIC_IP for host, _ in site.requests), site.requests
    rsl = [e for e in result["evidence"] if e["source"] == "rsl"]  # type: ignore[union-attr]
    assert len(rsl) == 2 and all("refused" in str(e["raw"]) for e in rsl)
    assert result["stances"]["ai-train"] == "deny"  # type: ignore[index]


def test_operator_may_allow_private_addresses() -> None:
    site = PublicSite(
        {
            "/robots.txt": httpx.Response(404),
            "/page": httpx.Response(302, headers={"Location": "http://10.0.0.1/x"}),
        }
    )
    _run(site, ["http://public.test/page"], allow_private_addresses=True)
    assert ("10.0.0.1", "/x") in site.requests


def test_loopback_origin_may_stay_on_loopback() -> None:
    with serve(
        Site({"/a": Route(302, b"", {"Location": "/b"}), "/b": Route(200, b"ok", TEXT)})
    ) as (site,):

        async def go() -> int | None:
            async with SignalFetcher() as f:
                return (await f.resource(site.base + "/a", read_body=True)).status

        assert asyncio.run(go()) == 200
        assert site.requests_for("/b") == 1


def test_host_header_and_pinned_address() -> None:
    site = PublicSite({"/robots.txt": httpx.Response(200, text="User-agent: *\nAllow: /\n")})

    async def go() -> None:
        async with SignalFetcher(
            transport=httpx.MockTransport(site.handle), resolver=site.resolve
        ) as f:
            res = await f.robots("http://public.test")
            assert res.status == 200 and res.final_url == "http://public.test/robots.txt"

    asyncio.run(go())
    assert site.requests == [(PUBLIC_IP, "/robots.txt")]


# -- caps ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_five_thousand_license_lines_make_a_bounded_number_of_requests() -> None:
    lines = "".join(f"License: /lic/{i}.xml\n" for i in range(5000))
    with serve(Site({"/robots.txt": Route(200, f"User-agent: *\n{lines}".encode(), TEXT),
                     "/a": Route(200, b"x", TEXT)})) as (site,):  # fmt: skip
        run = asyncio.run(check_urls_async([site.base + "/a"]))
    (result,) = run.results
    assert run.requests <= 5 + MAX_LICENCES_PER_URL
    assert result.stances[Use.AI_TRAIN] is Stance.DENY  # unread licences: not obtained
    raw = json.dumps(result.to_json())
    assert "5000 licence URLs are named; only the first 16 were read" in raw


@pytest.mark.timeout(60)
def test_twenty_thousand_link_elements_and_the_per_origin_cap() -> None:
    links = [f'<link rel="license" type="application/rsl+xml" href="/l/{i}">' for i in range(20000)]
    routes = {  # each page names 16 licences the pages before it did not
        f"/p{n}": Route(200, f"<html><head>{''.join(links[n * 16 :])}</head></html>".encode(), HTML)
        for n in range(4)
    }
    with serve(Site(routes)) as (site,):
        run = asyncio.run(
            check_urls_async(
                [f"{site.base}/p{n}" for n in range(4)],
                options=CheckOptions(fetch=FetchSettings(max_licences_per_origin=20)),
            )
        )
    # robots, tdmrep, ai.txt, 4 pages, and at most 20 distinct licence documents
    assert run.requests <= 3 + 4 + 20
    raw = json.dumps([r.to_json() for r in run.results])
    assert "licence fetch cap of 20 documents per origin reached" in raw


@pytest.mark.timeout(60)
def test_dripping_licences_stop_at_the_per_url_budget() -> None:
    drip = Route(200, b"<rsl>" + b" " * 20_000 + b"</rsl>", {"Content-Type": "text/xml"},
                 drip_s=0.5)  # fmt: skip
    routes = {f"/lic/{i}.xml": drip for i in range(30)}
    lines = "".join(f"License: /lic/{i}.xml\n" for i in range(30))
    routes["/robots.txt"] = Route(200, f"User-agent: *\n{lines}".encode(), TEXT)
    routes["/a"] = Route(200, b"x", TEXT)
    with serve(Site(routes)) as (site,):
        (result,) = check_urls(
            [site.base + "/a"], settings=FetchSettings(url_deadline_s=2.0, deadline_s=30.0)
        )
    raw = json.dumps(result.to_json())
    assert "not fetched within the 2 s budget per checked URL" in raw
    assert result.stances[Use.AI_TRAIN] is Stance.DENY


# -- generous limits for the non-robots files ----------------------------------------------


def _big_tdmrep(size: int) -> bytes:
    rules = [{"location": "/", "tdm-reservation": 1}]
    rules += [{"location": f"/other/{i}/", "tdm-reservation": 0} for i in range(size // 45)]
    return json.dumps(rules).encode()


def test_a_714_kb_tdmrep_json_is_read_whole() -> None:
    body = _big_tdmrep(714_000)
    assert len(body) > 600 * 1024
    with serve(Site({"/.well-known/tdmrep.json": Route(200, body, JSON),
                     "/a": Route(200, b"x", TEXT)})) as (site,):  # fmt: skip
        (result,) = check_urls([site.base + "/music/a"], fetch_pages=False)
    assert result.stances[Use.TDM] is Stance.DENY


def test_a_tdmrep_json_cut_by_the_fetch_limit_keeps_its_first_rules() -> None:
    body = _big_tdmrep(300_000)
    with serve(Site({"/.well-known/tdmrep.json": Route(200, body, JSON)})) as (site,):
        (result,) = check_urls(
            [site.base + "/music/a"],
            fetch_pages=False,
            settings=FetchSettings(max_tdmrep_bytes=100_000),
        )
    assert result.stances[Use.TDM] is Stance.DENY
    raw = json.dumps(result.to_json())
    assert "tdmrep.json was cut at 100000 bytes by the fetch limit" in raw


def test_a_big_ai_txt_is_not_cut_at_the_robots_limit() -> None:
    body = b"User-agent: *\n" + b"Disallow: /nothing-here\n" * 30_000 + b"Disallow: *.mp3\n"
    assert len(body) > 600 * 1024
    with serve(Site({"/ai.txt": Route(200, body, TEXT)})) as (site,):
        (result,) = check_urls([site.base + "/x/a.mp3"], fetch_pages=False)
    assert result.stances[Use.AI_TRAIN] is Stance.DENY
