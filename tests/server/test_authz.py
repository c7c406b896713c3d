"""Authorisation matrix: for every mutating route, another holder's key gets 403 or 404 and
the registry is unchanged (same audit head); a read key cannot write; a revoked key, a
malformed one and none at all get 401."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tdmguard.demo import demo_data_dir
from tdmguard.registry.values import CLI_ACTOR
from tests.server.conftest import Live

JEANIE = demo_data_dir() / "lyrics" / "jeanie_with_the_light_brown_hair.txt"

Call = Callable[[httpx.Client, dict[str, int]], httpx.Response]


def _seed(live: Live) -> dict[str, int]:
    """Records of holder A that B will try to touch."""
    with live.client("A") as a:
        assert a.post("/v1/works", data={"title": "A's", "id": "A-1"}).status_code == 201
        res = a.post("/v1/reservations", json={"uses": ["tdm"], "from": "2025-01-01"}).json()
        lic = a.post("/v1/licences", json={"licensee": "L", "uses": ["tdm"],
                                           "from": "2025-01-01"}).json()
    return {"res": res["id"], "lic": lic["id"]}


# (name, call): each names holder A's records or acts for holder A
MUTATIONS: list[tuple[str, Call]] = [
    ("add holder", lambda c, ids: c.post("/v1/holders", json={"name": "Z"})),
    ("register work for A", lambda c, ids: c.post(
        "/v1/works", data={"title": "x", "holder": "A"},
        files={"lyrics": ("j.txt", JEANIE.read_bytes(), "text/plain")})),
    ("import catalogue for A", lambda c, ids: c.post(
        "/v1/works/import", data={"holder": "A"},
        files={"catalogue": ("c.csv", b"id,title\nZ-1,x\n", "text/csv")})),
    ("reserve for A", lambda c, ids: c.post(
        "/v1/reservations", json={"uses": ["tdm"], "from": "2025-01-01", "holder": "A"})),
    ("reserve A's work", lambda c, ids: c.post(
        "/v1/reservations", json={"uses": ["tdm"], "from": "2025-01-01", "works": ["A-1"]})),
    ("revoke A's reservation", lambda c, ids: c.post(
        f"/v1/reservations/{ids['res']}/revoke", json={})),
    ("grant for A", lambda c, ids: c.post(
        "/v1/licences", json={"licensee": "x", "uses": ["tdm"], "from": "2025-01-01",
                              "holder": "A"})),
    ("license A's work", lambda c, ids: c.post(
        "/v1/licences", json={"licensee": "x", "uses": ["tdm"], "from": "2025-01-01",
                              "works": ["A-1"]})),
    ("revoke A's licence", lambda c, ids: c.post(f"/v1/licences/{ids['lic']}/revoke")),
]


def _head(live: Live) -> str:
    return live.service.state_digest()


@pytest.mark.parametrize(("name", "call"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_other_holder_and_reader_cannot_change_a(live: Live, name: str, call: Call) -> None:
    ids = _seed(live)
    before = _head(live)
    for who in ("B", "reader"):
        with live.client(who) as client:
            resp = call(client, ids)
        # B may not act for A nor touch A's records; the reader may not write at all
        assert resp.status_code in (403, 404), (who, resp.status_code, resp.text)
        assert resp.json()["error"]["code"] in ("forbidden", "not_found")
        if who == "reader":
            assert resp.status_code == 403, resp.text
        assert _head(live) == before, f"{name} by {who} changed the registry"
    with live.client("admin") as admin:
        reservations = admin.get("/v1/reservations").json()
        licences = admin.get("/v1/licences").json()
    assert [r["revoked_on"] for r in reservations] == [None]
    assert [lic["revoked_on"] for lic in licences] == [None]


@pytest.mark.parametrize(("name", "call"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_without_a_valid_key_nothing_changes(live: Live, name: str, call: Call) -> None:
    ids = _seed(live)
    live.service.revoke_api_key(CLI_ACTOR, live.key_ids["A"])
    before = _head(live)
    headers: list[dict[str, str]] = [
        {},
        {"Authorization": f"Bearer {live.keys['A']}"},  # revoked
        {"Authorization": "Bearer tdm_0000_secret"},
        {"Authorization": "Basic QTpB"},
    ]
    for h in headers:
        with httpx.Client(base_url=live.url, headers=h, timeout=60) as client:
            resp = call(client, ids)
        assert resp.status_code == 401, (h, resp.text)
    assert _head(live) == before


def test_the_owner_and_admin_may(live: Live) -> None:
    ids = _seed(live)
    with live.client("A") as a:
        assert a.post(f"/v1/reservations/{ids['res']}/revoke").status_code == 200
    with live.client("admin") as admin:
        assert admin.post(f"/v1/licences/{ids['lic']}/revoke", json={"on": "2025-02-01"}) \
            .json() == {"revoked": ids["lic"], "on": "2025-02-01"}
        resp = admin.post("/v1/reservations", json={"uses": ["tdm"], "from": "2025-01-01"})
        assert resp.status_code == 422 and resp.json()["error"]["field"] == "holder"
        resp: Any = admin.post("/v1/reservations", json={"uses": ["tdm"], "from": "2025-01-01",
                                                         "holder": "B"})
        assert resp.status_code == 201
