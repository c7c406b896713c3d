"""End to end in a real headless Chromium (Debian's ``chromium`` driven by Playwright; never
``playwright install``) against real uvicorn: a catalogue manager signs in, uploads a
catalogue (real audio and artwork from the demo data), sees a bad row refused with its
reason, imports (the job page follows the fingerprinting), reserves, previews and downloads
the declaration bundle, imports media without a catalogue; a read key looks the work up
(``exclude``), identifies an excerpt and checks a URL of a real local site; another holder
is refused (pages, forms, the upload job); the reservation is revoked and the look-up says
``keep``. No console error, no request to another origin, a screenshot of each page under
tmp_path (and under ``$TDMGUARD_WEB_SCREENSHOTS`` when set)."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tdmguard.cli.check_cmd import serve_demo_site
from tdmguard.demo import demo_data_dir
from tests.server.conftest import Live, make_live
from tests.server.web.conftest import DEMO

EXPECTED_STATUS = re.compile(r"Failed to load resource: .* status of (403|404|422) ")
CSV_HEAD = "id,title,artists,isrc,kind,audio,image\n"
GOOD_ROWS = (
    "REC-1,Awakening,Max McCracken,GBAYE2400001,recording,ref-awakening.ogg,\n"
    "ART-1,Frog (cover art),architetto,,artwork,,frog.png\n"
)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Live]:
    """The page tests' server, allowed to check a site on 127.0.0.1 (the demo site this
    test serves); the refusal of non-public addresses is tested over HTTP."""
    yield from make_live(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path,
                         max_upload_bytes=4 * 1024 * 1024, check_private_hosts=True)



class Person:
    """One browser context (its own cookies) recording console errors and every request."""

    def __init__(self, browser: Any, live: Live, shots: Path, name: str, **kw: Any) -> None:
        self.live, self.shots, self.name = live, shots, name
        self.context = browser.new_context(**kw)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", self._console)
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}")
                     if r.status >= 400 and r.request.resource_type != "document" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx page as "Failed to load resource"; the refused pages this
        # test opens on purpose (403, 404, 422) are documents: failed sub-resources are in
        # ``failed`` and must stay empty.
        if message.type == "error" and not EXPECTED_STATUS.match(message.text):
            self.errors.append(message.text)

    def go(self, path: str) -> Any:
        return self.page.goto(self.live.url + path)

    def shot(self, label: str) -> None:
        target = self.shots / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(target), full_page=True)
        extra = os.environ.get("TDMGUARD_WEB_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(target, Path(extra) / target.name)

    def sign_in(self, key: str) -> None:
        """With the keyboard only: the key field has focus, Enter submits."""
        self.go("/signin")
        # autofocus lands after the load event on a busy machine: wait for it, then type
        self.page.wait_for_function("document.activeElement && "
                                    "document.activeElement.id === 'api_key'")
        self.page.keyboard.type(key)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(lambda u: "/signin" not in u)

    def unlabelled(self) -> list[str]:
        """Form controls a screen reader could not name (no <label>, no aria-label)."""
        found: list[str] = self.page.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                 .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                              && !e.getAttribute('aria-label'))
                 .map(e => e.outerHTML)"""
        )
        return found

    def csrf(self) -> str:
        value: str = self.page.locator('input[name="csrf"]').first.get_attribute("value")
        return value

    def post(self, path: str, form: dict[str, str]) -> int:
        status: int = self.context.request.post(self.live.url + path, form=form).status
        return status

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        foreign = [u for u in self.requests
                   if not u.startswith(self.live.url + "/") and not u.startswith("data:")]
        assert foreign == [], foreign


def _lookup(p: Person, use: str) -> str:
    p.go("/lookup")
    p.page.select_option("#by", "isrc")
    p.page.fill("#ref", "GBAYE2400001")
    p.page.select_option("#use", use)
    p.page.click("button:text('Decide')")
    decision: str = p.page.locator("#decision [data-decision]").get_attribute("data-decision")
    return decision


