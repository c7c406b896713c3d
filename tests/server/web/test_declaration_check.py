"""The declaration bundle page (preview and zip: the same files as ``tdmguard declare``)
and the URL-check page (the same check as ``tdmguard check``, non-public addresses refused
unless the server allows private hosts)."""

from __future__ import annotations

import io
import socket
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from tdmguard.cli.app import main
from tdmguard.cli.check_cmd import serve_demo_site
from tdmguard.demo import demo_data_dir
from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.signing import generate_signing_key
from tdmguard.vocab import Use
from tests.server.conftest import Live, make_live
from tests.server.web.conftest import csrf_of, signed_in

CONTACT = "rights@aurora.example"


def _reserve_a(web: Live) -> None:
    web.service.registry.add_work("A", NewWork(title="Dawn", isrc="GBAYE2400001",
                                               external_id="A-1"))
    web.service.reserve(CLI_ACTOR, "A", uses=[Use.AI_TRAIN], effective_from=date(2025, 1, 1))


def test_bundle_preview_and_zip_are_what_declare_writes(
    web: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _reserve_a(web)
    key = generate_signing_key().public.text
    a = signed_in(web, "A")
    params = {"contact": CONTACT, "public_key": key}
    page = a.get("/declaration", params=params)
    assert page.status_code == 200, page.text
    for name in ("robots.txt", "ai.txt", ".well-known/tdmrep.json", "manifest.json",
                 ".well-known/tdmguard-head.json", ".well-known/tdmguard-keys.json",
                 "server/nginx.conf", "https://aurora.example/robots.txt", "GPTBot"):
        assert name in page.text
    zipped = a.get("/declaration/bundle.zip", params=params)
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    assert 'filename="declaration-A.zip"' in zipped.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    # the CLI on the same registry writes the same files (the manifest and the head file
    # carry the time they were made)
    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "registry.db"))
    monkeypatch.setenv("TDMGUARD_INDEX", str(tmp_path / "index"))
    out = tmp_path / "bundle"
    with pytest.raises(SystemExit) as done:
        main(["declare", "--holder", "A", "--contact", CONTACT, "--public-key", key,
              "--out", str(out)])
    assert done.value.code == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert sorted(archive.namelist()) == written
    for name in written:
        if name not in ("manifest.json", ".well-known/tdmguard-head.json"):
            assert archive.read(name) == (out / name).read_bytes(), name


def test_bundle_errors_and_who_may_see_it(web: Live) -> None:
    a = signed_in(web, "A")
    none = a.get("/declaration", params={"contact": CONTACT})
    assert none.status_code == 404 and "no reservation in force" in none.text
    _reserve_a(web)
    no_contact = a.get("/declaration")
    assert no_contact.status_code == 422 and "e-mail contact" in no_contact.text
    # a public key is text, never a path of the server
    assert a.get("/declaration", params={"contact": CONTACT,
                                         "public_key": "/etc/hostname"}).status_code == 422
    b = signed_in(web, "B")  # B sees its own (none), never A's
    assert b.get("/declaration", params={"contact": CONTACT}).status_code == 404
    assert b.get("/declaration/bundle.zip", params={"contact": CONTACT,
                                                    "holder": "A"}).status_code == 404
    assert signed_in(web, "reader").get("/declaration").status_code == 403
    admin = signed_in(web, "admin")
    picker = admin.get("/declaration")
    assert picker.status_code == 200 and '<option value="A"' in picker.text
    assert admin.get("/declaration", params={"holder": "A",
                                             "contact": CONTACT}).status_code == 200


@pytest.fixture
def web_private(tmp_path: Path) -> Iterator[Live]:
    yield from make_live(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path,
                         check_private_hosts=True)


def test_check_page_reads_a_real_site(web_private: Live) -> None:
    base, stop = serve_demo_site(demo_data_dir() / "web")
    try:
        reader = signed_in(web_private, "reader")
        csrf = csrf_of(reader.get("/check").text)
        url = f"{base}/private/x"
        assert reader.post("/check", data={"url": url}).status_code == 403  # no CSRF token
        r = reader.post("/check", data={"csrf": csrf, "url": url, "agent": "GPTBot"})
        assert r.status_code == 200, r.text
        assert '<td>ai-train</td><td data-stance="deny"' in r.text
        assert "robots.txt" in r.text and f"{base}/robots.txt" in r.text
    finally:
        stop()


def test_check_page_refuses_non_public_addresses(web: Live) -> None:
    base, stop = serve_demo_site(demo_data_dir() / "web")
    try:
        a = signed_in(web, "A")
        csrf = csrf_of(a.get("/check").text)
        for url in (f"{base}/", "http://localhost/", "http://[::1]/", "ftp://x.example/"):
            r = a.post("/check", data={"csrf": csrf, "url": url})
            assert r.status_code == 422 and 'id="check-error"' in r.text, url
        name = socket.gethostname()
        try:
            local = {i[4][0] for i in socket.getaddrinfo(name, 80)}
        except OSError:
            local = set()
        if local and all(not a_.startswith(("127.", "::1")) for a_ in local):
            pytest.skip("this machine's name does not resolve to loopback")
        port = httpx.URL(base).port
        r = a.post("/check", data={"csrf": csrf, "url": f"http://{name}:{port}/private/x"})
        assert r.status_code == 200
        assert "fetches public addresses only" in r.text  # the resolver refused it
        # nothing was fetched: none of the site's signals shows (an unreachable robots.txt
        # reads as a complete disallow, so the stances are deny)
        assert "Content-Signal" not in r.text and "license.xml" not in r.text
    finally:
        stop()
