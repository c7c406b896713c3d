"""A live server (real uvicorn, SQLite registry in tmp_path) for the web page tests, with
write keys of holders A and B, a read key and an admin key, and helpers to sign in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import Live, make_live

DEMO = Path(__file__).resolve().parents[3] / "src" / "tdmguard" / "demo" / "data"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Live]:
    yield from make_live(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path,
                         max_upload_bytes=4 * 1024 * 1024)


@pytest.fixture
def web_db(db_url: str, tmp_path: Path) -> Iterator[Live]:
    """As ``web``, on SQLite and (with ``TDMGUARD_TEST_PG_URL``) on PostgreSQL."""
    yield from make_live(db_url, tmp_path, max_upload_bytes=4 * 1024 * 1024)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def signed_in(live: Live, who: str) -> httpx.Client:
    """A client holding a session cookie of ``who``'s key (signed in through the form)."""
    client = httpx.Client(base_url=live.url, timeout=60, follow_redirects=False)
    form = client.get("/signin")
    key = live.admin if who == "admin" else live.keys[who]
    r = client.post("/signin", data={"api_key": key, "csrf": csrf_of(form.text), "next": "/"})
    assert r.status_code == 303, r.text
    return client


def finish(client: httpx.Client, posted: httpx.Response, timeout: float = 120) -> httpx.Response:
    """An upload's answer: a refused upload as it is; an accepted one (303 to its job)
    followed, polling the job's progress until it has finished, then its page."""
    if posted.status_code != 303 or "/upload/jobs/" not in posted.headers["location"]:
        return posted
    job = posted.headers["location"]
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(job + "/progress").json()
        if state["state"] in ("done", "failed") or time.monotonic() > deadline:
            return client.get(job)
        time.sleep(0.1)
