"""The machine's own ceiling for 2 workers against 1 (issue 12, ``ray_scaling``'s extra row).

The bare lyrics engine on the same texts as the Ray scan, in plain processes (spawn, as the
scan's pool): 1 process on all the texts against 2 processes on a half each. Each process
opens the index and reads its texts first, then waits for the start signal; the clock runs
from that signal to the last process's end, so neither the interpreter's start nor the
index's open is in it. No scan, no Ray, no driver: what is left of 2x here is what two cores
of this machine give to this engine at all (shared caches, memory bandwidth, hyperthread
siblings, other jobs), the best any executor could reach on the parallel part.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any


def _texts(manifest: Path) -> list[str]:
    with manifest.open("rb") as fh:
        return [json.loads(line)["text"] for line in fh]


def _worker(index: str, manifest: str, part: int, parts: int, ready: Any, go: Any,
            out: Any) -> None:
    from benchmarks.scan.run import _init_bare

    _init_bare(index, "lyrics")  # one library thread, as the scan's workers
    from benchmarks.scan.run import _MATCHER

    matcher = _MATCHER[0]
    texts = _texts(Path(manifest))
    texts = texts[len(texts) * part // parts:len(texts) * (part + 1) // parts]
    matcher.identify_text(texts[0], where="warm")  # the engine's first-call costs
    ready.release()
    go.wait()
    t0, c0 = time.time(), time.process_time()
    for text in texts:
        matcher.identify_text(text, where="bench")
    out.put((t0, time.time(), time.process_time() - c0))


def bare_run(index: Path, manifest: Path, processes: int) -> dict[str, float]:
    """Wall seconds from the start signal to the last process's end, and CPU seconds."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(index), str(manifest), part, processes,
                                               ready, go, out))
             for part in range(processes)]
    for proc in procs:
        proc.start()
    waiting = len(procs)
    while waiting:  # a process that died before it was ready would hang the run
        if ready.acquire(timeout=1.0):
            waiting -= 1
        elif any(proc.exitcode not in (None, 0) for proc in procs):
            raise RuntimeError("a bare engine process died before it was ready")
    t0 = time.time()
    go.set()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    return {"wall_s": max(end for _, end, _ in results) - t0,
            "cpu_s": sum(cpu for _, _, cpu in results)}


def markdown(x: dict[str, Any]) -> list[str]:
    """The ceiling row's sentence in ``RESULTS.md``."""
    return [
        f"The machine's ceiling (the table's last row; `benchmarks/scan/ceiling.py`, in the "
        f"same run, interleaved with the scans): the bare engine on the same {x['items']:,} "
        f"texts in plain spawned processes, each opening the index and reading its half "
        f"before the clock: **{x['speedup']}x** (CPU {x['cpu_one_s']} vs {x['cpu_two_s']} s). "
        "What two cores give a CPU-bound program here with no scheduling at all, measured "
        "as noisily as the scans (medians of the same few runs: a scan's ratio can come out "
        "above it); the scan's own ratio also pays its fixed start and tail, which this "
        "does not.",
        "",
    ]
