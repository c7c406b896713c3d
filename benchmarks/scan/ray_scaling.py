"""Ray Data scaling (issue 12): the text scan with ``--executor ray`` on 2 actors against 1.

Fair by construction: Ray is started once beforehand (``num_cpus=2``) and Ray Data's own
helper actors are warmed by a first actor pool (its start is measured apart, a trivial actor
class, first actor ready); both runs scan the same manifest with the same shard size; the
runs are interleaved and their order alternates between repeats (1-2, 2-1, ...); medians.

Besides wall time, each run gives its timeline (from the shards' commit times: when the first
shard started, when the last one ended, what the driver did after it) and its CPU: the
shards' CPU (each worker's own figure), the driver's (all its threads: planning, Ray Data's
scheduling loop, merge, report) and that of Ray's long-lived processes (raylet, GCS, Ray
Data's helper actors; Linux only). On a machine shared with other jobs, wall time measures
the load too: ``parallel phase`` (first shard start to last shard end) is the part that
should halve, and the CPU columns say whether anything but the shards competed for the cores.

Each repeat also runs the machine's ceiling (``benchmarks/scan/ceiling.py``): the bare engine
on the same texts in 1 plain process against 2 on a half each, order alternating, a row of
its own that says how much of 2x these two cores give this engine at all.

Run: ``python -m benchmarks.scan.ray_scaling [--items N] [--repeat R] [--quick]`` (default
36,000 texts, 3 repeats: about 4 minutes on two free cores, 10 at ``--items 100000``).
Updates the ``ray`` section of ``results.json`` and ``RESULTS.md``; ``python -m
benchmarks.scan`` runs it too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.scan.ceiling import bare_run
from benchmarks.scan.ceiling import markdown as ceiling_markdown

SHARD_SIZE = 256
DEFAULT_ITEMS = 36_000
QUICK_ITEMS = 1_200


def _manifest(cache: Path, n: int) -> Path:
    from benchmarks.scan.run import _texts

    manifest = cache / f"text-{n}.jsonl"
    if not manifest.exists():
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n"
                               for i, t in enumerate(_texts(n))), "utf-8")
        tmp.rename(manifest)
    return manifest


def _descendants_cpu(root: int) -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds) of every process under ``root`` (``/proc``; empty
    elsewhere). Read before and after a run: the processes alive at both times are Ray's
    long-lived ones (a scan's actors end with it; their CPU in shards is in the stats)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parent: dict[int, int] = {}
    info: dict[int, tuple[str, float]] = {}
    try:
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        parent[pid] = int(fields[1])
        info[pid] = (text[text.index("(") + 1:text.rindex(")")],
                     (int(fields[11]) + int(fields[12])) / tick)
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, tuple[str, float]] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out[pid] = info[pid]
        stack += children.get(pid, [])
    return out


def _actor_pool_start(workers: int) -> float:
    """Seconds until the first actor of a Ray Data actor pool of a trivial class is ready:
    what every ``--executor ray`` run pays before its first shard, whatever the checks."""
    import ray.data

    class Ready:  # local: pickled by value, so Ray workers need not import this module
        def __init__(self) -> None:
            self.at = time.time()

        def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
            return {"at": [self.at] * len(batch["x"])}

    t0 = time.time()
    rows = list(ray.data.from_items([{"x": i} for i in range(4)], override_num_blocks=4)
                .map_batches(Ready, batch_size=1, num_cpus=1,
                             compute=ray.data.ActorPoolStrategy(size=workers))
                .iter_rows())
    return min(float(r["at"]) for r in rows) - t0


@contextlib.contextmanager
def _driver_phases() -> Iterator[dict[str, list[float]]]:
    """Wall and CPU seconds of the driver's steps after the shards (``scan/runner.py``):
    merging the outputs, the report's facts, the page."""
    from tdmguard.scan import runner

    phases: dict[str, list[float]] = {}
    saved = {name: getattr(runner, name)
             for name in ("merge_shards", "collect_facts", "write_report_html")}

    def timed(name: str, fn: Any) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kw)
            finally:
                slot = phases.setdefault(name, [0.0, 0.0])
                slot[0] += time.perf_counter() - t
                slot[1] += time.process_time() - c
        return call

    for name, fn in saved.items():
        setattr(runner, name, timed(name, fn))
    try:
        yield phases
    finally:
        for name, fn in saved.items():
            setattr(runner, name, fn)