def test_catalogue_manager_and_reader_in_chromium(
    browser: Any, web: Live, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    media = [str(DEMO / "audio/ref-awakening.ogg"), str(DEMO / "image/frog.png")]
    bad = tmp_path / "bad" / "catalogue.csv"
    bad.parent.mkdir()
    bad.write_text(CSV_HEAD + GOOD_ROWS.replace("frog.png", "frog-missing.png"), "utf-8")
    good = tmp_path / "catalogue.csv"
    good.write_text(CSV_HEAD + GOOD_ROWS, "utf-8")

    a = Person(browser, web, shots, "holder")
    a.go("/works")
    assert "/signin" in a.page.url  # no session: sent to the sign-in form
    a.shot("signin")
    a.sign_in(web.keys["A"])
    assert a.page.url.endswith("/works")
    cookie = next(c for c in a.context.cookies() if c["name"] == "tdmguard_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # a form POST without its CSRF token is refused
    assert a.post("/works/REC-1/reservations", {"uses": "tdm"}) == 403

    a.go("/upload")
    a.page.set_input_files("#catalogue", str(bad))
    a.page.set_input_files("#media", media)
    a.page.click("button:text('Check and import')")
    error = a.page.locator("#upload-refused").inner_text()
    assert "Nothing was imported" in error and "catalogue.csv:3: image" in error
    assert "frog-missing.png" in error
    a.shot("upload-refused")
    a.page.set_input_files("#catalogue", str(good))
    a.page.set_input_files("#media", media)
    a.page.click("button:text('Check and import')")
    a.page.wait_for_url(re.compile(r"/upload/jobs/"))
    job_url = a.page.url.removeprefix(web.url)
    # the page polls the job and reloads when it has finished
    assert "Imported 2 works" in a.page.locator("#upload-ok").inner_text()
    assert any(u.endswith(job_url + "/progress") for u in a.requests) or \
        a.page.locator("#job[data-state=done]").count() == 1
    a.shot("upload-imported")

    a.page.click("nav >> text=Works")
    a.shot("works")
    a.page.fill("#q", "awakening")
    a.page.press("#q", "Enter")
    a.page.click("a:text('REC-1')")
    a.page.click("summary:text('Add a reservation')")
    a.page.check("#res-use-ai-train")
    a.page.click("button:text('Reserve')")
    assert "in force" in a.page.locator("#reservations").inner_text()
    a.shot("work")
    for path in ("/works/REC-1", "/works", "/upload", "/lookup", "/identify", "/audit",
                 "/declaration", "/check", job_url):
        a.go(path)
        assert a.unlabelled() == [], path

    # the declaration bundle: preview each file, download the zip
    a.go("/declaration")
    a.page.fill("#contact", "rights@aurora.example")
    a.page.click("button:text('Preview')")
    files = a.page.locator("details.bundle-file summary").all_inner_texts()
    assert any("robots.txt" in f for f in files) and any("tdmrep.json" in f for f in files)
    page_file = a.page.locator("details.bundle-file", has=a.page.locator(
        "summary code", has_text=re.compile(r"^ai-reservation\.html$")))
    assert "REC-1" in (page_file.text_content() or "")
    a.shot("declaration")
    with a.page.expect_download() as download:
        a.page.click("#bundle-zip")
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert "robots.txt" in names and "manifest.json" in names and "ai.txt" in names

    # media without a catalogue: one work per file, titled from the file name
    a.go("/upload")
    a.page.set_input_files("#media", [str(DEMO / "image/penguin.png")])
    a.page.click("button:text('Check and import')")
    assert "penguin" in a.page.locator("#upload-ok").inner_text()

    r = Person(browser, web, shots, "reader")
    r.sign_in(web.keys["reader"])
    assert r.page.url.endswith("/lookup")
    assert _lookup(r, "genai-train") == "exclude"  # ai-train covers genai-train
    r.shot("lookup-exclude")
    r.go("/identify")
    r.page.set_input_files("#file", str(DEMO / "audio/query-awakening-speed105-noise15db.ogg"))
    r.page.click("button:text('Identify')")
    matches = r.page.locator("#matches").inner_text()
    assert "REC-1" in matches and "Awakening" in matches and "EXCLUDE" in matches.upper()
    r.shot("identify")
    site, stop_site = serve_demo_site(demo_data_dir() / "web")
    try:  # the URL check, with the keyboard: type the URL, Tab, the crawler, Enter
        r.go("/check")
        r.page.focus("#url")
        r.page.keyboard.type(f"{site}/private/song.mp3")
        r.page.keyboard.press("Tab")
        r.page.keyboard.press("Control+A")
        r.page.keyboard.type("GPTBot")
        r.page.keyboard.press("Enter")
        result = r.page.locator("#check-result")
        assert result.locator("td[data-stance]").first.get_attribute("data-stance") == "deny"
        assert f"{site}/robots.txt" in result.inner_text()
        r.shot("check")
    finally:
        stop_site()
    assert r.go("/works").status == 403  # the holder's private pages
    assert r.go("/works/REC-1").status == 403

    b = Person(browser, web, shots, "other")
    b.sign_in(web.keys["B"])
    assert "REC-1" not in b.page.locator("main").inner_text()
    assert b.go("/works/REC-1").status == 403
    b.shot("forbidden")
    assert b.go(job_url).status == 404  # A's upload job
    assert b.go("/declaration").status == 404  # B reserves nothing; never A's bundle
    b.go("/works")
    rid = web.service.list_reservations(web.service.authenticate(web.admin))[0].id
    assert b.post(f"/reservations/{rid}/revoke", {"csrf": b.csrf()}) == 403

    a.go("/works/REC-1")
    a.page.click(f"button[aria-label='Revoke reservation {rid}']")
    assert "revoked from" in a.page.locator("#reservations").inner_text()
    assert _lookup(r, "genai-train") == "keep"
    r.shot("lookup-keep")
    a.go("/audit")
    assert "The chain verifies" in a.page.locator("#verify").inner_text()
    a.shot("audit")

    phone = Person(browser, web, shots, "phone", viewport={"width": 390, "height": 844})
    phone.sign_in(web.keys["A"])
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"page wider than a phone by {overflow}px"
    phone.shot("works")

    for p in (a, r, b, phone):
        p.check_clean()
        p.context.close()
    assert len(list(shots.glob("*.png"))) >= 12


def test_job_page_follows_progress_in_chromium(browser: Any, web: Live, tmp_path: Path) -> None:
    """The job page's script polls the record a worker writes: the bar and the count move
    as it changes, and the page reloads to the imported works when the job is done."""
    from tdmguard.server.web.jobs import JobStore

    jobs = JobStore.for_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    job = jobs.create("holder:A", "big-catalogue.csv")
    job.done, job.total = 1, 3
    jobs.save(job)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    a = Person(browser, web, shots, "holder")
    a.sign_in(web.keys["A"])
    a.go(f"/upload/jobs/{job.id}")
    assert a.page.locator("#job-count").inner_text() == "1 of 3"
    assert a.unlabelled() == []
    job.done = 2
    jobs.save(job)
    from playwright.sync_api import expect

    expect(a.page.locator("#job-count")).to_have_text("2 of 3")  # polled, no reload
    assert a.page.locator("#job-bar").get_attribute("max") == "3"
    assert a.page.evaluate("document.getElementById('job-bar').value") == 2
    a.shot("upload-progress")
    job.done, job.state = 3, "done"
    job.works = [{"id": "W-9", "title": "Late Song", "modalities": ["audio"]}]
    jobs.save(job)
    a.page.wait_for_selector("#upload-ok")
    assert "Late Song" in a.page.locator("#upload-ok").inner_text()
    a.check_clean()
    a.context.close()
    (jobs.folder / f"{job.id}.json").unlink()
