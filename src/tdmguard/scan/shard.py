"""One shard of a scan, run inside a worker: checks -> decision -> shard writer.

Checks are built once per worker process (they may open an index or an engine) and reused
for every shard that process runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tdmguard.errors import MissingExtraError, TdmguardError
from tdmguard.scan.checks import load_factory
from tdmguard.scan.checks.base import Check, CheckContext, CheckOutcome
from tdmguard.scan.content_digest import content_sha256
from tdmguard.scan.decide import decide_record
from tdmguard.scan.job import ScanJob
from tdmguard.scan.record import Record
from tdmguard.scan.writers import ShardWriter

__all__ = [
    "WorkerChecks",
    "build_checks",
    "init_worker",
    "run_shard",
    "run_shard_cached",
    "run_shard_task",
]


@dataclass
class WorkerChecks:
    checks: list[Check]
    skipped: dict[str, str]  # check name -> why it is not active


def build_checks(job: ScanJob) -> WorkerChecks:
    ctx = CheckContext(
        index_dir=job.index_dir,
        use=job.decision.use,
        at=job.decision.at,
        actor=job.decision.actor,
        options=dict(job.check_options),
    )
    checks: list[Check] = []
    skipped: dict[str, str] = {}
    for name in job.checks:
        try:
            check = load_factory(name)(ctx)
        except MissingExtraError as exc:
            skipped[name] = exc.message
            continue
        if check is None:
            skipped[name] = "nothing to check against (no index or no data for it)"
        else:
            checks.append(check)
    return WorkerChecks(checks, skipped)


# The job and its checks, set once per worker process by init_worker (the pool's
# initializer), so an index or engine is opened once per process, not once per shard.
_WORKER: list[tuple[ScanJob, WorkerChecks]] = []


def init_worker(job: ScanJob) -> None:
    _WORKER[:] = [(job, build_checks(job))]


def run_shard_task(shard: int, records: Sequence[Record]) -> dict[str, Any]:
    job, checks = _WORKER[0]
    return run_shard(job, checks, shard, records)


def run_shard_cached(job: ScanJob, shard: int, records: Sequence[Record]) -> dict[str, Any]:
    """For executors whose workers outlive one job (Ray): build the checks on the first
    shard of a job this process sees, reuse them for the next ones."""
    key = (str(job.out_dir), job.view.digest)
    if not _WORKER or (str(_WORKER[0][0].out_dir), _WORKER[0][0].view.digest) != key:
        init_worker(job)
    return run_shard(_WORKER[0][0], _WORKER[0][1], shard, records)


def _error_line(record: Record, check: str, message: str) -> dict[str, Any]:
    return record.to_json() | {"check": check, "error": message}


def run_shard(
    job: ScanJob, worker: WorkerChecks, shard: int, records: Sequence[Record]
) -> dict[str, Any]:
    """Scan ``records`` and commit the shard's outputs; returns the shard's stats."""
    started = time.perf_counter()
    writer = ShardWriter(job.shards_dir, shard)
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    media: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    check_seconds: dict[str, float] = {}
    errors = 0
    bytes_read = 0
    try:
        for record in records:
            media[record.media.value] += 1
            bytes_read += record.size_bytes
            if "error" in record.meta:
                writer.write("errors", _error_line(record, "read", str(record.meta["error"])))
                errors += 1
                continue
            outcomes: list[CheckOutcome] = []
            failed = False
            for check in worker.checks:
                if record.media not in check.media:
                    continue
                t0 = time.perf_counter()
                try:
                    outcomes.append(check.evaluate(record))
                except TdmguardError as exc:
                    writer.write("errors", _error_line(record, check.name, str(exc)))
                    failed = True
                except MemoryError:
                    writer.write("errors", _error_line(record, check.name, "out of memory"))
                    failed = True
                except Exception as exc:  # a bug in a check must not stop the scan
                    writer.write(
                        "errors",
                        _error_line(
                            record, check.name, f"internal error {type(exc).__name__}: {exc}"
                        ),
                    )
                    failed = True
                check_seconds[check.name] = (
                    check_seconds.get(check.name, 0.0) + time.perf_counter() - t0
                )
                if failed:
                    break
            if failed:
                errors += 1
                continue
            decision, matches = decide_record(record, outcomes, job.view, job.decision)
            decisions[decision.kind.value] += 1
            for reason in decision.reasons:
                reasons[reason.code] += 1
                holder = reason.refs.get("holder")
                if holder is not None:
                    holders[str(holder)] += 1
            writer.write(
                {"keep": "kept", "exclude": "excluded", "review": "review"}[decision.kind.value],
                record.to_json()
                | decision.to_json()
                | {
                    "matches": [m.to_json() for m in matches],
                    "problems": [p for o in outcomes for p in o.problems],
                }
                # the removal manifest names excluded and review items by content hash
                | ({} if decision.kind.value == "keep" else {"sha256": content_sha256(record)}),
            )
        stats = {
            "shard": shard,
            "records": len(records),
            "decisions": dict(decisions),
            "reasons": dict(reasons),
            "media": dict(media),
            "holders": dict(holders),
            "errors": errors,
            "bytes": bytes_read,
            "seconds": round(time.perf_counter() - started, 4),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "check_seconds": {k: round(v, 4) for k, v in check_seconds.items()},
            "checks": [c.name for c in worker.checks],
            "skipped_checks": worker.skipped,
        }
        writer.commit(stats)
        return stats
    except BaseException:
        writer.abort()
        raise