def _one_run(db: Path, index: Path, manifest: Path, out: Path, workers: int) -> dict[str, Any]:
    from benchmarks.scan.run import _job, _scan_time
    from tdmguard.scan.job import Executor

    job = _job(db, index, manifest, out, "lyrics-match", workers=workers,
               shard_size=SHARD_SIZE, executor=Executor.RAY)
    shutil.rmtree(job.out_dir, ignore_errors=True)  # before the clock starts
    before = _descendants_cpu(os.getpid())
    t0, c0 = time.time(), time.process_time()
    with _driver_phases() as phases:
        secs, report = _scan_time(job)
    driver_cpu = time.process_time() - c0
    after = _descendants_cpu(os.getpid())
    ray_cpu = sum(cpu - before[pid][1] for pid, (_, cpu) in after.items() if pid in before)
    # A shard's folder is renamed into place when it commits, with stats.json inside:
    # its modification time is the shard's end, minus its seconds its start.
    spans = []
    by_actor: dict[int, list[float]] = {}  # worker pid -> [first start, last end, busy s]
    for folder in job.shards_dir.iterdir():
        stats_path = folder / "stats.json"
        if folder.name.isdigit() and stats_path.exists():
            stats = json.loads(stats_path.read_text("utf-8"))
            end = stats_path.stat().st_mtime
            span = (end - float(stats["seconds"]), end)
            spans.append(span)
            actor = by_actor.setdefault(int(stats.get("worker_pid", 0)), [span[0], end, 0.0])
            actor[0], actor[1] = min(actor[0], span[0]), max(actor[1], end)
            actor[2] += float(stats["seconds"])
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    assert report["counts"]["errors"] == 0, report["counts"]
    starts = sorted(a[0] for a in by_actor.values())
    ends = sorted(a[1] for a in by_actor.values())
    return {
        "workers": workers,
        "wall_s": secs,
        "first_shard_start_s": first - t0,  # pool start, actors' imports, index open
        "parallel_s": last - first,  # first shard start to last shard end
        "after_last_shard_s": t0 + secs - last,  # driver: merge, report
        "shard_cpu_s": float(report["worker_cpu_seconds"]),
        "driver_cpu_s": driver_cpu,
        "ray_processes_cpu_s": ray_cpu,
        # the last actor's first shard starts this long after the first actor's; the first
        # actor to run out of shards waits this long for the last (both idle time)
        "actor_start_gap_s": starts[-1] - starts[0],
        "actor_end_gap_s": ends[-1] - ends[0],
        # the actors' time outside shards during the parallel phase, summed (gaps included)
        "actor_idle_s": sum((last - first) - a[2] for a in by_actor.values()),
        **{f"{name}_s": round(v[0], 3) for name, v in phases.items()},
        **{f"{name}_cpu_s": round(v[1], 3) for name, v in phases.items()},
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(float(r[key]) for r in runs)), 2)


