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


def test_ray_tasks_shrink_to_single_shards_at_the_end() -> None:
    for shards in (0, 1, 6, 20, 141, 391, 3906):
        for actors in (0, 1, 2, 8):
            sizes = executors.task_sizes(shards, actors)
            assert sum(sizes) == shards and all(s >= 1 for s in sizes)
            assert sizes == sorted(sizes, reverse=True)  # large first, never growing
            assert max(sizes, default=1) <= executors.MAX_SHARDS_PER_TASK
            if shards >= 2 * max(actors, 1):  # every actor's last task is a single shard
                assert sizes[-2 * max(actors, 1):] == [1] * (2 * max(actors, 1))
    assert executors.task_sizes(6, 2) == [1] * 6  # a small scan: a shard a task
    sizes = executors.task_sizes(141, 2)  # 36,000 texts in shards of 256
    assert sizes[:10] == [8] * 10 and len(sizes) == 31
    assert len(executors.task_sizes(391, 2)) == 62  # 100,000 texts: 98 tasks of 4 before


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
        # tasks of several shards, of shrinking sizes
        monkeypatch.setattr(executors, "GUIDED_SPLIT", 1)
        assert executors.task_sizes(8, 2) == [4, 2, 1, 1]
        run_scan(_job(tmp_path, reg, tmp_path / "ray4", shard_size=4, workers=2,
                      executor=Executor.RAY))
        # a resume runs only the missing shards, here not in a row, in tasks of [2, 1]
        import shutil

        for shard in ("000001", "000005", "000006"):
            shutil.rmtree(tmp_path / "ray4" / "shards" / shard)
        (tmp_path / "ray4" / "report.json").unlink()
        resumed = run_scan(_job(tmp_path, reg, tmp_path / "ray4", shard_size=4, workers=2,
                                executor=Executor.RAY), resume=True)
        assert resumed["resumed"] is True
    finally:
        ray.shutdown()
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "inline")
    _same_facts(tmp_path / "ray", tmp_path / "inline")
    assert _outputs(tmp_path / "ray4") == _outputs(tmp_path / "inline")
    _same_facts(tmp_path / "ray4", tmp_path / "inline")
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
