"""``tdmguard serve`` as a user runs it: a real process, on a free port, with a key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TDMGUARD = str(Path(sys.executable).parent / "tdmguard")


def _tdmguard(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([TDMGUARD, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_serve_answers_with_keys(tmp_path: Path, workers: int) -> None:
    env = {**os.environ, "TDMGUARD_DB": str(tmp_path / "r.db"), "PYTHONUNBUFFERED": "1"}
    env.pop("TDMGUARD_INDEX", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    _tdmguard("holder", "add", "Aurora", env=env)
    key = json.loads(_tdmguard("apikey", "create", "--holder", "Aurora", "--scope", "write",
                               "--json", env=env))["key"]
    proc = subprocess.Popen(
        [TDMGUARD, "serve", "--port", "0", "--workers",
         str(workers)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 90
        url = None
        started = 0
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            url = url or (found.group(1) if found else None)
            started += "Application startup complete" in line
            if url and started >= workers:
                break
        assert url and started >= workers, "".join(lines)
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/v1/health").json()["status"] == "ok"
            auth = {"Authorization": f"Bearer {key}"}
            resp = client.post("/v1/reservations", headers=auth,
                               json={"uses": ["tdm"], "from": "2025-01-01"})
            assert resp.status_code == 201, resp.text
            for _ in range(4):  # whichever worker answers sees the write
                assert len(client.get("/v1/reservations", headers=auth).json()) == 1
            assert client.get("/v1/holders").status_code == 401
            metrics = client.get("/metrics").text
            assert "tdmguard_http_requests_total" in metrics
    finally:
        proc.terminate()
        proc.wait(timeout=30)
