"""The web pages over HTTP (no browser): sessions, CSRF, who may see and do what, and the
catalogue, reservation, look-up and identify pages calling the service."""

from __future__ import annotations

import httpx

from tdmguard.server.web.session import SESSION_COOKIE, SessionCodec
from tests.server.conftest import Live
from tests.server.web.conftest import DEMO, csrf_of, finish, signed_in

CSV = "id,title,artists,isrc,kind,audio,image\n" \
      "REC-1,Awakening,Max McCracken,GBAYE2400001,recording,ref-awakening.ogg,\n" \
      "ART-1,Frog,architetto,,artwork,,frog.png\n"


def _upload(client: httpx.Client, csv: str, csrf: str) -> httpx.Response:
    """Post the upload form; a valid upload answers with the import job's page, followed
    until the job has finished."""
    files = [
        ("catalogue", ("cat.csv", csv.encode(), "text/csv")),
        ("media", ("ref-awakening.ogg", (DEMO / "audio/ref-awakening.ogg").read_bytes(),
                   "audio/ogg")),
        ("media", ("frog.png", (DEMO / "image/frog.png").read_bytes(), "image/png")),
    ]
    return finish(client, client.post("/upload", files=files, data={"csrf": csrf}))


def test_pages_need_a_session(web: Live) -> None:
    with httpx.Client(base_url=web.url) as c:
        for path in ("/", "/works", "/lookup", "/identify", "/audit", "/upload"):
            r = c.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")
        assert c.get("/static/app.css").status_code == 200