def bench_ray(db: Path, index: Path, cache: Path, *, items: int, repeat: int) -> dict[str, Any]:
    import ray

    manifest = _manifest(cache, items)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    bare: dict[int, list[dict[str, float]]] = {1: [], 2: []}  # the machine's ceiling
    starts: list[float] = []
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        for r in range(repeat):
            starts.append(_actor_pool_start(2))  # also warms Ray Data's helper actors
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                run = _one_run(db, index, manifest, cache / f"out-ray{workers}", workers)
                runs[workers].append(run)
                print(f"ray     {workers} worker(s): {run['wall_s']:.1f} s (first shard "
                      f"{run['first_shard_start_s']:.1f} s, parallel "
                      f"{run['parallel_s']:.1f} s, after {run['after_last_shard_s']:.2f} s:"
                      f" merge {run.get('merge_shards_s', 0):.2f}, facts "
                      f"{run.get('collect_facts_s', 0):.2f}, page "
                      f"{run.get('write_report_html_s', 0):.2f}; actors idle "
                      f"{run['actor_idle_s']:.1f} s; CPU shards {run['shard_cpu_s']:.1f}, "
                      f"driver {run['driver_cpu_s']:.1f}, Ray {run['ray_processes_cpu_s']:.1f})"
                      f" load {os.getloadavg()[0]:.1f}", flush=True)
            for procs in ((2, 1) if r % 2 == 0 else (1, 2)):
                b = bare_run(index, manifest, procs)
                bare[procs].append(b)
                print(f"bare    {procs} process(es): {b['wall_s']:.1f} s (CPU "
                      f"{b['cpu_s']:.1f} s) load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        ray.shutdown()
    one, two = _median(runs[1], "wall_s"), _median(runs[2], "wall_s")
    par1, par2 = _median(runs[1], "parallel_s"), _median(runs[2], "parallel_s")
    cpu1, cpu2 = _median(runs[1], "shard_cpu_s"), _median(runs[2], "shard_cpu_s")
    start = round(statistics.median(starts), 2)
    result: dict[str, Any] = {
        "items": items, "shard_size": SHARD_SIZE, "repeat": repeat,
        "one_worker_s": one, "two_workers_s": two, "speedup": round(one / two, 2),
        "actor_pool_start_s": start,
        "speedup_after_start": round((one - start) / (two - start), 2) if two > start else None,
        "parallel_one_s": par1, "parallel_two_s": par2,
        "parallel_speedup": round(par1 / max(par2, 1e-9), 2),
        "first_shard_one_s": _median(runs[1], "first_shard_start_s"),
        "first_shard_two_s": _median(runs[2], "first_shard_start_s"),
        "after_last_one_s": _median(runs[1], "after_last_shard_s"),
        "after_last_two_s": _median(runs[2], "after_last_shard_s"),
        "cpu_s_one": cpu1, "cpu_s_two": cpu2,
        # with the work split evenly and no extra work per item, two dedicated cores run it
        # in half the CPU time of one: this is that estimate, immune to other jobs' load
        "cpu_speedup": round(cpu1 / max(cpu2 / 2, 1e-9), 2),
        "driver_cpu_one_s": _median(runs[1], "driver_cpu_s"),
        "driver_cpu_two_s": _median(runs[2], "driver_cpu_s"),
        "ray_cpu_one_s": _median(runs[1], "ray_processes_cpu_s"),
        "ray_cpu_two_s": _median(runs[2], "ray_processes_cpu_s"),
        "actor_idle_two_s": _median(runs[2], "actor_idle_s"),
        "actor_start_gap_two_s": _median(runs[2], "actor_start_gap_s"),
        "actor_end_gap_two_s": _median(runs[2], "actor_end_gap_s"),
        **{f"{phase}_{n}_s": _median(runs[w], f"{phase}_s")
           for phase in ("merge_shards", "collect_facts", "write_report_html")
           for w, n in ((1, "one"), (2, "two"))},
        **{f"{phase}_cpu_{n}_s": _median(runs[w], f"{phase}_cpu_s")
           for phase in ("merge_shards", "collect_facts", "write_report_html")
           for w, n in ((1, "one"), (2, "two"))},
        "ceiling": {
            "items": items,
            "one_s": round(statistics.median(b["wall_s"] for b in bare[1]), 2),
            "two_s": round(statistics.median(b["wall_s"] for b in bare[2]), 2),
            "speedup": round(statistics.median(b["wall_s"] for b in bare[1])
                             / statistics.median(b["wall_s"] for b in bare[2]), 2),
            "cpu_one_s": round(statistics.median(b["cpu_s"] for b in bare[1]), 2),
            "cpu_two_s": round(statistics.median(b["cpu_s"] for b in bare[2]), 2),
            "runs": {str(k): [{key: round(val, 2) for key, val in b.items()} for b in v]
                     for k, v in bare.items()},
        },
        "runs": {str(k): [{key: round(v, 2) if isinstance(v, float) else v
                           for key, v in run.items()} for run in v] for k, v in runs.items()},
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"ray     {items} texts: 1 worker {one:.1f} s, 2 workers {two:.1f} s: "
          f"{one / two:.2f}x (parallel phase {result['parallel_speedup']}x; actor pool start "
          f"{start:.1f} s; CPU in shards {cpu1:.1f} vs {cpu2:.1f}: {result['cpu_speedup']}x); "
          f"ceiling, bare engine in 1 vs 2 processes: {result['ceiling']['one_s']:.1f} vs "
          f"{result['ceiling']['two_s']:.1f} s: {result['ceiling']['speedup']}x", flush=True)
    return result


def markdown(x: dict[str, Any]) -> list[str]:
    """The Ray section of ``RESULTS.md``."""
    if "parallel_speedup" not in x:  # a run made before this module
        return [f"Ray Data (`--executor ray`, the text scan, {x['items']} texts, shards of "
                f"256, Ray started beforehand; medians of {x['repeat']} interleaved runs): "
                f"1 worker {x['one_worker_s']} s, 2 workers {x['two_workers_s']} s: "
                f"**{x['speedup']}x** wall. A Ray Data actor pool's own start (a trivial "
                f"actor class, first actor ready) took {x.get('actor_pool_start_s')} s. CPU "
                f"time in the shards: {x.get('cpu_s_one')} s on 1 worker, "
                f"{x.get('cpu_s_two')} s on 2.", ""]
    return [
        f"Ray Data (`--executor ray`, the text scan, {x['items']:,} texts, shards of "
        f"{x['shard_size']}, Ray started beforehand with 2 CPUs; medians of {x['repeat']} "
        "interleaved runs, order alternating; `python -m benchmarks.scan.ray_scaling`):",
        "",
        "| | 1 worker | 2 workers | ratio |",
        "|---|---|---|---|",
        f"| wall, whole scan | {x['one_worker_s']} s | {x['two_workers_s']} s | "
        f"**{x['speedup']}x** |",
        f"| first shard starts after | {x['first_shard_one_s']} s | "
        f"{x['first_shard_two_s']} s | |",
        f"| parallel phase (first shard start to last shard end) | {x['parallel_one_s']} s | "
        f"{x['parallel_two_s']} s | {x['parallel_speedup']}x |",
        f"| driver after the last shard (merge, report) | {x['after_last_one_s']} s | "
        f"{x['after_last_two_s']} s | |",
        *([f"| of which: merge / report facts / page (wall) | "
           f"{x['merge_shards_one_s']} / {x['collect_facts_one_s']} / "
           f"{x['write_report_html_one_s']} s | {x['merge_shards_two_s']} / "
           f"{x['collect_facts_two_s']} / {x['write_report_html_two_s']} s | |",
           f"| actors' idle time in the parallel phase, summed (2 workers: start gap, "
           f"end gap) | | {x['actor_idle_two_s']} s ({x['actor_start_gap_two_s']} s, "
           f"{x['actor_end_gap_two_s']} s) | |"] if "collect_facts_one_s" in x else []),
        f"| CPU in the shards | {x['cpu_s_one']} s | {x['cpu_s_two']} s | "
        f"{x['cpu_speedup']}x (CPU-time scaling) |",
        f"| CPU of the driver (all threads) | {x['driver_cpu_one_s']} s | "
        f"{x['driver_cpu_two_s']} s | |",
        f"| CPU of Ray's own processes (raylet, GCS, helper actors) | {x['ray_cpu_one_s']} s "
        f"| {x['ray_cpu_two_s']} s | |",
        *([f"| the machine's ceiling: bare engine, same texts, 1 process vs 2 on a half each "
           f"(no scan, no Ray; index open before the clock) | {x['ceiling']['one_s']} s | "
           f"{x['ceiling']['two_s']} s | {x['ceiling']['speedup']}x |"]
          if "ceiling" in x else []),
        "",
        f"A Ray Data actor pool's own start (a trivial actor class, first actor ready): "
        f"{x['actor_pool_start_s']} s; wall ratio after it: {x['speedup_after_start']}x. "
        f"Load average at the end: {x.get('load_avg_at_end')}.",
        "",
        *(ceiling_markdown(x["ceiling"]) if "ceiling" in x else []),
    ]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.scan import run

    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan.ray_scaling")
    parser.add_argument("--items", type=int, default=0,
                        help=f"texts (default {DEFAULT_ITEMS:,}; --quick {QUICK_ITEMS:,})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small data (a smoke run)")
    args = parser.parse_args(argv)
    run.CACHE.mkdir(parents=True, exist_ok=True)
    db, index = run._world(run.CACHE / "world")
    items = args.items or (QUICK_ITEMS if args.quick else DEFAULT_ITEMS)
    load = [round(x, 2) for x in os.getloadavg()]
    result = bench_ray(db, index, run.CACHE, items=items, repeat=args.repeat)
    result["load_avg_at_start"] = load
    path = run.HERE / "results.json"
    results = json.loads(path.read_text("utf-8")) if path.exists() else {
        "date": result.get("date"), "machine": {}, "version": run._version()}
    results["ray"] = result
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    results.setdefault("sections_measured", {})["ray"] = now
    path.write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    (run.HERE / "RESULTS.md").write_text(run._markdown(results), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
