"""The registry server itself serves signed snapshots (TDMGUARD_SNAPSHOTS_DIR), without a
key, beside the API: a lab pulls straight from the holder's service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tdmguard.config import ServerSettings
from tdmguard.registry.snapshot import export_snapshot
from tdmguard.signing import generate_signing_key
from tests.server.conftest import Live, make_live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    (tmp_path / "snapshots").mkdir()
    yield from make_live(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path,
                         snapshots_dir=tmp_path / "snapshots")


def test_snapshot_routes_are_mounted(live: Live, tmp_path: Path) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as anonymous:
        assert anonymous.get("/v1/snapshots/latest").status_code == 404
        made = export_snapshot(live.service.registry, tmp_path / "snapshots" / "s1",
                               generate_signing_key())
        latest = anonymous.get("/v1/snapshots/latest")
        assert latest.status_code == 200
        assert latest.json()["id"] == made.manifest.snapshot_id
        # The API itself still needs a key.
        assert anonymous.get("/v1/holders").status_code == 401


def test_snapshot_routes_are_off_without_a_folder(tmp_path: Path) -> None:
    assert ServerSettings.load(environ={"TDMGUARD_DB": str(tmp_path / "r.db")}).snapshots_dir \
        is None
    env = {"TDMGUARD_DB": str(tmp_path / "r.db"), "TDMGUARD_SNAPSHOTS_DIR": str(tmp_path)}
    assert ServerSettings.load(environ=env).snapshots_dir == tmp_path


def test_decide_takes_an_iscc(live: Live) -> None:
    """An ISCC names a work like an ISRC does; an unknown one is a 404 naming the field."""
    with live.client("reader") as reader:
        resp = reader.get("/v1/decide", params={
            "iscc": "ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY",
            "use": "ai-train", "purpose": "commercial"})
        assert resp.status_code in (404, 422), resp.text
        assert "iscc" in resp.text
        both = reader.get("/v1/decide", params={"iscc": "ISCC:KACYPXW445FTYNJ3",
                                                  "work": "X", "use": "tdm",
                                                  "purpose": "commercial"})
        assert both.status_code == 422
