"""Upload jobs under ``tdmguard serve --workers 2`` (a real process): the job runs in the
worker that took the upload, and every worker answers its progress (the record is a file
all workers read), whichever one a new connection reaches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import serve_workers
from tests.server.web.conftest import DEMO, csrf_of

TDMGUARD = str(Path(sys.executable).parent / "tdmguard")


def _tdmguard(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([TDMGUARD, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout


@pytest.mark.slow
def test_every_worker_answers_a_jobs_progress(tmp_path: Path) -> None:
    env = {**os.environ, "TDMGUARD_DB": str(tmp_path / "r.db"), "PYTHONUNBUFFERED": "1",
           "TDMGUARD_WEB_JOBS_DIR": str(tmp_path / "jobs")}
    for name in ("TDMGUARD_INDEX", "PROMETHEUS_MULTIPROC_DIR", "TDMGUARD_WEB_SECRET"):
        env.pop(name, None)
    _tdmguard("holder", "add", "Aurora", env=env)
    key = json.loads(_tdmguard("apikey", "create", "--holder", "Aurora", "--scope", "write",
                               "--json", env=env))["key"]
    proc, url = serve_workers([TDMGUARD], env, 2, timeout=120)
    try:
        # no keep-alive: every request is a new connection, to either worker
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=url, timeout=60, limits=fresh) as c:
            form = c.get("/signin")
            assert c.post("/signin", data={"api_key": key, "csrf": csrf_of(form.text),
                                           "next": "/upload"}).status_code == 303
            csrf = csrf_of(c.get("/upload").text)
            csv = "id,title,audio\nREC-1,Awakening,ref-awakening.ogg\n"
            files = [("catalogue", ("cat.csv", csv.encode(), "text/csv")),
                     ("media", ("ref-awakening.ogg",
                                (DEMO / "audio/ref-awakening.ogg").read_bytes(), "audio/ogg"))]
            posted = c.post("/upload", files=files, data={"csrf": csrf})
            assert posted.status_code == 303, posted.text
            job = posted.headers["location"]
            states = []
            for _ in range(20):
                r = c.get(job + "/progress")
                assert r.status_code == 200, r.text
                states.append(r.json()["state"])
                time.sleep(0.1)
            deadline = time.monotonic() + 60
            while states[-1] not in ("done", "failed") and time.monotonic() < deadline:
                states.append(c.get(job + "/progress").json()["state"])
                time.sleep(0.2)
            assert states[-1] == "done", states
            assert "Imported 1 work" in c.get(job).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
