"""Runs a scan: plan shards, execute them (process pool or Ray Data), merge, report.

Streaming: the driver plans shard descriptors (``scan/plan.py``: a file and a byte, row or
member range) and never holds the records; each worker reads its own shard.

Resumability: the plan (the descriptors with each file's size and modification time, shard
size, settings) is saved first; each shard commits by renaming its folder into place.
``--resume`` plans again, checks that the plan still holds, removes temporary folders a kill
left, runs only the missing shards, then merges every shard in order. So a scan killed at
any point and resumed ends with the same outputs as an uninterrupted one, with no record lost
or duplicated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import importlib
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tdmguard import __version__
from tdmguard.atomic import write_json_atomic
from tdmguard.errors import InputError, TdmguardError
from tdmguard.scan.checks import CHECK_FACTORIES
from tdmguard.scan.executors import run_shards
from tdmguard.scan.job import Executor, ScanJob
from tdmguard.scan.keep_format import merge_kept
from tdmguard.scan.location import remote_fs
from tdmguard.scan.plan import ShardSpec, plan_source
from tdmguard.scan.report_facts import collect_facts, content_section
from tdmguard.scan.report_html import write_report_html
from tdmguard.scan.shard import WorkerChecks, build_checks, resolve_check
from tdmguard.scan.writers import clean_temporary, completed_shards, merge_shards, read_stats
from tdmguard.vocab import Modality

__all__ = ["ProgressFn", "local_work_dir", "preflight", "publish", "run_scan"]

ProgressFn = Callable[[int, int], None]  # (shards done, shards total)
PLAN = "plan.json"


def _plan_digest(specs: Sequence[ShardSpec]) -> str:
    digest = hashlib.sha256()
    for spec in specs:
        line = json.dumps(spec.to_json(), sort_keys=True, ensure_ascii=True)
        digest.update(line.encode("ascii") + b"\n")
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
        "registry_content_digest": job.view.content_digest,
        "read": asdict(job.read),
        "write_kept": job.write_kept,
    }


def _close(worker: WorkerChecks) -> None:
    for check in worker.checks:
        close = getattr(check, "close", None)
        if callable(close):
            close()


def _preflight_checks(job: ScanJob) -> WorkerChecks:
    for name in job.checks:
        resolve_check(name)
    return build_checks(job)


def preflight(job: ScanJob) -> None:
    """Everything that can fail before a single output is written: every check loads and
    starts (an index missing, mistyped or lacking a registered modality raises
    IndexStoreError, exit 8)."""
    _close(_preflight_checks(job))


def _content_modality(name: str) -> Modality | None:
    """The modality of a built-in content check (``scan/checks/content.py``: one factory
    ``make_<modality>`` per modality, opening that modality's index folder), else None."""
    module, _, factory = CHECK_FACTORIES.get(name, "").partition(":")
    if module != "tdmguard.scan.checks.content" or not factory.startswith("make_"):
        return None
    try:
        return Modality(factory.removeprefix("make_"))
    except ValueError:
        return None


def _engine_name(modality: Modality) -> str | None:
    """The name and version of this tdmguard's engine for ``modality`` (``lyrics-ngram3/4``),
    read from the engine's class: constructing an engine may load its tables (the lyrics
    background table: 0.1 CPU s). None when the class does not say it plainly, or cannot
    be imported (an extra missing): the check is then built, which reports that."""
    from tdmguard.fingerprint.engines import MODALITIES

    module, _, cls = MODALITIES[modality].engine.partition(":")
    try:
        klass = getattr(importlib.import_module(module), cls)
    except Exception:
        return None
    name = getattr(klass, "engine", None)
    if not isinstance(name, str) and dataclasses.is_dataclass(klass):  # a slots dataclass
        name = next((f.default for f in dataclasses.fields(klass) if f.name == "engine"), None)
    return name if isinstance(name, str) else None


def _seen_to_start(job: ScanJob, name: str) -> bool:
    """True when the driver can tell, without building it, that a built-in content check
    will start in the workers as it would here: its index folder's manifest is readable,
    names this tdmguard's engine and lists segment folders that exist; or the index has no
    folder for a modality the registry holds no fingerprints of (the check then has nothing
    to do). Building the check would open the engine and the index, import the index's
    kernels (numba) and read every segment in the driver, which then closes them unused,
    since pool and Ray workers open their own (0.4-0.5 CPU s of a scan's fixed cost).
    Anything else, or anything unexpected, is left to building the check, which raises the
    error a user sees (a missing folder for registered fingerprints: IndexStoreError)."""
    modality = _content_modality(name)
    if modality is None:
        return False
    folder = job.index_dir / modality.value  # registry.matching.index_folder
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        return not job.view.fingerprinted.get(modality.value)
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (OSError, ValueError):  # building the check says what is wrong
        return False
    engine = _engine_name(modality)
    if engine is None or not isinstance(manifest, dict) or manifest.get("engine") != engine:
        return False
    segments = manifest.get("segments")
    return isinstance(segments, list) and all(
        isinstance(seg, str) and (folder / seg).is_dir() for seg in segments
    )


def _light_preflight(job: ScanJob) -> None:
    """The pre-flight of a scan whose checks are built by pool or Ray workers: the same
    refusals before any output is written, without opening in the driver what it would
    close unused (see :func:`_seen_to_start`); every other check loads and starts here."""
    rest = tuple(name for name in job.checks if not _seen_to_start(job, name))
    if rest:
        preflight(replace(job, checks=rest))


def _explain_worker_failure(job: ScanJob, exc: BaseException) -> None:
    """Workers that failed to start (a pool broken, a Ray actor that died) hide why. The
    full pre-flight, run now in the driver, raises the error behind it when it is one
    (an index segment unreadable, an index rebuilt by another engine in the meantime);
    otherwise the original exception stands."""
    try:
        preflight(job)
    except TdmguardError as real:
        raise real from exc


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """The driver's objects so far moved out of the cyclic collector's reach for its work
    after the shards (merge, report facts, page), then back. That work allocates many small
    containers, so the collector runs full collections meanwhile, and each would walk every
    object the process holds: with Ray and Ray Data imported, over 120,000. Frozen, they are
    not walked, while what the tail itself makes is still collected (a ``--write-kept``
    merge of a large scan is not bounded). Measured on a 36,000-text scan's facts with Ray
    imported: 0.23 CPU s with the collector as it was, 0.11 frozen, 0.08 with the collector
    off (medians of 7). A caller that froze objects itself keeps them frozen: nothing is
    done then."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _prepare(job: ScanJob, specs: Sequence[ShardSpec], resume: bool) -> dict[str, Any]:
    out = job.out_dir
    plan_path = out / PLAN
    plan = {
        "source": job.source_text,
        "shards": len(specs),
        "shard_size": job.shard_size,
        "specs_sha256": _plan_digest(specs),
        "settings": _settings_json(job),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if resume and plan_path.exists():
        try:
            old = json.loads(plan_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable scan plan ({exc})", where=str(plan_path)) from exc
        if old.get("shard_size") != plan["shard_size"] and isinstance(old.get("shard_size"), int):
            # e.g. a manifest scan started with an older default (64 rows a shard)
            raise InputError(
                f"cannot resume: the interrupted scan cut its shards of "
                f"{old['shard_size']} items; resume with --shard-size {old['shard_size']}",
                where=str(plan_path),
            )
        for key in ("source", "shards", "shard_size", "specs_sha256", "settings"):
            if old.get(key) != plan[key]:
                raise InputError(
                    f"cannot resume: {key} differs from the interrupted scan "
                    "(the source, the registry or the flags changed); scan into a new folder",
                    where=str(plan_path),
                )
        clean_temporary(job.shards_dir)
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
    specs = list(plan_source(job.source_text, job.shard_size))
    # A scan that runs in this process builds its checks (an index, an engine) once, for
    # the pre-flight and the shards. Pool and Ray workers build their own: the driver only
    # makes sure they will start.
    inline = job.executor is Executor.LOCAL and job.workers <= 1
    checked: WorkerChecks | None = None
    if inline:
        checked = _preflight_checks(job)
    else:
        _light_preflight(job)
    try:
        plan = _prepare(job, specs, resume)
    except BaseException:
        if checked is not None:
            _close(checked)
        raise
    job.shards_dir.mkdir(parents=True, exist_ok=True)
    n_shards = len(specs)
    shards = dict(enumerate(specs))
    done = completed_shards(job.shards_dir) & set(shards)
    todo = [i for i in range(n_shards) if i not in done]
    finished = len(done)
    if progress:
        progress(finished, n_shards)

    def shard_done(_i: int) -> None:
        nonlocal finished
        finished += 1
        if progress:
            progress(finished, n_shards)

    try:
        run_shards(job.executor, job, todo, shards, shard_done, checked)
    except Exception as exc:
        if checked is None and not isinstance(exc, TdmguardError):
            _explain_worker_failure(job, exc)
        raise
    finally:
        if checked is not None:
            _close(checked)

    with _gc_frozen():
        return _finish(job, plan, n_shards, resumed=bool(resume and done), t0=t0)


def _finish(
    job: ScanJob, plan: dict[str, Any], n_shards: int, *, resumed: bool, t0: float
) -> dict[str, Any]:
    """The driver's work after the shards: merged outputs, report.json, report.html."""
    order = list(range(n_shards))
    counts = merge_shards(job.shards_dir, job.out_dir, order)
    if job.write_kept:
        merge_kept(job.shards_dir, job.out_dir, order)
    stats = read_stats(job.shards_dir, order)
    report = _report(
        job,
        plan,
        stats,
        counts,
        sum(int(s["records"]) for s in stats),
        resumed=resumed,
        wall_s=time.perf_counter() - t0,
    )
    facts = collect_facts([job.out_dir], reports=[report])  # one pass over the outputs
    report["content"] = content_section(facts)
    write_json_atomic(job.out_dir / "report.json", report)
    write_report_html(facts, job.out_dir / "report.html")
    return report


def local_work_dir(url: str) -> Path:
    """Where a scan whose ``--out`` is remote works (and resumes): a folder named after the
    URL under ``$TDMGUARD_SCAN_WORK`` (default ``~/.cache/tdmguard/scans``)."""
    base = Path(os.environ.get("TDMGUARD_SCAN_WORK", "~/.cache/tdmguard/scans")).expanduser()
    return base / hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]


