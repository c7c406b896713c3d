"""Executors change where shards run, never what a scan writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tdmguard.scan import executors
from tdmguard.scan.job import Executor
from tdmguard.scan.runner import run_scan
from tests.scan.test_runner import ROOT, _dataset, _job, _outputs, _registry, _same_facts


def test_inline_and_process_pool_write_the_same(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 30)
    run_scan(_job(tmp_path, reg, tmp_path / "inline", shard_size=4, workers=1))
    report = run_scan(_job(tmp_path, reg, tmp_path / "pool", shard_size=4, workers=2))
    assert _outputs(tmp_path / "pool") == _outputs(tmp_path / "inline")
    # the report's sample of rows does not depend on the workers, nor on the shard size
    _same_facts(tmp_path / "pool", tmp_path / "inline")
    run_scan(_job(tmp_path, reg, tmp_path / "big", shard_size=11, workers=2))
    _same_facts(tmp_path / "big", tmp_path / "inline")
    assert report["shards"] == 8 and sum(report["counts"].values()) == 32


def test_a_ray_task_runs_more_shards_only_when_every_actor_keeps_many_tasks() -> None:
    assert executors.shards_per_task(8, 2) == 1  # a small scan: a shard a task
    assert executors.shards_per_task(141, 2) == 4  # 36,000 texts: 36 tasks
    assert executors.shards_per_task(80, 2) == 2
    assert executors.shards_per_task(100_000, 2) == executors.MAX_SHARDS_PER_TASK
    assert executors.shards_per_task(0, 0) == 1


# Starting Ray takes from seconds to minutes on a loaded machine: a slow test with its own
# time limit; the twin above checks the same outputs without Ray in the default run.
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ray_writes_the_same_as_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 30)
    run_scan(_job(tmp_path, reg, tmp_path / "inline", shard_size=4, workers=1))
    # The plug-in check lives in this repository's tests package: Ray's workers need it too.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        before = ray.data.DataContext.get_current().copy()
        report = run_scan(_job(tmp_path, reg, tmp_path / "ray", shard_size=4, workers=2,
                               executor=Executor.RAY))
        # the scan's Ray Data settings go on its own dataset, not the caller's context
        after = ray.data.DataContext.get_current()
        assert after.op_resource_reservation_enabled == before.op_resource_reservation_enabled
        assert after.memory_usage_poll_interval_s == before.memory_usage_poll_interval_s
        # tasks of several shards (4 here: 8 shards, 2 actors, one task an actor wanted)
        monkeypatch.setattr(executors, "TASKS_PER_ACTOR", 1)
        assert executors.shards_per_task(8, 2) == 4
        run_scan(_job(tmp_path, reg, tmp_path / "ray4", shard_size=4, workers=2,
                      executor=Executor.RAY))
    finally:
        ray.shutdown()
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "inline")
    _same_facts(tmp_path / "ray", tmp_path / "inline")
    assert _outputs(tmp_path / "ray4") == _outputs(tmp_path / "inline")
    assert report["shards"] == 8 and sum(report["counts"].values()) == 32
    assert report["worker_cpu_seconds"] > 0


def test_ray_missing_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from tdmguard.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 3)
    with pytest.raises(MissingExtraError, match=r"tdmguard\[ray\]"):
        run_scan(_job(tmp_path, reg, tmp_path / "out", executor=Executor.RAY))
