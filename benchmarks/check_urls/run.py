"""Benchmark ``check_urls``: 10,000 URLs over 200 origins served on 127.0.0.1, against
datadiligence (PyPI) on the same URLs, plus a table of the signals each detects.

    python -m benchmarks.check_urls [--origins 200] [--repeats 3] [--dd-budget 60]

Sets up its peer itself: datadiligence goes into its own venv under
``${TDMGUARD_CACHE:-~/.cache/tdmguard}/bench/dd-venv`` (its pins stay out of ours). Writes
``benchmarks/check_urls/results.json`` and prints a table; RESULTS.md holds the latest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tdmguard import __version__
from tdmguard.signals.check import CheckOptions, check_urls_async, fast_loop_factory
from tdmguard.signals.fetch import FetchSettings
from tdmguard.vocab import Stance, Use

from .sites import PAGES_PER_ORIGIN, PROBES, bulk_urls, probe_routes

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard")) / "bench"


def _dd_python() -> Path:
    venv = CACHE / "dd-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(python), "-c", "import datadiligence"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "datadiligence==0.1.7"], check=True
        )
    return python


def _server_python() -> str:
    """The benchmark server runs uvicorn with httptools and uvloop from its own venv (the
    server is the instrument: it must not be the bottleneck); plain uvicorn otherwise."""
    venv = CACHE / "server-venv"
    python = venv / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        probe = subprocess.run(
            [str(python), "-c", "import uvicorn, httptools, uvloop"], capture_output=True
        )
        if probe.returncode != 0:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "uvicorn[standard]"], check=True
            )
        return str(python)
    except (OSError, subprocess.CalledProcessError):
        return sys.executable


def _start_server(n_origins: int, tmp: Path) -> tuple[subprocess.Popen[bytes], list[int], str]:
    port_file = tmp / "ports.json"
    proc = subprocess.Popen(
        [
            _server_python(),
            "-m",
            "benchmarks.check_urls.sites",
            str(port_file),
            str(n_origins),
            str(len(PROBES)),
        ],
        cwd=HERE.parents[1],
    )
    deadline = time.time() + 60
    while not port_file.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("the benchmark server did not start")
        time.sleep(0.1)
    time.sleep(0.2)
    info = json.loads(port_file.read_text())
    return proc, info["ports"], info["server"]


def _server_requests(port: int, reset: bool = False) -> int:
    path = "/__reset" if reset else "/__stats"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
        body = r.read()
    return 0 if reset else int(json.loads(body)["requests"])


def _tdmguard_run(
    urls: list[str], agent: str = "*", *, pages: bool = True
) -> tuple[float, list[object], int]:
    """One run as ``check_urls`` does it (uvloop when installed), fresh fetcher and cache."""
    options = CheckOptions(
        agent=agent, fetch_pages=pages, fetch=FetchSettings(max_concurrency=64, per_origin=6)
    )
    started = time.perf_counter()
    with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
        run = runner.run(check_urls_async(urls, options=options))
    return time.perf_counter() - started, list(run.results), run.requests


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--origins", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dd-budget", type=float, default=60.0, help="seconds per datadiligence run")
    args = ap.parse_args()
    dd_python = _dd_python()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, ports, server = _start_server(args.origins, tmp)
        try:
            results = _measure(args, ports, dd_python, tmp, server)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _measure(
    args: argparse.Namespace, ports: list[int], dd_python: Path, tmp: Path, server: str
) -> dict[str, object]:
    load_start = os.getloadavg()
    n = args.origins
    urls = bulk_urls(lambda i: f"http://127.0.0.1:{ports[i]}", n)
    stats_port = ports[0]
    # tdmguard: fresh fetcher and cache per repeat (nothing carried over); full mode (each
    # URL's own headers and meta tags too) and site-files mode (--no-pages).
    modes = {}
    for mode, pages in (("full", True), ("site-files", False)):
        times, requests = [], []
        for _ in range(args.repeats):
            _server_requests(stats_port, reset=True)
            seconds, results, _sent = _tdmguard_run(urls, pages=pages)
            times.append(seconds)
            requests.append(_server_requests(stats_port))
        denied = sum(1 for r in results if r.stances[Use.AI_TRAIN] is Stance.DENY)  # type: ignore[attr-defined]
        modes[mode] = {
            "urls": len(urls),
            "seconds_median": statistics.median(times),
            "seconds_all": times,
            "urls_per_s": len(urls) / statistics.median(times),
            "requests_per_url": statistics.median(requests) / len(urls),
            "ai_train_denied": denied,
        }
    tdm = modes["full"]
    # datadiligence: same URLs (in the same order), sequential and with 16 threads.
    url_file = tmp / "urls.txt"
    url_file.write_text("\n".join(urls))
    dd_runs = []
    for threads in (1, 16):
        _server_requests(stats_port, reset=True)
        out = tmp / f"dd{threads}.json"
        env = dict(os.environ, DD_BUDGET_S=str(args.dd_budget), DD_THREADS=str(threads))
        subprocess.run(
            [str(dd_python), str(HERE / "peer_datadiligence.py"), "bulk", str(url_file), str(out)],
            check=True,
            env=env,
        )
        run = json.loads(out.read_text())
        run["urls_per_s"] = run["urls"] / run["seconds"]
        run["requests_per_url"] = _server_requests(stats_port) / max(run["urls"], 1)
        dd_runs.append(run)
    # Detection table: one probe origin per channel, agent GPTBot for both tools.
    probe_urls = {}
    for k, name in enumerate(PROBES):
        path, _ = probe_routes(name)
        probe_urls[name] = f"http://127.0.0.1:{ports[n + k]}{path}"
    _, probe_results, _ = _tdmguard_run(list(probe_urls.values()), agent="GPTBot")
    ours = {
        name: any(r.stances[u] is Stance.DENY for u in (Use.AI_TRAIN, Use.GENAI_TRAIN))  # type: ignore[attr-defined]
        for name, r in zip(probe_urls, probe_results, strict=True)
    }
    probe_file, probe_out = tmp / "probes.txt", tmp / "probes.json"
    probe_file.write_text("\n".join(probe_urls.values()))
    subprocess.run(
        [
            str(dd_python),
            str(HERE / "peer_datadiligence.py"),
            "probe",
            str(probe_file),
            str(probe_out),
        ],
        check=True,
        env=dict(os.environ, DD_AGENT="GPTBot"),
    )
    theirs_raw = json.loads(probe_out.read_text())
    theirs = {name: theirs_raw[u] is False for name, u in probe_urls.items()}
    best_dd = max(r["urls_per_s"] for r in dd_runs)
    return {
        "benchmark": "check_urls",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "tdmguard_version": __version__,
        "setup": {
            "origins": n,
            "urls_per_origin": PAGES_PER_ORIGIN,
            "server": f"{server}, one process, 127.0.0.1",
            "tdmguard_settings": {"max_concurrency": 64, "per_origin": 6},
        },
        "load_average_1_5_15": {"start": load_start, "end": os.getloadavg()},
        "tdmguard": tdm,
        "tdmguard_site_files_only": modes["site-files"],
        "datadiligence": dd_runs,
        "speedup_vs_datadiligence_best": tdm["urls_per_s"] / best_dd,
        "speedup_site_files_vs_datadiligence_best": modes["site-files"]["urls_per_s"] / best_dd,
        "detection": {
            name: {"tdmguard": ours[name], "datadiligence": theirs[name]} for name in PROBES
        },
    }


def _row(label: str, run: dict[str, float]) -> str:
    return f"{label:<34}{run['urls']:>8}{run['urls_per_s']:>10.0f}{run['requests_per_url']:>9.2f}"


def _print(r: dict[str, object]) -> None:
    tdm, sf = r["tdmguard"], r["tdmguard_site_files_only"]
    assert isinstance(tdm, dict) and isinstance(sf, dict)
    print(f"\n{'tool':<34}{'URLs':>8}{'URLs/s':>10}{'req/URL':>9}")
    print(_row("tdmguard check_urls", tdm))
    print(_row("tdmguard check_urls --no-pages", sf))
    for run in r["datadiligence"]:  # type: ignore[attr-defined]
        print(_row(f"datadiligence {run['version']} ({run['threads']} thr)", run))
    print(f"speed-up vs the best datadiligence run: {r['speedup_vs_datadiligence_best']:.1f}x\n")
    print(f"{'signal (probe says: no AI training)':<44}{'tdmguard':>10}{'datadil.':>10}")
    yes = {True: "yes", False: "no"}
    for name, row in r["detection"].items():  # type: ignore[attr-defined]
        print(f"{name:<44}{yes[row['tdmguard']]:>10}{yes[row['datadiligence']]:>10}")


if __name__ == "__main__":
    main()