def test_sign_in_sets_a_protected_cookie_and_sign_out_ends_it(web: Live) -> None:
    with httpx.Client(base_url=web.url) as c:
        form = c.get("/signin")
        assert "default-src 'self'" in form.headers["content-security-policy"]
        bad = c.post("/signin", data={"api_key": "nope", "csrf": csrf_of(form.text)})
        assert bad.status_code == 401 and "API key" in bad.text
        r = c.post("/signin", data={"api_key": web.keys["A"], "csrf": csrf_of(form.text),
                                    "next": "/works"})
        assert r.status_code == 303 and r.headers["location"] == "/works"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert web.keys["A"] not in cookie  # sealed, not the key in clear
        page = c.get("/works")
        assert page.status_code == 200 and "Works of A" in page.text
        assert c.post("/signout", data={}).status_code == 403  # no CSRF token
        out = c.post("/signout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert c.get("/works").status_code == 303


def test_sign_in_needs_its_csrf_token(web: Live) -> None:
    with httpx.Client(base_url=web.url) as c:
        c.get("/signin")
        r = c.post("/signin", data={"api_key": web.keys["A"], "csrf": "forged"})
        assert r.status_code == 403
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_forged_or_other_secret_cookie_is_no_session(web: Live) -> None:
    other = SessionCodec("another secret")
    sealed = other.seal(other.new(web.keys["A"]))
    with httpx.Client(base_url=web.url, cookies={SESSION_COOKIE: sealed}) as c:
        assert c.get("/works").status_code == 303
    with httpx.Client(base_url=web.url, cookies={SESSION_COOKIE: "x" * 40}) as c:
        assert c.get("/works").status_code == 303


def test_a_revoked_key_ends_its_session(web: Live) -> None:
    from tdmguard.registry.values import CLI_ACTOR

    c = signed_in(web, "A")
    assert c.get("/works").status_code == 200
    web.service.revoke_api_key(CLI_ACTOR, web.key_ids["A"])
    assert c.get("/works").status_code == 303


def test_catalogue_reserve_lookup_revoke(web_db: Live) -> None:
    web = web_db
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    assert _upload(a, CSV, "").status_code == 403  # form POST without its token
    bad = _upload(a, CSV.replace("frog.png\n", "missing.png\n"), csrf)
    assert bad.status_code == 422
    assert "Nothing was imported" in bad.text and "cat.csv:3: image" in bad.text
    assert "missing.png" in bad.text
    assert web.service.list_works(web.service.authenticate(web.admin)) == []
    ok = _upload(a, CSV, csrf)
    assert ok.status_code == 201 and "Imported 2 works" in ok.text
    listing = a.get("/works", params={"q": "gbaye"})
    assert "REC-1" in listing.text and "ART-1" not in listing.text
    assert "<svg" in listing.text  # the modality chart

    assert a.post("/works/REC-1/reservations", data={"uses": "ai-train"}).status_code == 403
    r = a.post("/works/REC-1/reservations", data={"csrf": csrf, "uses": "ai-train"})
    assert r.status_code == 303
    page = a.get("/works/REC-1").text
    assert "in force" in page and "reservation.add" in page and "work.add" in page

    reader = signed_in(web, "reader")
    look = reader.get("/lookup", params={"by": "isrc", "ref": "GBAYE2400001",
                                         "use": "genai-train", "purpose": "commercial"})
    assert 'data-decision="exclude"' in look.text
    assert reader.get("/works").status_code == 403
    assert reader.get("/works/REC-1").status_code == 403

    b = signed_in(web, "B")
    assert b.get("/works/REC-1").status_code == 403
    b_csrf = csrf_of(b.get("/works").text)
    assert "REC-1" not in b.get("/works").text
    rid = web.service.list_reservations(web.service.authenticate(web.admin))[0].id
    assert b.post(f"/reservations/{rid}/revoke", data={"csrf": b_csrf}).status_code == 403
    assert b.post("/works/REC-1/reservations",
                  data={"csrf": b_csrf, "uses": "tdm"}).status_code == 403

    assert a.post(f"/reservations/{rid}/revoke",
                  data={"csrf": csrf, "back": "/works/REC-1"}).status_code == 303
    look = reader.get("/lookup", params={"by": "id", "ref": "REC-1", "use": "genai-train"})
    assert 'data-decision="keep"' in look.text

    audit = a.get("/audit")
    assert "The chain verifies" in audit.text and "reservation.revoke" in audit.text


def test_identify_an_excerpt(web: Live) -> None:
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    assert _upload(a, CSV, csrf).status_code == 201
    reader = signed_in(web, "reader")
    r_csrf = csrf_of(reader.get("/identify").text)
    query = (DEMO / "audio/query-awakening-speed105-noise15db.ogg").read_bytes()
    files = {"file": ("q.ogg", query, "audio/ogg")}
    assert reader.post("/identify", files=files).status_code == 403
    r = reader.post("/identify", files=files, data={"csrf": r_csrf, "use": "ai-train"})
    assert r.status_code == 200
    assert "REC-1" in r.text and "Awakening" in r.text and 'data-decision="keep"' in r.text


def test_licences_paging_and_bad_input(web: Live) -> None:
    from tdmguard.registry.store import NewWork
    from tdmguard.vocab import WorkKind

    admin = web.service.authenticate(web.admin)
    for i in range(30):
        web.service.register_work(admin, "A", NewWork(title=f"Song {i:02d}",
                                                      kind=WorkKind.RECORDING,
                                                      external_id=f"S-{i:02d}"))
    a = signed_in(web, "A")
    first = a.get("/works")
    assert "30 of 30 works" in first.text and "page 1 of 2" in first.text
    assert "S-00" in first.text and "S-29" not in first.text
    second = a.get("/works", params={"page": 2})
    assert "S-29" in second.text and "S-00" not in second.text
    assert a.get("/works", params={"page": "x"}).status_code == 422  # an HTML page
    assert a.get("/works/NOPE").status_code == 404
    csrf = csrf_of(first.text)

    no_uses = a.post("/works/S-01/licences", data={"csrf": csrf, "licensee": "Lab"})
    assert no_uses.status_code == 422 and "tick at least one use" in no_uses.text
    r = a.post("/works/S-01/licences", data={"csrf": csrf, "licensee": "Example Lab",
                                             "uses": ["ai-train", "search"],
                                             "purposes": "research"})
    assert r.status_code == 303
    page = a.get("/works/S-01").text
    assert "Example Lab" in page and "licence.grant" in page
    lid = web.service.list_licences(admin)[0].id
    b = signed_in(web, "B")
    assert b.post(f"/licences/{lid}/revoke",
                  data={"csrf": csrf_of(b.get("/works").text)}).status_code == 403
    assert a.post(f"/licences/{lid}/revoke",
                  data={"csrf": csrf, "back": "//evil.example/"}).headers["location"] == "/"
    assert "revoked from" in a.get("/works/S-01").text