def publish(out_dir: Path, url: str) -> int:
    """Copy a finished scan's outputs (not its shards) to a remote ``--out``; returns the
    number of files. The report goes last, so its presence means the rest is there."""
    fs, root = remote_fs(url)
    root = root.rstrip("/")
    files = [p for p in sorted(out_dir.rglob("*")) if p.is_file()
             and p.relative_to(out_dir).parts[0] not in ("shards",)
             and p.name != "report.json"]
    for path in [*files, out_dir / "report.json"]:
        rel = path.relative_to(out_dir).as_posix()
        fs.put_file(str(path), f"{root}/{rel}")
    return len(files) + 1


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
    worker_cpu_s = 0.0
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
        worker_cpu_s += float(s.get("cpu_seconds", 0.0))  # absent in shards of older scans
        active.update(s["checks"])
        skipped.update(s["skipped_checks"])
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "tdmguard_version": __version__,
        "inputs": {
            "source": job.source_text,
            "records": total,
            "shard_size": job.shard_size,
            "workers": job.workers,
            **_settings_json(job),
        },
        "registry": {
            "digest": job.view.digest,  # the audit head
            "content_digest": job.view.content_digest,  # the decision-relevant tables
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
        "worker_cpu_seconds": round(worker_cpu_s, 3),
        "records_per_second": round(total / wall_s, 2) if wall_s > 0 else None,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "decision_settings": {k: str(v) for k, v in asdict(job.decision).items()},
    }
