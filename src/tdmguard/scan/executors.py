"""Executors only schedule shards (DESIGN.md, scan pipeline): inline, a local process pool,
or Ray Data. Every one runs the same ``run_shard`` on a shard descriptor (the worker reads
the shard itself) and each shard commits itself, so the choice changes where work runs,
never what it writes.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from tdmguard.errors import MissingExtraError
from tdmguard.scan.job import Executor, ScanJob
from tdmguard.scan.plan import ShardSpec
from tdmguard.scan.shard import (
    WorkerChecks,
    build_checks,
    init_worker,
    run_shard,
    run_shard_task,
    worker_context,
)

__all__ = ["Executor", "run_shards"]

ShardDone = Callable[[int], None]  # called with the shard number when it has committed


def _inline(
    job: ScanJob,
    todo: Sequence[int],
    shards: Mapping[int, ShardSpec],
    done: ShardDone,
    worker: WorkerChecks | None = None,
) -> None:
    worker = worker or build_checks(job)
    for i in todo:
        run_shard(job, worker, i, shards[i])
        done(i)


def _process_pool(
    job: ScanJob, todo: Sequence[int], shards: Mapping[int, ShardSpec], done: ShardDone
) -> None:
    # spawn, not fork: a worker forked from a process whose OpenMP threads (faiss, numba)
    # have run can hang at their barrier, and the caller may be any program using
    # ``tdmguard.Scanner``, not only the CLI. Not forkserver either: its children hold the
    # server's liveness pipe open, so after a kill -9 of the scan neither would ever end
    # (workers end with their parent, ``init_worker``, and their parent must be the scan).
    context = worker_context(job.checks)  # spawn, without running __main__ again
    with ProcessPoolExecutor(
        max_workers=job.workers, initializer=init_worker, initargs=(job,), mp_context=context
    ) as pool:
        pending: dict[Future[dict[str, Any]], int] = {}
        queue = deque(todo)
        # A bounded number of shards in flight keeps memory flat on huge scans.
        while queue or pending:
            while queue and len(pending) < 2 * job.workers:
                i = queue.popleft()
                pending[pool.submit(run_shard_task, i, shards[i])] = i
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                fut.result()
                done(i)


class _ShardActor:
    """A Ray Data actor: builds the checks (opens the index) once, then runs shards."""

    def __init__(self, job: ScanJob) -> None:
        self.job = job
        self.worker = build_checks(job)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: list[int] = []
        for shard, spec_json in zip(batch["shard"], batch["spec"], strict=True):
            spec = ShardSpec.from_json(json.loads(str(spec_json)))
            run_shard(self.job, self.worker, int(shard), spec)
            out.append(int(shard))
        return {"shard": out}


# Ray Data settings for the one operator a scan runs (shard descriptors in, shard numbers
# out). Set on the scan's own dataset (``Dataset.context`` is a copy), never on the caller's
# global ``DataContext``; a setting an older Ray lacks is left alone.
_RAY_DATA_SETTINGS: tuple[tuple[str, object], ...] = (
    ("enable_progress_bars", False),
    ("print_on_execution_start", False),
    ("enable_auto_log_stats", False),
    # Ray Data's per-operator resource reservation shares resources out between operators;
    # with one operator there is nothing to share, and recomputing the budgets was most of
    # the driver's scheduling loop, which runs several times a second on the same cores
    # as the actors (measured: 2.0 against 1.2 CPU s of that thread in a 12,000-text scan).
    ("op_resource_reservation_enabled", False),
    # A thread in every actor that reads the process's memory once a second, for stats.
    ("memory_usage_poll_interval_s", None),
    ("enable_get_object_locations_for_metrics", False),
)


# Ray Data's own cost for a task (the driver's scheduling loop and the block it hands back,
# the raylet's dispatch) is several ms of CPU on the cores the actors use: measured 3.2-3.8
# s of driver and 1.7-2.4 s of Ray CPU for 391 one-shard tasks, about 13 ms a task. So a
# task runs several shards, up to MAX_SHARDS_PER_TASK (about a second of text at 256 rows a
# shard), and the tasks shrink towards the end of the scan (guided self-scheduling): each
# takes 1/GUIDED_SPLIT of the shards left per actor, so the last ones are single shards
# and the actors run out of work within a shard of each other.
MAX_SHARDS_PER_TASK = 8
GUIDED_SPLIT = 4  # two tasks in flight per actor, and a margin of two


def task_sizes(shards: int, actors: int) -> list[int]:
    """How many shards each Ray task runs, in order: large first, single shards last."""
    sizes: list[int] = []
    left, split = shards, GUIDED_SPLIT * max(1, actors)
    while left > 0:
        size = max(1, min(MAX_SHARDS_PER_TASK, -(-left // split)))
        sizes.append(size)
        left -= size
    return sizes


def _finished_shards(ds: Any) -> Iterator[int]:
    """The shard numbers the actors hand back, as they finish. Read from the executor's
    output bundles directly (``iter_internal_ref_bundles``): ``iter_batches`` would add a
    prefetching thread that polls the same output queue (100 times a second, like the
    consumer) and converts each one-row block to numpy, all on the cores the actors need
    (measured: about a quarter less driver CPU during a run). Older Ray: ``iter_rows``."""
    import ray
    from ray.data.block import BlockAccessor

    bundles = getattr(ds, "iter_internal_ref_bundles", None)
    if bundles is None:
        for row in ds.iter_rows():
            yield int(row["shard"])
        return
    for bundle in bundles():
        refs = getattr(bundle, "block_refs", None)
        if refs is None:
            refs = [entry[0] for entry in bundle.blocks]
        for block in ray.get(list(refs)):
            table = BlockAccessor.for_block(block).to_arrow()
            yield from (int(x) for x in table.column("shard").to_pylist())


def _ray(
    job: ScanJob, todo: Sequence[int], shards: Mapping[int, ShardSpec], done: ShardDone
) -> None:
    """Shards on Ray Data: the shard descriptors are a dataset (one small row each, one
    block a task, of ``task_sizes`` rows), ``map_batches`` runs them on a fixed pool of
    ``--workers`` actors, each opening the index once; every actor commits its shards'
    outputs itself and hands back only the shard numbers. Two tasks in flight per actor
    (Ray Data's default), so an actor never waits for the driver between tasks and the
    last ones end within a task of each other. On a cluster, the output folder and the
    index must be on a file system every node mounts at the same path (shards commit there
    themselves)."""
    try:
        import ray
        import ray.data
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
        import pyarrow as pa

        ids = list(todo)
        specs = [json.dumps(shards[i].to_json(), sort_keys=True) for i in ids]
        blocks, at = [], 0
        for size in task_sizes(len(ids), max(1, job.workers)):
            blocks.append(pa.table({"shard": ids[at:at + size], "spec": specs[at:at + size]}))
            at += size
        # One block a task (batch_size None: a block is never split nor joined to another).
        # from_blocks keeps the blocks as they are and reads their metadata here; from_arrow
        # would run a Ray task per block for it, which on a small machine starts worker
        # processes on the cores the actors are about to need (measured: the first shard
        # 1-5 s later at load 5-7). An older Ray without it: from_arrow.
        from_blocks = getattr(ray.data, "from_blocks", None) or ray.data.from_arrow
        ds = from_blocks(blocks).map_batches(
            _ShardActor,
            fn_constructor_args=(job,),
            batch_size=None,
            compute=ray.data.ActorPoolStrategy(
                min_size=max(1, job.workers),
                max_size=max(1, job.workers),
                max_tasks_in_flight_per_actor=2,
            ),
            num_cpus=1,
        )
        ctx = ds.context
        for name, value in _RAY_DATA_SETTINGS:
            if hasattr(ctx, name):
                setattr(ctx, name, value)
        for shard in _finished_shards(ds):
            done(shard)
    finally:
        if started_here:
            ray.shutdown()


def run_shards(
    executor: Executor,
    job: ScanJob,
    todo: Sequence[int],
    shards: Mapping[int, ShardSpec],
    done: ShardDone,
    checks: WorkerChecks | None = None,
) -> None:
    """Run the ``todo`` shards; ``checks``, already built in this process, serve a scan
    that runs inline (one local worker) instead of being built again."""
    if not todo:
        return
    if executor is Executor.RAY:
        _ray(job, todo, shards, done)
    elif job.workers <= 1:
        _inline(job, todo, shards, done, checks)
    else:
        _process_pool(job, todo, shards, done)
