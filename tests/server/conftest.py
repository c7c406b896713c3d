"""A live server for the API tests: real uvicorn on 127.0.0.1 (a free port) over a real
registry (SQLite file, or PostgreSQL when ``TDMGUARD_TEST_PG_URL`` is set)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tdmguard.config import ServerSettings, Settings
from tdmguard.registry.service import RegistryService
from tdmguard.registry.values import CLI_ACTOR, Scope
from tests.conftest import serving


@dataclass
class Live:
    url: str
    service: RegistryService
    admin: str  # admin key
    keys: dict[str, str]  # "A" / "B": write keys of holders A and B; "reader": read key
    key_ids: dict[str, str]

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {}
        if who is not None:
            key = self.admin if who == "admin" else self.keys[who]
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def start_server(settings: ServerSettings, service: RegistryService) -> tuple[str, object]:
    from tdmguard.server.app import create_app

    running = serving(create_app(settings, service=service), lifespan="on")
    url = running.__enter__()

    def stop() -> None:
        running.__exit__(None, None, None)

    return url, stop


def make_live(db_url: str, tmp_path: Path, **server_kw: object) -> Iterator[Live]:
    registry = Settings(db_url, tmp_path / "index")
    service = RegistryService.open(registry, create=True)
    for name in ("A", "B"):
        service.add_holder(CLI_ACTOR, name)
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    for who, holder, scope in (("A", "A", Scope.WRITE), ("B", "B", Scope.WRITE),
                               ("reader", None, Scope.READ)):
        info, keys[who] = service.create_api_key(CLI_ACTOR, name=who, scope=scope, holder=holder)
        key_ids[who] = info.id
    admin_info, admin = service.create_api_key(CLI_ACTOR, name="ops", scope=Scope.ADMIN)
    key_ids["admin"] = admin_info.id
    settings = ServerSettings(registry, **server_kw)  # type: ignore[arg-type]
    url, stop = start_server(settings, service)
    try:
        yield Live(url, service, admin, keys, key_ids)
    finally:
        stop()  # type: ignore[operator]


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[Live]:
    yield from make_live(db_url, tmp_path, max_upload_bytes=2 * 1024 * 1024)


def serve_workers(args: list[str], env: dict[str, str], workers: int,
                  timeout: float = 300) -> tuple[subprocess.Popen[str], str]:
    """Start ``tdmguard serve --port 0 --workers N`` (``args`` is the command before those
    flags) and wait until every worker has started: (the process, its URL). The caller
    terminates the process."""
    proc = subprocess.Popen([*args, "serve", "--port", "0", "--workers", str(workers)],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    assert proc.stderr is not None
    deadline, url, started, lines = time.monotonic() + timeout, None, 0, []
    while time.monotonic() < deadline and not (url and started >= workers):
        line = proc.stderr.readline()
        lines.append(line)
        found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        url = url or (found.group(1) if found else None)
        started += "Application startup complete" in line
    if not (url and started >= workers):
        proc.kill()
        raise AssertionError("".join(lines))
    return proc, url
