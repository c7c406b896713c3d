"""Load test of ``tdmguard serve``: 100 concurrent clients (an httpx async driver) for 60 s
on ``GET /v1/decide`` and on ``POST /v1/identify`` (10 s audio clips of the demo data),
side by side with the CLI doing the same work (``tdmguard decide``, ``tdmguard identify``).

    python -m benchmarks.server [--duration 60] [--clients 100] [--workers 2] [--db URL]

Reports requests/s, p50 and p99 latency and errors per endpoint, checks the audit chain
after the run, writes ``benchmarks/server/results.json`` and ``RESULTS.md``. The driver runs
on the same machine as the server (it takes CPU from it): say so when reading the numbers.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tdmguard import __version__
from tdmguard.config import Settings
from tdmguard.demo import demo_data_dir
from tdmguard.registry.service import RegistryService
from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR, Scope
from tdmguard.vocab import Modality, Purpose, Use

HERE = Path(__file__).resolve().parent
AUDIO = demo_data_dir() / "audio"
TDMGUARD = str(Path(sys.executable).parent / "tdmguard")
TARGETS = {"decide_rps": 500, "decide_p99_ms": 100, "identify_rps": 20}


@dataclass
class Load:
    name: str
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0  # CPU seconds the server's processes used during the run

    def to_json(self) -> dict[str, object]:
        lat = sorted(self.latencies_s)
        ok = len(lat)

        def pct(p: float) -> float | None:
            return round(1000 * lat[min(ok - 1, int(p * ok))], 1) if ok else None

        return {
            "endpoint": self.name,
            "requests": ok + self.errors,
            "errors": self.errors,
            "requests_per_s": round(ok / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / ok, 2) if ok else None,
            # what two otherwise idle cores would answer at that cost (the target
            # machine); an estimate that leaves out the driver, which shares this machine
            "requests_per_s_on_2_free_cores": round(2 * ok / self.server_cpu_s, 1)
            if self.server_cpu_s else None,
        }


def setup(db_url: str, index_dir: Path) -> tuple[str, str]:
    """A registry with the demo's three reference recordings, reserved; returns a read key
    and a registered work id."""
    service = RegistryService.open(Settings(db_url, index_dir), create=True)
    service.add_holder(CLI_ACTOR, "Aurora")
    for ref in sorted(AUDIO.glob("ref-*.ogg")):
        service.register_work(CLI_ACTOR, "Aurora", NewWork(title=ref.stem, external_id=ref.stem),
                              [(Modality.AUDIO, ref)])
    service.reserve(CLI_ACTOR, "Aurora", uses=[Use.AI_TRAIN], purposes=[Purpose.COMMERCIAL],
                    effective_from=datetime(2025, 1, 1).date())
    _, key = service.create_api_key(CLI_ACTOR, name="bench-reader", scope=Scope.READ)
    service.close()
    return key, "ref-awakening"


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a process, from /proc (Linux)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def server_cpu_s(root: int) -> float:
    """CPU seconds used so far by ``tdmguard serve`` and its worker processes: divided by
    the requests answered, the cost of one request, whatever else loads the machine."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                stats[int(entry.name)] = st
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo += [child for child, (ppid, _) in stats.items() if ppid == pid]
    return total


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([TDMGUARD, "serve", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    ready = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("tdmguard serve exited")
        try:
            httpx.get(f"{url}/v1/health", timeout=2).raise_for_status()
            ready += 1
            if ready >= 3 * workers:  # every worker up (requests spread over them)
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("tdmguard serve did not answer in 300 s")


async def drive(url: str, key: str, name: str, clients: int, duration_s: float,
                request: str, payloads: list[bytes] | None, params: dict[str, str]) -> Load:
    load = Load(name)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=120) as client:
        # warm-up: every worker opens its index and caches before the clock starts
        for i in range(4):
            if payloads:
                await client.post(request, files={"file": ("c.ogg", payloads[i % len(payloads)])},
                                  data=params)
            else:
                await client.get(request, params=params)
        stop = time.monotonic() + duration_s

        async def one_client(n: int) -> None:
            i = n
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    if payloads:
                        resp = await client.post(
                            request, files={"file": ("c.ogg", payloads[i % len(payloads)])},
                            data=params)
                    else:
                        resp = await client.get(request, params=params)
                    status = resp.status_code
                except httpx.HTTPError:
                    status = 0
                dt = time.perf_counter() - t0
                load.statuses[status] = load.statuses.get(status, 0) + 1
                if status == 200:
                    load.latencies_s.append(dt)
                else:
                    load.errors += 1
                i += clients

        t_start = time.perf_counter()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        load.wall_s = time.perf_counter() - t_start
    return load


def cli_side(env: dict[str, str], work: str, clips: list[Path]) -> dict[str, object]:
    """The CLI doing the same work: one process per decide (as a script calling the CLI
    would), and one process identifying a batch of clips."""
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = subprocess.run([TDMGUARD, "decide", "--work", work, "--use", "ai-train",
                              "--purpose", "commercial", "--actor", "Lab", "--at", "2025-06-01",
                              "--json"], env=env, capture_output=True, text=True, check=True)
        runs.append(time.perf_counter() - t0)
        assert json.loads(out.stdout)["decision"] == "exclude"
    batch = [str(c) for c in clips] * 5
    t0 = time.perf_counter()
    subprocess.run([TDMGUARD, "identify", *batch, "--json"], env=env, capture_output=True,
                   check=True)
    wall = time.perf_counter() - t0
    median = statistics.median(runs)
    return {
        "decide_s_per_call_median": round(median, 3),
        "decide_requests_per_s": round(1 / median, 2),
        "identify_clips": len(batch),
        "identify_wall_s": round(wall, 2),
        "identify_clips_per_s": round(len(batch) / wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per endpoint")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--no-write", action="store_true", help="do not update results files")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tdmguard-bench-server-"))
    db_url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    index_dir = tmp / "index"
    key, work = setup(db_url, index_dir)
    clips = [*sorted(AUDIO.glob("query-*.ogg")), AUDIO / "unregistered-armygeddon.ogg"]
    payloads = [c.read_bytes() for c in clips]
    env = {**os.environ, "TDMGUARD_DB": db_url, "TDMGUARD_INDEX": str(index_dir)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    load_at_start = os.getloadavg()[0]
    proc, url = serve(env, args.workers)
    try:
        cpu0 = server_cpu_s(proc.pid)
        decide = asyncio.run(drive(url, key, "GET /v1/decide", args.clients, args.duration,
                                   "/v1/decide", None,
                                   {"work": work, "use": "ai-train", "purpose": "commercial",
                                    "actor": "Lab", "at": "2025-06-01"}))
        cpu1 = server_cpu_s(proc.pid)
        decide.server_cpu_s = cpu1 - cpu0
        identify = asyncio.run(drive(url, key, "POST /v1/identify (10 s clips)", args.clients,
                                     args.duration, "/v1/identify", payloads,
                                     {"use": "ai-train", "purpose": "commercial"}))
        identify.server_cpu_s = server_cpu_s(proc.pid) - cpu1
        verified = httpx.get(f"{url}/v1/audit/verify",
                             headers={"Authorization": f"Bearer {key}"}, timeout=60).json()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    cli = cli_side(env, work, clips)

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores ({platform.platform()}), "
                   "shared with other jobs; driver on the same machine",
        "load_average_1m_at_start": round(load_at_start, 1),
        "version": __version__,
        "database": "sqlite" if db_url.startswith("sqlite") else db_url.split("://")[0],
        "workers": args.workers,
        "clients": args.clients,
        "duration_s": args.duration,
        "server": [decide.to_json(), identify.to_json()],
        "cli": cli,
        "audit_verify": verified,
        "targets": TARGETS,
    }
    d, i = result["server"]  # type: ignore[misc]
    rows = [
        ("decide", d["requests_per_s"], d["p50_ms"], d["p99_ms"], d["errors"],
         cli["decide_requests_per_s"], f">= {TARGETS['decide_rps']}/s, p99 <= "
         f"{TARGETS['decide_p99_ms']} ms", d["server_cpu_ms_per_request"],
         d["requests_per_s_on_2_free_cores"]),
        ("identify (10 s clips)", i["requests_per_s"], i["p50_ms"], i["p99_ms"], i["errors"],
         cli["identify_clips_per_s"], f">= {TARGETS['identify_rps']} clips/s",
         i["server_cpu_ms_per_request"], i["requests_per_s_on_2_free_cores"]),
    ]
    header = ("| endpoint | server req/s | p50 ms | p99 ms | errors | CLI req/s | target "
              "| server CPU ms/req | req/s at that cost on 2 free cores |")
    table = [header, "|---|---|---|---|---|---|---|---|---|"]
    table += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    print("\n".join(table))
    print(f"audit chain after the run: ok={verified['ok']} entries={verified['entries']}")
    if args.no_write:
        return
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    md = [
        "## server",
        "",
        f"`python -m benchmarks.server` ({result['date']}, {result['machine']}, "
        f"load average {result['load_average_1m_at_start']} at the start; "
        f"{args.workers} uvicorn workers, {result['database']}, {args.clients} concurrent "
        f"clients for {args.duration:g} s per endpoint, httpx async driver).",
        "",
        *table,
        "",
        f"CLI: one `tdmguard decide` process per decision (median "
        f"{cli['decide_s_per_call_median']} s, mostly interpreter and import start-up); one "
        f"`tdmguard identify` process for {cli['identify_clips']} clips "
        f"({cli['identify_wall_s']} s). Audit chain verified after the run: "
        f"{verified['ok']} ({verified['entries']} entries).",
        "",
        "The driver and the server share one machine that other jobs load too, so the "
        "measured rates and latencies are far below what the server does alone. The last two "
        "columns count the CPU time the server's processes used per answered request (from "
        "/proc) and divide two cores by it: the rate two otherwise idle cores would sustain, "
        "an estimate that leaves out the driver and queueing. The issue's targets (decide >= "
        "500 req/s with p99 <= 100 ms, identify >= 20 clips/s, on 2 cores) are not "
        "demonstrated by the measured columns on this machine.",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(md), "utf-8")


if __name__ == "__main__":
    main()
