"""``check_urls``: every web opt-out signal for a list of URLs, with evidence.

For each URL: the origin's ``/robots.txt``, ``/.well-known/tdmrep.json`` and ``/ai.txt``
(fetched once per origin), the URL's own response (headers; meta tags when it is a page),
and any RSL licence it points to; then ``assess.assess_url``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tdmguard.signals.assess import (
    AssessOptions,
    PageSignals,
    SiteSignals,
    UrlAssessment,
    assess_url,
    licence_urls,
)
from tdmguard.signals.fetch import FetchCache, FetchSettings, SignalFetcher, origin_of
from tdmguard.vocab import Stance, Use

try:
    import httpx
except ImportError:  # pragma: no cover
    httpx = None  # type: ignore[assignment]

__all__ = ["CheckOptions", "CheckRun", "check_urls", "check_urls_async", "fast_loop_factory"]

TDMREP_PATH = "/.well-known/tdmrep.json"
AI_TXT_PATH = "/ai.txt"


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """``agent``: product token of the crawler that would collect (``*``: any crawler not
    named in robots.txt). ``fetch_pages``: also GET each URL for its headers and meta tags
    (one request per URL); off, only the origin files are read. ``geo`` / ``user``: see
    ``AssessOptions``."""

    agent: str = "*"
    fetch_pages: bool = True
    geo: str | None = None
    user: str | None = None
    fetch: FetchSettings = field(default_factory=FetchSettings)


@dataclass(slots=True)
class CheckRun:
    """What a run did: results in input order and the HTTP requests it sent."""

    results: list[UrlAssessment]
    requests: int


def _invalid(url: str, why: str) -> UrlAssessment:
    return UrlAssessment(url, (), {u: Stance.UNKNOWN for u in Use}, (), (why,))


async def _check_one(
    url: str,
    fetcher: SignalFetcher,
    sites: dict[str, asyncio.Task[SiteSignals]],
    options: CheckOptions,
) -> UrlAssessment:
    """One URL; an unexpected failure becomes an all-unknown answer with the reason (one
    bad URL must not stop ten thousand, and unknown is never read as allow)."""
    try:
        return await _assess_one(url, fetcher, sites, options)
    except Exception as exc:
        return _invalid(url, f"not checked: {type(exc).__name__}: {exc}"[:300])


async def _assess_one(
    url: str,
    fetcher: SignalFetcher,
    sites: dict[str, asyncio.Task[SiteSignals]],
    options: CheckOptions,
) -> UrlAssessment:
    origin = origin_of(url)
    if origin is None:
        return _invalid(url, "not an http(s) URL with a host: nothing fetched")
    task = sites.get(origin)
    if task is None:
        task = sites[origin] = asyncio.ensure_future(_site(origin, fetcher))
    site = await asyncio.shield(task)
    page = PageSignals.build(await fetcher.resource(url)) if options.fetch_pages else None
    assess = AssessOptions(agent=options.agent, geo=options.geo, user=options.user)
    wanted = licence_urls(url, assess.agent, site, page)
    licences = {}
    for lic in wanted:
        licences[lic] = await fetcher.resource(lic, read_body=True)
    return assess_url(url, site, page, licences, assess)


async def _site(origin: str, fetcher: SignalFetcher) -> SiteSignals:
    robots = await fetcher.robots(origin)
    tdmrep, ai_txt = await asyncio.gather(
        fetcher.well_known(origin, TDMREP_PATH), fetcher.well_known(origin, AI_TXT_PATH)
    )
    return SiteSignals.build(origin, robots, tdmrep, ai_txt)


async def check_urls_async(
    urls: Iterable[str],
    *,
    options: CheckOptions | None = None,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    cache: FetchCache | None = None,
    on_result: Callable[[UrlAssessment], None] | None = None,
) -> CheckRun:
    """Check ``urls`` concurrently (bounded by ``options.fetch``); results in input order."""
    opts = options or CheckOptions()
    url_list = list(urls)
    results: list[UrlAssessment | None] = [None] * len(url_list)
    sites: dict[str, asyncio.Task[SiteSignals]] = {}
    async with SignalFetcher(
        opts.fetch, client=client, transport=transport, cache=cache
    ) as fetcher:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(url_list)):
            queue.put_nowait(i)

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                res = await _check_one(url_list[i], fetcher, sites, opts)
                results[i] = res
                if on_result is not None:
                    on_result(res)

        n_workers = max(1, min(len(url_list), opts.fetch.max_concurrency * 2))
        await asyncio.gather(*(worker() for _ in range(n_workers)))
        requests = fetcher.requests
    return CheckRun([r for r in results if r is not None], requests)


def check_urls(
    urls: Sequence[str] | Iterable[str],
    *,
    agent: str = "*",
    fetch_pages: bool = True,
    geo: str | None = None,
    user: str | None = None,
    settings: FetchSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    cache: FetchCache | None = None,
    on_result: Callable[[UrlAssessment], None] | None = None,
) -> list[UrlAssessment]:
    """Synchronous entry point: one :class:`UrlAssessment` per URL, in input order."""
    options = CheckOptions(
        agent=agent, fetch_pages=fetch_pages, geo=geo, user=user, fetch=settings or FetchSettings()
    )
    with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
        run = runner.run(
            check_urls_async(
                urls, options=options, transport=transport, cache=cache, on_result=on_result
            )
        )
    return run.results


def fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (the web extra has it on Linux and macOS):
    about a quarter less CPU per request than the default loop."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
