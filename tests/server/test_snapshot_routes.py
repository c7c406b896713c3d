"""The snapshot routes behind a real uvicorn server on 127.0.0.1; the CLI pulls from it
(latest full snapshot first, then the chain of deltas)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tdmguard.registry.snapshot import export_snapshot, list_sources
from tdmguard.registry.store import Registry
from tdmguard.signing import generate_signing_key, save_signing_key
from tdmguard.vocab import Use
from tests.cli.test_snapshot_cmds import Side
from tests.registry.snapshot.states import all_decisions, registry_content
from tests.registry.snapshot.test_apply import build_source, grow

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
fastapi = pytest.importorskip("fastapi")

from tdmguard.server.snapshot_routes import snapshot_router  # noqa: E402
from tests.conftest import serving  # noqa: E402


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    store = tmp_path / "store"
    store.mkdir()
    app = fastapi.FastAPI()
    app.include_router(snapshot_router(store))
    with serving(app) as url:
        yield url, store


def test_pull_latest_then_deltas_over_http(served: tuple[str, Path], tmp_path: Path) -> None:
    base, store = served
    key = generate_signing_key()
    pub = str(save_signing_key(key, tmp_path / "k.pem"))
    reg, index = build_source(tmp_path)
    assert httpx.get(f"{base}/v1/snapshots/latest").status_code == 404
    s1 = export_snapshot(reg, store / "s1", key)
    lab = Side(tmp_path, "lab")
    first = lab("registry", "pull", base, "--trust", pub, "--json")
    assert first["snapshot"] == s1.manifest.snapshot_id and first["kind"] == "full"
    # nothing new: up to date, nothing applied
    again = lab("registry", "pull", base, "--trust", pub, "--json")
    assert again["up_to_date"] is True and again["applied"] == []
    # two deltas, then the lab catches up through them
    grow(reg, index)
    mid = export_snapshot(reg, store / "d1", key, since=s1.manifest.seq_to)
    reg.reserve("A Newcomer", uses=[Use.SEARCH], effective_from=date(2026, 1, 1))
    d2 = export_snapshot(reg, store / "d2", key, since=mid.manifest.seq_to)
    export_snapshot(reg, store / "s2", key)  # a full one too: the deltas are preferred
    feed = httpx.get(f"{base}/v1/feed", params={"since": s1.manifest.seq_to}).json()
    assert [s["id"] for s in feed["snapshots"]][:1] == [mid.manifest.snapshot_id]
    caught_up = lab("registry", "pull", base, "--trust", pub, "--json")
    assert [a["kind"] for a in caught_up["applied"]] == ["delta", "delta"]
    assert caught_up["seq"] == d2.manifest.seq_to
    mirror = Registry.open(f"sqlite:///{lab.db}")
    assert registry_content(mirror) == registry_content(reg)
    assert all_decisions(mirror) == all_decisions(reg)
    [source] = list_sources(mirror)
    assert source.location.startswith(base) and source.head == reg.state_digest()
    mirror.close()
    # a server that went back in time (rollback) is refused
    for folder in ("d1", "d2", "s2"):
        shutil.rmtree(store / folder)
    err = lab("registry", "pull", base, "--trust", pub, code=6)
    assert "not newer" in err


def test_files_outside_a_snapshot_are_not_served(served: tuple[str, Path],
                                                 tmp_path: Path) -> None:
    base, store = served
    reg, _ = build_source(tmp_path)
    snap = export_snapshot(reg, store / "s1", generate_signing_key())
    (store / "secret.txt").write_text("no")
    sid = snap.manifest.snapshot_id
    desc = httpx.get(f"{base}/v1/snapshots/{sid}").json()
    assert desc["seq_to"] == snap.manifest.seq_to and len(desc["file_list"]) == desc["files"]
    assert httpx.get(f"{base}/v1/snapshots/{sid}/files/tables/works.jsonl").status_code == 200
    for path in ("../secret.txt", "..%2Fsecret.txt", "tables/../../secret.txt", "nothing"):
        assert httpx.get(f"{base}/v1/snapshots/{sid}/files/{path}").status_code == 404
    assert httpx.get(f"{base}/v1/snapshots/nope").status_code == 404
    assert httpx.get(f"{base}/v1/feed", params={"since": -1}).status_code == 422
