"""``check_urls``: every web opt-out signal for a list of URLs, with evidence.

For each URL: the origin's ``/robots.txt``, ``/.well-known/tdmrep.json`` and ``/ai.txt``
(fetched once per origin), the URL's own response (headers; meta tags when it is a page),
and any RSL licence it points to; then ``assess.assess_url``.

Bounds (``FetchSettings``): at most ``MAX_LICENCES_PER_URL`` licence links per URL and
``max_licences_per_origin`` distinct licence documents per checked origin are fetched, in
parallel, and licence fetching stops when ``url_deadline_s`` has passed since the URL's
check began; whatever was not fetched reads as a licence not obtained (unlicensed, RSL
section 5.1) and says why. Licence links found on a public page may not lead to non-public
addresses (``fetch.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tdmguard.signals.assess import (
    MAX_LICENCES_PER_URL,
    AssessOptions,
    PageSignals,
    SiteSignals,
    UrlAssessment,
    assess_url,
    licence_urls,
)
from tdmguard.signals.fetch import FetchCache, FetchSettings, Resolver, SignalFetcher, origin_of
from tdmguard.signals.resource import Resource
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


@dataclass(slots=True)
class _RunState:
    """Shared by the URLs of one run: each origin's site files, the licence documents
    fetched per origin (the cap), and licence fetches left running past a URL's budget
    (cancelled at the end of the run)."""

    sites: dict[str, asyncio.Task[SiteSignals]] = field(default_factory=dict)
    licences_by_origin: dict[str, set[str]] = field(default_factory=dict)
    leftovers: set[asyncio.Future[Resource]] = field(default_factory=set)


async def _check_one(
    url: str, fetcher: SignalFetcher, state: _RunState, options: CheckOptions
) -> UrlAssessment:
    """One URL; an unexpected failure becomes an all-unknown answer with the reason (one
    bad URL must not stop ten thousand, and unknown is never read as allow)."""
    try:
        return await _assess_one(url, fetcher, state, options)
    except Exception as exc:
        return _invalid(url, f"not checked: {type(exc).__name__}: {exc}"[:300])


async def _fetch_licences(
    url: str,
    origin: str,
    wanted: list[str],
    fetcher: SignalFetcher,
    state: _RunState,
    options: CheckOptions,
    deadline: float,
) -> dict[str, Resource]:
    settings = options.fetch
    seen = state.licences_by_origin.setdefault(origin, set())
    out: dict[str, Resource] = {}
    tasks: dict[str, asyncio.Future[Resource]] = {}
    for lic in wanted:
        if lic not in seen and len(seen) >= settings.max_licences_per_origin:
            out[lic] = Resource.make(
                lic,
                None,
                skipped_reason=f"licence fetch cap of {settings.max_licences_per_origin}"
                f" documents per origin reached for {origin}",
            )
            continue
        seen.add(lic)
        tasks[lic] = asyncio.ensure_future(
            fetcher.resource(lic, read_body=True, cap=settings.max_licence_bytes, found_on=url)
        )
    if tasks:
        loop = asyncio.get_running_loop()
        await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - loop.time()))
    for lic, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            out[lic] = task.result()
        elif task.done():
            exc = task.exception() if not task.cancelled() else None
            out[lic] = Resource.make(lic, None, error=f"{type(exc).__name__}: {exc}"[:200])
        else:
            state.leftovers.add(task)  # a dripping server: stop waiting, cancel at the end
            out[lic] = Resource.make(
                lic,
                None,
                skipped_reason=f"not fetched within the {settings.url_deadline_s:g} s budget"
                " per checked URL",
            )
    return out


async def _assess_one(
    url: str, fetcher: SignalFetcher, state: _RunState, options: CheckOptions
) -> UrlAssessment:
    deadline = asyncio.get_running_loop().time() + options.fetch.url_deadline_s
    sites = state.sites
    origin = origin_of(url)
    if origin is None:
        return _invalid(url, "not an http(s) URL with a host: nothing fetched")
    task = sites.get(origin)
    if task is None:
        task = sites[origin] = asyncio.ensure_future(_site(origin, fetcher))
    site = await asyncio.shield(task)
    page = PageSignals.build(await fetcher.resource(url)) if options.fetch_pages else None
    assess = AssessOptions(agent=options.agent, geo=options.geo, user=options.user)
    wanted = licence_urls(url, assess.agent, site, page, limit=MAX_LICENCES_PER_URL)
    licences = await _fetch_licences(url, origin, wanted, fetcher, state, options, deadline)
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
    resolver: Resolver | None = None,
) -> CheckRun:
    """Check ``urls`` concurrently (bounded by ``options.fetch``); results in input order.
    ``resolver``: see ``SignalFetcher``."""
    opts = options or CheckOptions()
    url_list = list(urls)
    results: list[UrlAssessment | None] = [None] * len(url_list)
    state = _RunState()
    async with SignalFetcher(
        opts.fetch, client=client, transport=transport, cache=cache, resolver=resolver
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
                res = await _check_one(url_list[i], fetcher, state, opts)
                results[i] = res
                if on_result is not None:
                    on_result(res)

        n_workers = max(1, min(len(url_list), opts.fetch.max_concurrency * 2))
        await asyncio.gather(*(worker() for _ in range(n_workers)))
        for task in state.leftovers:
            task.cancel()
        await asyncio.gather(*state.leftovers, return_exceptions=True)
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
    resolver: Resolver | None = None,
) -> list[UrlAssessment]:
    """Synchronous entry point: one :class:`UrlAssessment` per URL, in input order."""
    options = CheckOptions(
        agent=agent, fetch_pages=fetch_pages, geo=geo, user=user, fetch=settings or FetchSettings()
    )
    with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
        run = runner.run(
            check_urls_async(
                urls,
                options=options,
                transport=transport,
                cache=cache,
                on_result=on_result,
                resolver=resolver,
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
