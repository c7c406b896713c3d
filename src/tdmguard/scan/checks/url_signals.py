"""Scan check ``url-signals``: the web opt-out signals of a record's source URL
(``record.url``), through ``signals.check`` (docs/signals.md).

Options (``--check-opt key=value``): ``agent`` (product token of the crawler that collected
the data, default ``*``), ``fetch-pages`` (``1``/``0``: also read each URL's own headers and
meta tags, default 1), ``geo`` (the trainer's country or ``EU``, for RSL terms).

One check per worker: it keeps one event loop in a background thread and one HTTP client.
In a scan, the fetch cache is shared by every worker (:class:`SharedFetchCache`, a small
SQLite file ``url-cache.sqlite`` in the output folder): each origin's robots.txt,
tdmrep.json and ai.txt are fetched once for the whole scan, a resource one worker is
fetching is waited for by the others, and an origin that failed ``breaker`` times in a row
(option ``breaker``, default 5; connection errors, timeouts, 5xx) is not asked again: its
further resources read as unavailable, with the reason. Requests per origin are bounded by
the fetcher (6 at a time per worker). Nothing is started before the first record with a URL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pickle
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from tdmguard.errors import ConfigError
from tdmguard.scan.checks.base import EMPTY, CheckContext, CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.signals.assess import UrlAssessment
from tdmguard.signals.check import CheckOptions, check_urls_async
from tdmguard.signals.fetch import FetchCache, origin_of
from tdmguard.signals.resource import Resource
from tdmguard.sqlite_wal import enable_wal

__all__ = ["SharedFetchCache", "UrlSignalsCheck", "make_check"]

_T = TypeVar("_T")
MEMO_ITEMS = 10_000  # URL assessments remembered per worker (bounded memory)


class SharedFetchCache(FetchCache):
    """A fetch cache every worker process of a scan shares through one SQLite file, with a
    claim per URL (one worker fetches, the others wait for its result) and a per-origin
    circuit breaker."""

    def __init__(
        self, path: Path, ttl_s: float, *, breaker: int = 5, wait_s: float = 30.0
    ) -> None:
        super().__init__(ttl_s)
        self.path = path
        self.breaker = breaker
        self.wait_s = wait_s
        self.owner = f"{os.getpid()}-{id(self)}"
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                 isolation_level=None)
            enable_wal(db)  # another worker may be opening the fresh file too
            db.execute("CREATE TABLE IF NOT EXISTS resources (url TEXT PRIMARY KEY, "
                       "expires REAL, data BLOB)")
            db.execute("CREATE TABLE IF NOT EXISTS claims (url TEXT PRIMARY KEY, owner TEXT, "
                       "at REAL)")
            db.execute("CREATE TABLE IF NOT EXISTS origins (origin TEXT PRIMARY KEY, "
                       "failures INTEGER)")
            self._db = db
        return self._db

    def _stored(self, db: sqlite3.Connection, url: str) -> Resource | None:
        row = db.execute("SELECT expires, data FROM resources WHERE url = ?", (url,)).fetchone()
        if row is None or row[0] < time.time():
            return None
        res: Resource = pickle.loads(row[1])
        return res

    def get(self, url: str) -> Resource | None:
        hit = super().get(url)
        if hit is not None:
            return hit
        with self._lock:
            db = self._conn()
            origin = origin_of(url) or url
            row = db.execute("SELECT failures FROM origins WHERE origin = ?", (origin,)).fetchone()
            if row is not None and row[0] >= self.breaker:
                return Resource.make(
                    url, None, skipped_reason=f"circuit open: {origin} failed {row[0]} times",
                    error=f"not fetched: {origin} failed {row[0]} times in a row",
                )
            found = self._stored(db, url)
            if found is not None:
                super().put(url, found)
                return found
            claimed = db.execute(
                "INSERT OR IGNORE INTO claims (url, owner, at) VALUES (?, ?, ?)",
                (url, self.owner, time.time()),
            ).rowcount
            if claimed:
                return None  # this worker fetches it
            owner = db.execute("SELECT owner, at FROM claims WHERE url = ?", (url,)).fetchone()
            if owner is None:
                # The other worker finished between our claim and this look: its result is in.
                found = self._stored(db, url)
                if found is not None:
                    super().put(url, found)
                return found
            if owner[0] == self.owner:
                return None
            deadline = float(owner[1]) + self.wait_s
        while time.time() < deadline:  # another worker is fetching it: wait for its result
            time.sleep(0.05)
            with self._lock:
                found = self._stored(self._conn(), url)
            if found is not None:
                super().put(url, found)
                return found
        return None

    def put(self, url: str, res: Resource) -> None:
        super().put(url, res)
        failed = (res.status is None and not res.skipped_reason) or (
            res.status is not None and res.status >= 500
        )
        origin = origin_of(url) or url
        with self._lock:
            db = self._conn()
            db.execute(
                "INSERT OR REPLACE INTO resources (url, expires, data) VALUES (?, ?, ?)",
                (url, time.time() + self.ttl_s, pickle.dumps(res)),
            )
            db.execute("DELETE FROM claims WHERE url = ?", (url,))
            if failed:
                db.execute(
                    "INSERT INTO origins (origin, failures) VALUES (?, 1) ON CONFLICT(origin) "
                    "DO UPDATE SET failures = failures + 1",
                    (origin,),
                )
            elif res.status is not None:
                db.execute("DELETE FROM origins WHERE origin = ?", (origin,))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class UrlSignalsCheck:
    name = "url-signals"
    media = frozenset(MediaKind)

    def __init__(self, options: CheckOptions, cache: FetchCache | None = None) -> None:
        self.options = options
        self.cache = cache if cache is not None else FetchCache(options.fetch.cache_ttl_s)
        self._memo: OrderedDict[str, UrlAssessment] = OrderedDict()
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
            while len(self._memo) > MEMO_ITEMS:
                self._memo.popitem(last=False)
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
        if isinstance(self.cache, SharedFetchCache):
            self.cache.close()


def make_check(context: CheckContext) -> UrlSignalsCheck | None:
    """The check for a scan; None when the web extra (httpx) is not installed."""
    if importlib.util.find_spec("httpx") is None:
        return None
    opts = context.options
    fetch_pages = opts.get("fetch-pages", "1").strip().lower()
    if fetch_pages not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"expected 0 or 1, got {fetch_pages!r}", where="--check-opt fetch-pages")
    try:
        breaker = int(opts.get("breaker", "5"))
    except ValueError as exc:
        raise ConfigError("expected a whole number", where="--check-opt breaker") from exc
    options = CheckOptions(
        agent=opts.get("agent", "*"),
        fetch_pages=fetch_pages in ("1", "true", "yes"),
        geo=opts.get("geo") or None,
    )
    cache: FetchCache | None = None
    if context.cache_dir is not None:
        cache = SharedFetchCache(
            context.cache_dir / "url-cache.sqlite", options.fetch.cache_ttl_s, breaker=breaker
        )
    return UrlSignalsCheck(options, cache)
