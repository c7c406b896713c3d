"""Catalogue uploads as background jobs: rows validated (and every refused row shown)
before anything is stored, real progress while fingerprinting, jobs seen only by the
uploader's holder, a job record readable by every worker, Excel catalogues and media-only
uploads (one work per file, titled from its tags or file name)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tdmguard.server.web.jobs import JobStore
from tests.server.conftest import Live
from tests.server.web.conftest import DEMO, csrf_of, finish, signed_in

AUDIO = DEMO / "audio/ref-awakening.ogg"
FROG = DEMO / "image/frog.png"


def _post(client: httpx.Client, csrf: str, catalogue: tuple[str, bytes] | None,
          media: list[tuple[str, bytes]]) -> httpx.Response:
    files = [("media", (name, data, "application/octet-stream")) for name, data in media]
    if catalogue is not None:
        files.insert(0, ("catalogue", (catalogue[0], catalogue[1], "text/plain")))
    return client.post("/upload", files=files, data={"csrf": csrf})


def test_every_refused_row_is_shown_before_anything_is_stored(web: Live) -> None:
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    csv = ("id,title,isrc,audio\nR-1,Good,,ref-awakening.ogg\nR-2,Bad code,NOPE,\n"
           "R-3,No file,,missing.ogg\nR-1,Twice,,\n")
    r = _post(a, csrf, ("cat.csv", csv.encode()), [("ref-awakening.ogg", AUDIO.read_bytes())])
    assert r.status_code == 422 and "Nothing was imported" in r.text
    assert "3 rows of cat.csv refused" in r.text
    for where in ("cat.csv:3: isrc", "cat.csv:4: audio", "cat.csv:5: id"):
        assert where in r.text
    assert "missing.ogg" in r.text and "tdmguard-upload-" not in r.text  # no server path
    assert web.service.search_works(web.service.authenticate(web.admin)).total == 0


def test_progress_is_polled_and_the_job_is_the_uploaders(web: Live) -> None:
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    csv = "id,title,audio,image\nREC-1,Awakening,ref-awakening.ogg,\nART-1,Frog,,frog.png\n"
    posted = _post(a, csrf, ("cat.csv", csv.encode()),
                   [("ref-awakening.ogg", AUDIO.read_bytes()), ("frog.png", FROG.read_bytes())])
    assert posted.status_code == 303
    job = posted.headers["location"]
    page = a.get(job)
    assert page.status_code in (200, 201) and 'data-job="' in page.text
    done = finish(a, posted)
    assert done.status_code == 201 and "Imported 2 works" in done.text
    state = a.get(job + "/progress").json()
    assert state["state"] == "done" and state["done"] == state["total"] == 2
    assert {w["id"] for w in state["works"]} == {"REC-1", "ART-1"}
    assert "owner" not in state
    # another holder, a read key, no session: nothing to see
    b = signed_in(web, "B")
    assert b.get(job + "/progress").status_code == 404
    assert b.get(job).status_code == 404 and "REC-1" not in b.get(job).text
    assert signed_in(web, "reader").get(job + "/progress").status_code == 403
    with httpx.Client(base_url=web.url) as anon:
        assert anon.get(job + "/progress").status_code == 303
    assert a.get("/upload/jobs/not-a-job/progress").status_code == 404


def test_a_file_that_cannot_be_fingerprinted_fails_the_job_and_stores_nothing(
    web: Live,
) -> None:
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    csv = "id,title,audio\nOK-1,Fine,ref-awakening.ogg\nBAD-1,Broken,broken.ogg\n"
    done = finish(a, _post(a, csrf, ("cat.csv", csv.encode()),
                           [("ref-awakening.ogg", AUDIO.read_bytes()),
                            ("broken.ogg", b"OggS" + b"\x00" * 4000)]))
    assert done.status_code == 422 and "Nothing was imported" in done.text
    assert "broken.ogg" in done.text and "tdmguard-upload-" not in done.text
    assert web.service.search_works(web.service.authenticate(web.admin)).total == 0


def test_an_excel_catalogue(web: Live) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Title", "Artist", "ISRC", "Image"])
    sheet.append(["XL-1", "Frog in Excel", "architetto", "GB-AYE-24-00099", "frog.png"])
    data = io.BytesIO()
    book.save(data)
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    done = finish(a, _post(a, csrf, ("cat.xlsx", data.getvalue()),
                           [("frog.png", FROG.read_bytes())]))
    assert done.status_code == 201 and "XL-1" in done.text and "image" in done.text
    found = web.service.search_works(web.service.authenticate(web.admin), None, "GBAYE2400099")
    assert [w.title for w in found.works] == ["Frog in Excel"]


def test_media_without_a_catalogue(web: Live, tmp_path: Path) -> None:
    from mutagen.oggvorbis import OggVorbis

    tagged = tmp_path / "track01.ogg"
    shutil.copy(AUDIO, tagged)
    tags = OggVorbis(tagged)
    tags["title"] = "Awakening (tagged)"
    tags["artist"] = ["Max McCracken"]
    tags.save()
    a = signed_in(web, "A")
    csrf = csrf_of(a.get("/upload").text)
    done = finish(a, _post(a, csrf, None, [("track01.ogg", tagged.read_bytes()),
                                           ("green_frog.png", FROG.read_bytes())]))
    assert done.status_code == 201 and "Imported 2 works" in done.text
    works = web.service.search_works(web.service.authenticate(web.admin), "A").works
    assert sorted((w.title, w.artists, w.modalities) for w in works) == [
        ("Awakening (tagged)", ("Max McCracken",), ("audio",)),
        ("green frog", (), ("image",)),
    ]
    refused = _post(a, csrf, None, [("notes.bin", os.urandom(3000))])
    assert refused.status_code == 422 and "notes.bin" in refused.text
    assert _post(a, csrf, None, []).status_code == 422


def test_job_records_are_shared_by_workers_and_a_dead_workers_job_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TDMGUARD_WEB_JOBS_DIR", raising=False)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    one, other = JobStore.for_registry(url), JobStore.for_registry(url)
    assert one.folder == other.folder != JobStore.for_registry(url + "x").folder
    job = one.create("holder:A", "cat.csv")
    try:
        job.done, job.total = 3, 10
        one.save(job)
        seen = other.load(job.id, "holder:A")
        assert seen is not None and (seen.done, seen.total, seen.state) == (3, 10,
                                                                           "fingerprinting")
        assert other.load(job.id, "holder:B") is None
        assert oct(one.folder.stat().st_mode & 0o777) == "0o700"
        job.pid = 2**22 + 12345  # no such process: its worker is gone
        one.save(job)
        gone = other.load(job.id, "holder:A")
        assert gone is not None and gone.state == "failed" and "stopped" in (gone.error or "")
    finally:
        (one.folder / f"{job.id}.json").unlink()


def test_progress_is_written_while_the_import_runs(tmp_path: Path) -> None:
    import threading

    from tdmguard.registry.catalogue_import import ImportMode, ImportReport

    store = JobStore(tmp_path / "jobs")
    job = store.create("holder:A", "cat.csv")
    halfway, go_on = threading.Event(), threading.Event()

    def work(progress: Any) -> ImportReport:
        progress(1, 3)
        halfway.set()
        go_on.wait(10)
        progress(3, 3)
        return ImportReport("cat.csv", ImportMode.ADD)

    upload = tmp_path / "upload"
    upload.mkdir()
    thread = store.run(job, work, upload)
    assert halfway.wait(10)
    seen = store.load(job.id, "holder:A")
    assert seen is not None and (seen.done, seen.total, seen.state) == (1, 3, "fingerprinting")
    go_on.set()
    thread.join(10)
    seen = store.load(job.id, "holder:A")
    assert seen is not None and (seen.done, seen.state) == (3, "done")
    assert not upload.exists()  # the uploaded files go when the job ends


def test_an_admin_key_chooses_the_holder(web: Live) -> None:
    admin = signed_in(web, "admin")
    form = admin.get("/upload")
    assert form.status_code == 200 and '<select id="holder" name="holder"' in form.text
    assert ">A</option>" in form.text and ">B</option>" in form.text
    csrf = csrf_of(form.text)
    csv = b"id,title,image\nADM-1,Frog for B,frog.png\n"
    files = [("catalogue", ("cat.csv", csv, "text/plain")),
             ("media", ("frog.png", FROG.read_bytes(), "image/png"))]
    # no holder chosen: refused with the field named, nothing stored
    refused = admin.post("/upload", files=files, data={"csrf": csrf})
    assert refused.status_code == 422 and "choose the holder" in refused.text
    assert "Where: holder" in refused.text
    unknown = admin.post("/upload", files=files, data={"csrf": csrf, "holder": "Nobody"})
    assert unknown.status_code == 422 and "no holder named &#39;Nobody&#39;" in unknown.text
    done = finish(admin, admin.post("/upload", files=files, data={"csrf": csrf, "holder": "B"}))
    assert done.status_code == 201 and "ADM-1" in done.text
    actor = web.service.authenticate(web.admin)
    assert [w.id for w in web.service.search_works(actor, "B").works] == ["ADM-1"]
    assert web.service.search_works(actor, "A").total == 0
    # a write key has no picker and acts for its own holder
    assert '<select id="holder"' not in signed_in(web, "A").get("/upload").text
