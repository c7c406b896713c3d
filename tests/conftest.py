"""Shared fixtures: the headless browser (Debian's chromium driven by Playwright, never
`playwright install`; skipped where it is missing, failed in CI), and registry database URLs
(a real SQLite file, and a real PostgreSQL server when ``TDMGUARD_TEST_PG_URL`` points to
one: ``.ci/run`` installs and starts it), and ``run``: the CLI on a registry of its own."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _pg_database(base_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    base = os.environ.get("TDMGUARD_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("CI must provide TDMGUARD_TEST_PG_URL (see .ci/run)")
        pytest.skip("no PostgreSQL server: set TDMGUARD_TEST_PG_URL (bash .ci/postgres.sh "
                    "starts one) to run the PostgreSQL tests")
    yield from _pg_database(base)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}")
    return SHARED


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")  # closed after each module: no event loop left over
def browser() -> Iterator[Any]:
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = why or "playwright is not installed (dev extra)"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield b
        finally:
            b.close()


CliRun = Callable[..., Any]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Run ``tdmguard ARGS`` through the real entry point (exit-code mapping included) on a
    registry of its own in ``tmp_path``. ``code=`` is the exit code expected; with
    ``--json`` the output is parsed (on a failure too, when the command wrote JSON)."""
    from tdmguard.cli.app import main

    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("TDMGUARD_INDEX", raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def _run(*args: str, code: int = 0) -> Any:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        assert exit_info.value.code == code, captured.out + captured.err
        if "--json" in args and (code == 0 or captured.out.lstrip().startswith(("{", "["))):
            return json.loads(captured.out)
        return captured.out + captured.err

    return _run


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``tdmguard ARGS`` through the real entry point: (exit code, stdout, stderr)."""
    from tdmguard.cli.app import main

    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def ok_cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``run_cli`` that must exit 0; its stdout."""
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return out


@contextlib.contextmanager
def serving(app: Any, *, lifespan: str = "off", timeout: float = 30) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; yields
    its base URL and stops it on exit."""
    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                        lifespan=lifespan))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not (srv.started and srv.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
