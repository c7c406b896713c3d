"""A/B of ``--executor ray`` against another checkout's executor and runner (issue 12).

``ray_scaling`` measures one tree; on a shared machine two of its runs minutes apart differ
by more than a change's effect. This runs both sides in one process, on one Ray started
beforehand, interleaved (1 and 2 workers, both sides, the order rotating every round):
the other side is ``scan/executors.py`` and ``scan/runner.py`` of another ``src`` folder
(read only), loaded as modules of their own and shipped to Ray's actors by value; the rest
of tdmguard (shards, readers, checks) is this tree's on both sides, so the difference is
the scheduling and the driver's work only.

Run: ``python -m benchmarks.scan.ab_ray --other /path/to/main/src [--items N] [--rounds R]``.
Prints every run and the medians (wall, parallel phase, CPU); writes nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def other_runner(src: Path) -> ModuleType:
    """The other tree's runner, calling the other tree's executors."""
    import ray.cloudpickle

    executors = _load("ab_other_executors", src / "tdmguard/scan/executors.py")
    ray.cloudpickle.register_pickle_by_value(executors)  # its actor class, by value
    runner = _load("ab_other_runner", src / "tdmguard/scan/runner.py")
    runner.run_shards = executors.run_shards  # type: ignore[attr-defined]
    return runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan.ab_ray")
    parser.add_argument("--other", required=True, help="the other tree's src folder")
    parser.add_argument("--items", type=int, default=36_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    import ray

    from benchmarks.scan import ray_scaling, run
    from tdmguard.scan import runner as this

    db, index = run._world(run.CACHE / "world")
    manifest = ray_scaling._manifest(run.CACHE, args.items)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    sides = {"other": other_runner(Path(args.other)), "this": this}
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    real = this.run_scan
    try:
        ray_scaling._actor_pool_start(2)  # warms Ray Data's helper actors
        for r in range(args.rounds):
            names = ["other", "this"] if r % 2 == 0 else ["this", "other"]
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                for name in names:
                    # ray_scaling's run calls tdmguard.scan.runner.run_scan and times the
                    # runner's merge and report steps: both pointed at this side's
                    this.run_scan = sides[name].run_scan
                    out = run.CACHE / f"out-ab-ray{workers}"
                    one = ray_scaling._one_run(db, index, manifest, out, workers)
                    this.run_scan = real
                    runs.setdefault((name, workers), []).append(one)
                    print(f"{name:5} {workers} worker(s): {one['wall_s']:.2f} s (first shard "
                          f"{one['first_shard_start_s']:.2f}, parallel {one['parallel_s']:.2f},"
                          f" after {one['after_last_shard_s']:.2f}; idle "
                          f"{one['actor_idle_s']:.2f}, end gap {one['actor_end_gap_s']:.2f}; "
                          f"CPU shards {one['shard_cpu_s']:.1f}, driver "
                          f"{one['driver_cpu_s']:.2f}, Ray {one['ray_processes_cpu_s']:.2f})"
                          f" load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        this.run_scan = real
        ray.shutdown()
    for name in ("other", "this"):
        one, two = runs[(name, 1)], runs[(name, 2)]

        def m(xs: list[dict[str, Any]], key: str) -> float:
            return float(statistics.median(float(x[key]) for x in xs))

        print(f"{name}: 1 worker {m(one, 'wall_s'):.2f} s, 2 workers {m(two, 'wall_s'):.2f} s: "
              f"{m(one, 'wall_s') / m(two, 'wall_s'):.3f}x; parallel "
              f"{m(one, 'parallel_s') / m(two, 'parallel_s'):.3f}x; after the last shard "
              f"{m(one, 'after_last_shard_s'):.2f} / {m(two, 'after_last_shard_s'):.2f} s; "
              f"driver CPU {m(one, 'driver_cpu_s'):.2f} / {m(two, 'driver_cpu_s'):.2f}; "
              f"Ray CPU {m(one, 'ray_processes_cpu_s'):.2f} / "
              f"{m(two, 'ray_processes_cpu_s'):.2f}; idle 2 workers {m(two, 'actor_idle_s'):.2f}"
              f" (end gap {m(two, 'actor_end_gap_s'):.2f}) load {os.getloadavg()[0]:.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
