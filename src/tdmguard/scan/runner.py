"""Runs a scan: plan shards, execute them on a local process pool, merge, report.

Resumability: the plan (record ids in order, shard size, settings) is saved first; each shard
commits by renaming its folder into place. ``--resume`` re-reads the source, checks that the
plan still holds, runs only the missing shards, then merges every shard in order. So a scan
killed at any point and resumed ends with the same outputs as an uninterrupted one, with no
record lost or duplicated.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from tdmguard import __version__
from tdmguard.atomic import write_json_atomic
from tdmguard.errors import InputError
from tdmguard.scan.executors import run_shards
from tdmguard.scan.job import ScanJob
from tdmguard.scan.readers import read_source
from tdmguard.scan.record import Record
from tdmguard.scan.report_facts import collect_facts, content_section
from tdmguard.scan.report_html import write_report_html
from tdmguard.scan.writers import completed_shards, merge_shards, read_stats

__all__ = ["ProgressFn", "run_scan"]

ProgressFn = Callable[[int, int], None]  # (records done, records total)
PLAN = "plan.json"


def _plan_digest(records: Sequence[Record]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(record.id.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def _settings_json(job: ScanJob) -> dict[str, Any]:
    d = job.decision
    return {
        "use": d.use.value,
        "purpose": d.purpose.value,
        "actor": d.actor,
        "at": d.at.isoformat(),
        "unknown": d.unknown.value,
        "research_exception": d.research_exception,
        "checks": list(job.checks),
        "check_options": dict(job.check_options),
        "registry_digest": job.view.digest,
    }


def _prepare(job: ScanJob, records: Sequence[Record], resume: bool) -> dict[str, Any]:
    out = job.out_dir
    plan_path = out / PLAN
    plan = {
        "source": str(job.source),
        "records": len(records),
        "shard_size": job.shard_size,
        "ids_sha256": _plan_digest(records),
        "settings": _settings_json(job),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if resume and plan_path.exists():
        try:
            old = json.loads(plan_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable scan plan ({exc})", where=str(plan_path)) from exc
        for key in ("source", "records", "shard_size", "ids_sha256", "settings"):
            if old.get(key) != plan[key]:
                raise InputError(
                    f"cannot resume: {key} differs from the interrupted scan "
                    "(the source, the registry or the flags changed); scan into a new folder",
                    where=str(plan_path),
                )
        return dict(old)
    if out.exists() and any(out.iterdir()) and not resume:
        raise InputError(
            "output folder is not empty: use --resume to continue a scan, or a new folder",
            where=str(out),
        )
    out.mkdir(parents=True, exist_ok=True)
    job.shards_dir.mkdir(exist_ok=True)
    write_json_atomic(plan_path, plan)
    return plan


def run_scan(
    job: ScanJob, *, resume: bool = False, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Run (or resume) a scan and return the report (also written to report.json)."""
    t0 = time.perf_counter()
    records = list(read_source(job.source))
    plan = _prepare(job, records, resume)
    job.shards_dir.mkdir(parents=True, exist_ok=True)
    n_shards = (len(records) + job.shard_size - 1) // job.shard_size
    shards = {i: records[i * job.shard_size : (i + 1) * job.shard_size] for i in range(n_shards)}
    done = completed_shards(job.shards_dir) & set(shards)
    todo = [i for i in range(n_shards) if i not in done]
    done_records = sum(len(shards[i]) for i in done)
    if progress:
        progress(done_records, len(records))

    def shard_done(i: int) -> None:
        nonlocal done_records
        done_records += len(shards[i])
        if progress:
            progress(done_records, len(records))

    run_shards(job.executor, job, todo, shards, shard_done)

    order = list(range(n_shards))
    counts = merge_shards(job.shards_dir, job.out_dir, order)
    report = _report(
        job,
        plan,
        read_stats(job.shards_dir, order),
        counts,
        len(records),
        resumed=bool(resume and done),
        wall_s=time.perf_counter() - t0,
    )
    facts = collect_facts([job.out_dir], reports=[report])  # one pass over the outputs
    report["content"] = content_section(facts)
    write_json_atomic(job.out_dir / "report.json", report)
    write_report_html(facts, job.out_dir / "report.html")
    return report


def _report(
    job: ScanJob,
    plan: dict[str, Any],
    stats: list[dict[str, Any]],
    counts: dict[str, int],
    total: int,
    *,
    resumed: bool,
    wall_s: float,
) -> dict[str, Any]:
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    media: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    check_seconds: dict[str, float] = {}
    timeline: dict[str, Counter[str]] = {}  # decisions per minute of shard completion
    size = 0
    cpu_s = 0.0
    active: set[str] = set()
    skipped: dict[str, str] = {}
    for s in stats:
        decisions.update(s["decisions"])
        minute = timeline.setdefault(str(s.get("finished_at", ""))[:16], Counter())
        minute.update(s["decisions"] | {"error": int(s.get("errors", 0))})
        reasons.update(s["reasons"])
        media.update(s["media"])
        holders.update(s["holders"])
        for name, secs in s["check_seconds"].items():
            check_seconds[name] = check_seconds.get(name, 0.0) + float(secs)
        size += int(s["bytes"])
        cpu_s += float(s["seconds"])
        active.update(s["checks"])
        skipped.update(s["skipped_checks"])
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "tdmguard_version": __version__,
        "inputs": {
            "source": str(job.source),
            "records": total,
            "shard_size": job.shard_size,
            "workers": job.workers,
            **_settings_json(job),
        },
        "registry": {
            "digest": job.view.digest,
            "works": len(job.view.works),
            "holders": len(job.view.facts),
            "sources": [dict(src) for src in job.view.sources],
        },
        "counts": {
            "kept": counts["kept"],
            "excluded": counts["excluded"],
            "review": counts["review"],
            "errors": counts["errors"],
        },
        "by_decision": dict(sorted(decisions.items())),
        "by_reason": dict(sorted(reasons.items())),
        "by_media": dict(sorted(media.items())),
        "by_holder": dict(sorted(holders.items())),
        "checks": {
            "active": sorted(active),
            "skipped": skipped,
            "seconds": {k: round(v, 3) for k, v in sorted(check_seconds.items())},
        },
        "timeline": [{"minute": m, **dict(sorted(c.items()))} for m, c in sorted(timeline.items())],
        "shards": len(stats),
        "bytes": size,
        "started_at": plan.get("started_at"),
        "finished_at": finished,
        "resumed": resumed,
        "wall_seconds_last_run": round(wall_s, 3),
        "worker_seconds": round(cpu_s, 3),
        "records_per_second": round(total / wall_s, 2) if wall_s > 0 else None,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "decision_settings": {k: str(v) for k, v in asdict(job.decision).items()},
    }
