"""Scan check ``url-signals``: the web opt-out signals of a record's source URL
(``record.url``), through ``signals.check`` (docs/signals.md).

Options (``--check-opt key=value``): ``agent`` (product token of the crawler that collected
the data, default ``*``), ``fetch-pages`` (``1``/``0``: also read each URL's own headers and
meta tags, default 1), ``geo`` (the trainer's country or ``EU``, for RSL terms).

One check per worker: it keeps one event loop in a background thread, one HTTP client and
one fetch cache, so each origin's robots.txt, tdmrep.json and ai.txt are read once per
worker (and at most once a day). Nothing is started before the first record with a URL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from tdmguard.errors import ConfigError
from tdmguard.scan.checks.base import EMPTY, CheckContext, CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.signals.assess import UrlAssessment
from tdmguard.signals.check import CheckOptions, check_urls_async
from tdmguard.signals.fetch import FetchCache

__all__ = ["UrlSignalsCheck", "make_check"]

_T = TypeVar("_T")


class UrlSignalsCheck:
    name = "url-signals"
    media = frozenset(MediaKind)

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.cache = FetchCache(options.fetch.cache_ttl_s)
        self._memo: dict[str, UrlAssessment] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="url-signals", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def assess_many(self, urls: Iterable[str]) -> dict[str, UrlAssessment]:
        """Check many URLs concurrently (a batching step can call this first; ``evaluate``
        then answers from memory)."""
        todo = [u for u in dict.fromkeys(urls) if u not in self._memo]
        if todo:
            run = self._run(check_urls_async(todo, options=self.options, cache=self.cache))
            for result in run.results:
                self._memo[result.url] = result
        return {u: self._memo[u] for u in urls if u in self._memo}

    def evaluate(self, record: Record) -> CheckOutcome:
        if not record.url:
            return EMPTY
        found = self.assess_many([record.url]).get(record.url)
        if found is None:
            return EMPTY
        return CheckOutcome(
            verdicts=found.verdicts, problems=tuple(found.problems) + tuple(found.disagreements)
        )

    def close(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop = None


def make_check(context: CheckContext) -> UrlSignalsCheck | None:
    """The check for a scan; None when the web extra (httpx) is not installed."""
    if importlib.util.find_spec("httpx") is None:
        return None
    opts = context.options
    fetch_pages = opts.get("fetch-pages", "1").strip().lower()
    if fetch_pages not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"expected 0 or 1, got {fetch_pages!r}", where="--check-opt fetch-pages")
    return UrlSignalsCheck(
        CheckOptions(
            agent=opts.get("agent", "*"),
            fetch_pages=fetch_pages in ("1", "true", "yes"),
            geo=opts.get("geo") or None,
        )
    )
