"""Executors only schedule shards (DESIGN.md, scan pipeline): inline, a local process pool,
or a Ray cluster. Every one runs the same ``run_shard`` and each shard commits itself, so
the choice changes where work runs, never what it writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from tdmguard.errors import MissingExtraError
from tdmguard.scan.job import Executor, ScanJob
from tdmguard.scan.record import Record
from tdmguard.scan.shard import (
    build_checks,
    init_worker,
    run_shard,
    run_shard_cached,
    run_shard_task,
)

__all__ = ["Executor", "run_shards"]

ShardDone = Callable[[int], None]  # called with the shard number when it has committed


def _inline(
    job: ScanJob, todo: Sequence[int], shards: Mapping[int, Sequence[Record]], done: ShardDone
) -> None:
    worker = build_checks(job)
    for i in todo:
        run_shard(job, worker, i, shards[i])
        done(i)


def _process_pool(
    job: ScanJob, todo: Sequence[int], shards: Mapping[int, Sequence[Record]], done: ShardDone
) -> None:
    with ProcessPoolExecutor(
        max_workers=job.workers, initializer=init_worker, initargs=(job,)
    ) as pool:
        pending: dict[Future[dict[str, Any]], int] = {}
        queue = list(todo)
        # A bounded number of shards in flight keeps memory flat on huge scans.
        while queue or pending:
            while queue and len(pending) < 2 * job.workers:
                i = queue.pop(0)
                pending[pool.submit(run_shard_task, i, shards[i])] = i
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                fut.result()
                done(i)


def _ray(
    job: ScanJob, todo: Sequence[int], shards: Mapping[int, Sequence[Record]], done: ShardDone
) -> None:
    """Shards as Ray tasks. On a cluster, the output folder and the index must be on a file
    system every node mounts at the same path (shards commit there themselves)."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise MissingExtraError("ray", "ray") from exc
    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        ray.init(
            address=address,
            num_cpus=None if address else job.workers,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        task = ray.remote(run_shard_cached)
        job_ref = ray.put(job)
        queue = list(todo)
        pending: dict[Any, int] = {}
        while queue or pending:
            while queue and len(pending) < 2 * job.workers:
                i = queue.pop(0)
                pending[task.remote(job_ref, i, shards[i])] = i
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                i = pending.pop(ref)
                ray.get(ref)
                done(i)
    finally:
        if started_here:
            ray.shutdown()


def run_shards(
    executor: Executor,
    job: ScanJob,
    todo: Sequence[int],
    shards: Mapping[int, Sequence[Record]],
    done: ShardDone,
) -> None:
    if not todo:
        return
    if executor is Executor.RAY:
        _ray(job, todo, shards, done)
    elif job.workers <= 1:
        _inline(job, todo, shards, done)
    else:
        _process_pool(job, todo, shards, done)
