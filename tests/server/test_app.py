"""The registry API over a real uvicorn server: each area once end to end, the error shape,
upload limits, metrics and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.demo import demo_data_dir
from tests.server.conftest import Live

LYRICS = demo_data_dir() / "lyrics"
JEANIE = LYRICS / "jeanie_with_the_light_brown_hair.txt"
FORUM = LYRICS / "training" / "forum_thread_old_songs.txt"


def _error(resp: object, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return dict(body["error"])


def test_health_keys_and_error_shape(live: Live) -> None:
    with live.client() as anon:
        health = anon.get("/v1/health").json()
        assert health["status"] == "ok" and len(health["audit_head"]) == 64
        err = _error(anon.get("/v1/holders"), 401, "unauthorized")
        assert err["field"] == "Authorization"
        assert anon.get("/v1/holders").headers["www-authenticate"] == "Bearer"
        _error(anon.get("/v1/holders", headers={"Authorization": "Bearer tdm_x_y"}), 401,
               "unauthorized")
        _error(anon.get("/v1/no-such-route"), 404, "not_found")
        assert anon.get("/openapi.json").json()["info"]["title"] == "tdmguard registry"
        assert anon.get("/docs").status_code == 200
    with live.client("reader") as reader:
        assert [h["name"] for h in reader.get("/v1/holders").json()] == ["A", "B"]
        assert reader.get("/v1/holders/A").json()["name"] == "A"
        _error(reader.get("/v1/holders/Nobody"), 404, "not_found")
        _error(reader.post("/v1/holders", json={"name": "C"}), 403, "forbidden")
        err = _error(reader.get("/v1/decide", params={"work": "x", "use": "bogus",
                                                      "purpose": "commercial"}), 422, "invalid")
        assert err["field"] == "use"
    with live.client("admin") as admin:
        assert admin.post("/v1/holders", json={"name": "C", "contact": "c@x"}).status_code == 201
        _error(admin.post("/v1/holders", json={"name": "C"}), 409, "conflict")
        _error(admin.post("/v1/holders", json={"name": ""}), 422, "invalid")
        _error(admin.post("/v1/holders", content=b"{not json",
                          headers={"Content-Type": "application/json"}), 422, "invalid")
    live.service.revoke_api_key(live.service.registry and __import__(
        "tdmguard.registry.values", fromlist=["CLI_ACTOR"]).CLI_ACTOR, live.key_ids["reader"])
    with live.client("reader") as reader:
        _error(reader.get("/v1/holders"), 401, "unauthorized")


def test_register_reserve_decide_identify_audit(live: Live) -> None:
    with live.client("A") as a, live.client("reader") as reader, live.client("B") as b:
        resp = a.post("/v1/works", data={"title": "Jeanie", "id": "A-1", "isrc": "GBAYE2500001",
                                         "artists": ["Foster"]},
                      files={"lyrics": ("jeanie.txt", JEANIE.read_bytes(), "text/plain")})
        assert resp.status_code == 201, resp.text
        work = resp.json()
        assert work["holder"] == "A" and work["fingerprints"] == ["lyrics"]
        assert work["kind"] == "lyrics" and work["artists"] == ["Foster"]
        err = _error(a.post("/v1/works", data={"title": "x", "isrc": "nope"}), 422, "invalid")
        assert err["field"] == "isrc"
        _error(a.post("/v1/works", data={"title": "x", "id": "A-1"}), 409, "conflict")
        _error(a.post("/v1/works", data={"title": "x"},
                      files={"lyrics": ("empty.txt", b"", "text/plain")}), 422, "invalid")
        rid = a.post("/v1/reservations", json={"uses": ["ai-train"], "from": "2025-01-01",
                                               "purposes": ["commercial"]})
        assert rid.status_code == 201, rid.text
        res_id = rid.json()["id"]
        assert set(rid.json()) == {"id"}
        _error(a.post("/v1/reservations", json={"uses": ["ai-train"], "from": "2025-01-01",
                                                "works": ["nope"]}), 404, "not_found")
        _error(a.post("/v1/reservations", json={"uses": [], "from": "2025-01-01"}), 422,
               "invalid")
        lic = a.post("/v1/licences", json={"licensee": "Good Lab", "uses": ["ai-train"],
                                           "from": "2025-01-01", "works": ["A-1"]})
        assert lic.status_code == 201, lic.text
        q = {"work": "A-1", "use": "ai-train", "purpose": "commercial", "at": "2025-06-01"}
        excluded = reader.get("/v1/decide", params=q | {"actor": "Other Lab"}).json()
        assert excluded["decision"] == "exclude" and excluded["holder"] == "A"
        kept = reader.get("/v1/decide", params={"isrc": "GB-AYE-25-00001", "use": "ai-train",
                                                "purpose": "commercial", "at": "2025-06-01",
                                                "actor": "Good Lab"}).json()
        assert kept["decision"] == "keep" and kept["work"] == "A-1"
        # a read key sees reservations but not licences
        assert [r["id"] for r in reader.get("/v1/reservations").json()] == [res_id]
        _error(reader.get("/v1/licences"), 403, "forbidden")
        assert len(a.get("/v1/licences").json()) == 1 and b.get("/v1/licences").json() == []
        shown = reader.get("/v1/works/A-1").json()
        assert len(shown["reservations"]) == 1 and shown["licences"] == []
        # identify: each match with its decision
        resp = reader.post("/v1/identify", files={"file": ("forum.txt", FORUM.read_bytes())},
                           data={"use": "ai-train", "purpose": "commercial",
                                 "actor": "Other Lab", "at": "2025-06-01"})
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert out["modality"] == "lyrics"
        assert out["matches"][0]["work_id"] == "A-1"
        assert out["matches"][0]["decision"]["decision"] == "exclude"
        _error(reader.post("/v1/identify", files={"file": ("x.bin", b"\x00\x01" * 64)}), 422,
               "invalid")
        # revoke, then the decision changes
        r = a.post(f"/v1/reservations/{res_id}/revoke", json={"on": "2025-03-01"})
        assert r.json() == {"revoked": res_id, "on": "2025-03-01"}
        assert reader.get("/v1/decide", params=q | {"actor": "Other Lab"}).json()[
            "decision"] == "keep"
        # audit: who acted, and the chain verifies
        entries = reader.get("/v1/audit", params={"after": 0, "limit": 1000}).json()
        last = entries[-1]
        assert last["action"] == "reservation.revoke"
        assert last["payload"]["by"] == {"name": "A", "holder": "A", "key": live.key_ids["A"]}
        verified = reader.get("/v1/audit/verify").json()
        with live.client("admin") as admin:
            everything = admin.get("/v1/audit", params={"after": 0, "limit": 1000}).json()
        assert verified["ok"] and verified["entries"] == len(everything)
        # the licence granted above is A's business: the read key does not see its entry
        assert "licence.grant" in {e["action"] for e in everything}
        assert not any(e["action"].startswith(("licence.", "apikey.")) for e in entries)
        assert [e for e in everything if e["action"] == "licence.grant"] == [
            e for e in a.get("/v1/audit", params={"limit": 1000}).json()
            if e["action"] == "licence.grant"]
        assert reader.get("/v1/audit", params={"after": entries[-2]["seq"]}).json() == [last]


def test_catalogue_import_all_or_nothing(live: Live, tmp_path: Path) -> None:
    songs = sorted(p for p in LYRICS.iterdir() if p.is_file())
    good = "id,title,lyrics\n" + "".join(f"C-{i},{p.stem},{p.name}\n" for i, p in
                                         enumerate(songs))
    bad = good + "C-9,Bad,missing.txt\n"
    files = [("media", (p.name, p.read_bytes(), "text/plain")) for p in songs]
    with live.client("A") as a:
        err = _error(a.post("/v1/works/import",
                            files=[("catalogue", ("cat.csv", bad.encode(), "text/csv")), *files]),
                     422, "invalid")
        assert err["field"] == f"cat.csv:{len(songs) + 2}: lyrics", err
        assert a.get("/v1/works").json() == []
        resp = a.post("/v1/works/import",
                      files=[("catalogue", ("cat.csv", good.encode(), "text/csv")), *files])
        assert resp.status_code == 201, resp.text
        assert resp.json()["imported"] == len(songs)
        assert {w["id"] for w in a.get("/v1/works", params={"holder": "A"}).json()} == {
            f"C-{i}" for i in range(len(songs))}
        # a media column cannot reach outside the uploads
        sneaky = "id,title,lyrics\nS-1,x,../../../../etc/hostname\n"
        _error(a.post("/v1/works/import",
                      files=[("catalogue", ("s.csv", sneaky.encode(), "text/csv"))]),
               422, "invalid")


def test_upload_limit_is_413(live: Live) -> None:
    big = b"la la la\n" * (300 * 1024)  # 2.7 MiB > the fixture's 2 MiB
    with live.client("A") as a:
        _error(a.post("/v1/works", data={"title": "big"},
                      files={"lyrics": ("big.txt", big, "text/plain")}), 413, "too_large")

        def chunks():  # type: ignore[no-untyped-def]
            # a well-formed multipart start, then more than the limit, with no Content-Length
            yield (b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"'
                   b"\r\nContent-Type: text/plain\r\n\r\n")
            for _ in range(30):
                yield b"x" * 100_000

        resp = a.post("/v1/identify", content=chunks(),
                      headers={"Content-Type": "multipart/form-data; boundary=zz"})
        _error(resp, 413, "too_large")
        assert a.get("/v1/works").json() == []


def test_check_refuses_private_hosts(live: Live) -> None:
    with live.client("reader") as reader:
        err = _error(reader.post("/v1/check", json={"urls": ["http://127.0.0.1:1/x"]}), 422,
                     "invalid")
        assert err["field"] == "urls"
        _error(reader.post("/v1/check", json={"urls": ["file:///etc/passwd"]}), 422, "invalid")
        _error(reader.post("/v1/check", json={"urls": []}), 422, "invalid")


@pytest.fixture
def live_private(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.server.conftest import make_live

    yield from make_live(db_url, tmp_path, check_private_hosts=True)


def test_check_against_a_local_site(live_private: Live) -> None:
    from tdmguard.cli.check_cmd import serve_demo_site

    base, stop = serve_demo_site(demo_data_dir() / "web")
    try:
        with live_private.client("reader") as reader:
            resp = reader.post("/v1/check", json={"urls": [f"{base}/private/x"],
                                                  "agent": "GPTBot"})
            assert resp.status_code == 200, resp.text
            (result,) = resp.json()
            assert result["url"] == f"{base}/private/x"
            assert result["stances"]["ai-train"] == "deny"
    finally:
        stop()


def test_metrics_count_requests(live: Live) -> None:
    with live.client() as anon:
        anon.get("/v1/health")
        text = anon.get("/metrics").text
    assert 'tdmguard_http_requests_total{method="GET",route="/v1/health",status="200"}' in text
    assert "tdmguard_http_request_duration_seconds_bucket" in text
    json.dumps(text)  # plain text exposition
