"""20 clients registering works (with media) and reservations at once against PostgreSQL:
afterwards every write is there exactly once, the index holds every work, the audit chain
verifies, and no client saw an error."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tdmguard.config import Settings
from tdmguard.demo import demo_data_dir
from tdmguard.index.hash_index import HashIndex
from tdmguard.registry.matching import index_folder
from tdmguard.registry.service import RegistryService
from tdmguard.registry.values import CLI_ACTOR, Scope
from tdmguard.vocab import Modality
from tests.server.conftest import make_live, serve_workers

pytestmark = pytest.mark.postgres

CLIENTS = 20
WORKS_EACH = 3
SONGS = sorted(p for p in (demo_data_dir() / "lyrics").iterdir() if p.is_file())


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get("TDMGUARD_TEST_PG_URL")
    if not base:
        pytest.skip("no PostgreSQL server: set TDMGUARD_TEST_PG_URL")
    from tests.conftest import _pg_database

    yield from _pg_database(base)


def _client_work(url: str, key: str, n: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                      timeout=300) as client:
        for i in range(WORKS_EACH):
            song = SONGS[(n + i) % len(SONGS)]
            work_id = f"C{n:02d}-{i}"
            resp = client.post("/v1/works", data={"title": f"{song.stem} {n}/{i}",
                                                  "id": work_id},
                               files={"lyrics": (song.name, song.read_bytes(), "text/plain")})
            assert resp.status_code == 201, resp.text
            ids.append(work_id)
            resp = client.post("/v1/reservations", json={
                "uses": ["ai-train"], "from": "2025-01-01", "works": [work_id],
                "declared_at": f"https://example.org/{work_id}"})
            assert resp.status_code == 201, resp.text
    return ids


def _check_after(service: RegistryService, expected: set[str], audit_before: int) -> None:
    works = service.list_works(CLI_ACTOR)
    assert sorted(w.id for w in works) == sorted(expected)  # each exactly once
    reservations = service.list_reservations(CLI_ACTOR)
    declared = [r.declared_at for r in reservations]
    assert sorted(declared) == sorted(f"https://example.org/{w}" for w in expected)
    folder = index_folder(service.index_dir, Modality.LYRICS)
    assert HashIndex.stored_work_ids(folder) == expected
    assert len(HashIndex.open(folder).work_ids) == len(expected)  # no work twice
    result = service.verify(CLI_ACTOR)
    # per work: work.add + fingerprint.add; per reservation: reservation.add
    assert result.ok and result.entries == audit_before + 3 * len(expected), result


def _run_clients(url: str, keys: list[str]) -> set[str]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(_client_work, [url] * CLIENTS, keys, range(CLIENTS)))
    return {w for ids in results for w in ids}


def _holders_and_keys(service: RegistryService) -> list[str]:
    keys = []
    for n in range(CLIENTS):
        # half the clients share a holder, so same-holder writes race too
        holder = f"H{n % 10}"
        if n < 10:
            service.add_holder(CLI_ACTOR, holder)
        keys.append(service.create_api_key(CLI_ACTOR, name=f"c{n}", scope=Scope.WRITE,
                                           holder=holder)[1])
    return keys


def test_twenty_clients_in_process_server(pg_url: str, tmp_path: Path) -> None:
    for live in make_live(pg_url, tmp_path):
        keys = _holders_and_keys(live.service)
        before = live.service.verify(CLI_ACTOR).entries
        expected = _run_clients(live.url, keys)
        assert len(expected) == CLIENTS * WORKS_EACH
        _check_after(live.service, expected, before)


@pytest.mark.slow
def test_twenty_clients_three_worker_processes(pg_url: str, tmp_path: Path) -> None:
    """The same through `tdmguard serve --workers 3`: writers in separate processes share
    the database lock and the index's file lock."""
    settings = Settings(pg_url, tmp_path / "index")
    service = RegistryService.open(settings, create=True)
    keys = _holders_and_keys(service)
    before = service.verify(CLI_ACTOR).entries
    env = {**os.environ, "TDMGUARD_DB": pg_url, "TDMGUARD_INDEX": str(settings.index_dir)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    exe = str(Path(sys.executable).parent / "tdmguard")
    proc, url = serve_workers([exe], env, 3)
    try:
        expected = _run_clients(url, keys)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    _check_after(service, expected, before)
    json.dumps(sorted(expected))
