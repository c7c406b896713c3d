"""A/B of the scan's overhead on text against another checkout of tdmguard (issue 12).

On a shared machine two runs minutes apart differ by more than a change's effect, so both
sides run interleaved, each in a fresh process, with the other tdmguard put first on
``PYTHONPATH`` (its ``src`` folder, read only; its bytecode as it has it):

- ``paired``: the paired steady state of ``run.bench_paired`` for text (one process: the
  bare engine on a shard's items, then ``run_shard`` on the same shard, alternating), each
  side at its own shard size;
- ``command``: the bare program, the other's ``tdmguard scan`` and this checkout's (each at
  its own default shard size), rotating the order; CPU of every process of the run, and
  the part spent on the items (as ``run.bench_command``).

Run: ``python -m benchmarks.scan.ab paired --other /work/main/src --other-size 64``, or
``python -m benchmarks.scan.ab command --other /work/main/src --items 24000``. Prints
each run and the medians; writes nothing. Needs the data of a ``python -m benchmarks.scan``
run (``benchmarks/scan/cache``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.scan.run import CACHE, MANIFEST_SHARD_SIZE, ROOT

_PAIRED = """
import os, shutil, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pathlib import Path
from benchmarks.scan import run
from tdmguard.scan.plan import plan_source
from tdmguard.scan.readers import read_shard
from tdmguard.scan.shard import build_checks, run_shard
size, out = int(sys.argv[1]), Path(sys.argv[2])
db, index = run._world(run.CACHE / "world")
source = run.CACHE / "text-6000.jsonl"
(out / "shards").mkdir(parents=True)
job = run._job(db, index, source, out, "lyrics-match", workers=1, shard_size=size)
worker = build_checks(job)
matcher = worker.checks[0].matcher
bare = scan = 0.0
n = 0
for i, spec in enumerate(plan_source(str(source), size)):
    records = list(read_shard(spec, job.read))
    def b():
        t0 = time.process_time()
        for r in records:
            matcher.identify_text(r.text, where="bench")
        return time.process_time() - t0
    def s():
        t0 = time.process_time()
        run_shard(job, worker, i, spec)
        return time.process_time() - t0
    if i % 2:
        ts, tb = s(), b()
    else:
        tb, ts = b(), s()
    if i >= 2:
        bare, scan, n = bare + tb, scan + ts, n + len(records)
print(bare / n * 1e6, scan / n * 1e6)
"""


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _env(src: str) -> dict[str, str]:
    return os.environ | {"PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}


def paired(other: str, other_size: int, size: int, rounds: int) -> None:
    sides = {"other": (other, other_size), "this": (str(ROOT / "src"), size)}
    found: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (src, shard_size) in sides.items():
            with tempfile.TemporaryDirectory(prefix="tdmguard-ab-") as tmp:
                done = subprocess.run(
                    [sys.executable, "-c", _PAIRED, str(shard_size), str(Path(tmp) / "out")],
                    cwd=ROOT, env=_env(src), check=True, capture_output=True, text=True,
                )
            bare_us, scan_us = map(float, done.stdout.split()[-2:])
            found[name].append(scan_us / bare_us - 1)
            print(f"paired {name:5s} (shard {shard_size}): bare {bare_us:.0f} us, scan "
                  f"{scan_us:.0f} us a text: {scan_us / bare_us - 1:+.1%}; load "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    for name, values in found.items():
        print(f"paired {name}: median {statistics.median(values):+.1%} "
              f"({', '.join(f'{v:+.1%}' for v in values)})")


def command(other: str, items: int, rounds: int) -> None:
    db, index = CACHE / "world" / "registry.db", CACHE / "world" / "index"
    manifest = CACHE / f"text-{items}.jsonl"
    out = CACHE / "out-ab"
    env = os.environ | {"TDMGUARD_DB": f"sqlite:///{db}", "TDMGUARD_INDEX": str(index)}
    scan = [str(Path(sys.executable).with_name("tdmguard")), "scan", str(manifest), "--out",
            str(out), "--check", "lyrics-match", "--actor", "BenchAI", "--at", "2026-01-01",
            "--workers", "2", "--json"]
    bare = [sys.executable, "-c", "import sys; from benchmarks.scan.run import bare_command; "
            "bare_command(sys.argv[1], 'lyrics', sys.argv[2], 2)", str(index), str(manifest)]
    runs = {"bare": (bare, env | {"PYTHONPATH": str(ROOT)}),
            "other": (scan, env | _env(other)),
            "this": (scan, env | _env(str(ROOT / "src")))}
    names = list(runs)
    found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for i in range(rounds):
        for name in names[i % 3:] + names[:i % 3]:
            cmd, run_env = runs[name]
            shutil.rmtree(out, ignore_errors=True)
            t0, c0 = time.perf_counter(), _children_cpu()
            done = subprocess.run(cmd, cwd=ROOT, env=run_env, check=True, capture_output=True)
            wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
            if name == "bare":
                last = done.stdout.decode().strip().splitlines()[-1]
                on_items = float(json.loads(last)["items_cpu_s"])
            else:
                report = json.loads((out / "report.json").read_text("utf-8"))
                on_items = float(report["worker_cpu_seconds"])
            found[name].append((wall, cpu, on_items))
            print(f"command {name:5s} {items}: {wall:.1f} s, {cpu:.1f} CPU s, on the items "
                  f"{on_items:.1f}; load {os.getloadavg()[0]:.2f}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    med = {k: [statistics.median(r[j] for r in v) for j in range(3)] for k, v in found.items()}
    b = med["bare"]
    for name in ("other", "this"):
        s = med[name]
        print(f"command {name}: wall {s[0] / b[0] - 1:+.1%}, CPU {s[1] / b[1] - 1:+.1%}, on the "
              f"items {s[2] / b[2] - 1:+.1%}, fixed {b[1] - b[2]:.1f} vs {s[1] - s[2]:.1f} CPU s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan.ab")
    parser.add_argument("what", choices=("paired", "command"))
    parser.add_argument("--other", required=True, help="the other tdmguard's src folder")
    parser.add_argument("--other-size", type=int, default=64,
                        help="paired: the other side's shard size (its default)")
    parser.add_argument("--size", type=int, default=MANIFEST_SHARD_SIZE,
                        help="paired: this side's shard size")
    parser.add_argument("--items", type=int, default=24000, help="command: texts")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.what == "paired":
        paired(args.other, args.other_size, args.size, args.rounds)
    else:
        command(args.other, args.items, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
