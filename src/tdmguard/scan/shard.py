"""One shard of a scan, run inside a worker: checks -> decision -> shard writer.

Checks are built once per worker process (they may open an index or an engine) and reused
for every shard that process runs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tdmguard.errors import InputError, MediaError, MissingExtraError, TdmguardError
from tdmguard.scan.checks import load_factory
from tdmguard.scan.checks.base import Check, CheckContext, CheckFactory, CheckOutcome
from tdmguard.scan.content_digest import content_sha256
from tdmguard.scan.decide import PolicyCache, decide_record
from tdmguard.scan.job import ScanJob
from tdmguard.scan.keep_format import kept_writer
from tdmguard.scan.plan import ShardSpec
from tdmguard.scan.readers import read_shard
from tdmguard.scan.record import MediaKind, Record
from tdmguard.scan.report_facts import FACTS_FILE, Tally
from tdmguard.scan.writers import ShardWriter

__all__ = [
    "ItemTimeoutError",
    "WorkerChecks",
    "build_checks",
    "evaluate_record",
    "init_worker",
    "item_budget",
    "resolve_check",
    "run_shard",
    "run_shard_cached",
    "run_shard_task",
    "worker_context",
]


def resolve_check(name: str) -> CheckFactory:
    """The factory of a check name or ``module:function`` plug-in; InputError (before any
    output is written) when it cannot be loaded."""
    try:
        return load_factory(name)
    except KeyError as exc:
        raise InputError(
            f"unknown check {name!r} (a built-in name or package.module:function)",
            where="--check",
        ) from exc
    except Exception as exc:  # ImportError, AttributeError, an error in the module itself
        raise InputError(
            f"cannot load check {name!r} ({type(exc).__name__}: {exc})", where="--check"
        ) from exc


@dataclass
class WorkerChecks:
    checks: list[Check]
    skipped: dict[str, str]  # check name -> why it is not active
    # The holder's policy per matched work, judged once per worker (scan/decide.py): the
    # checks are built for one job, so its registry view and settings are fixed.
    policy: PolicyCache = field(default_factory=dict)


def build_checks(job: ScanJob) -> WorkerChecks:
    ctx = CheckContext(
        index_dir=job.index_dir,
        use=job.decision.use,
        at=job.decision.at,
        actor=job.decision.actor,
        options=dict(job.check_options),
        fingerprinted=dict(job.view.fingerprinted),
        cache_dir=job.out_dir if str(job.source) else None,
    )
    checks: list[Check] = []
    skipped: dict[str, str] = {}
    for name in job.checks:
        factory = resolve_check(name)
        try:
            check = factory(ctx)
        except MissingExtraError as exc:
            skipped[name] = exc.message
            continue
        except TdmguardError:
            raise
        except Exception as exc:
            raise InputError(
                f"check {name!r} failed to start ({type(exc).__name__}: {exc})", where="--check"
            ) from exc
        if check is None:
            skipped[name] = "nothing to check against (no index or no data for it)"
        else:
            checks.append(check)
    return WorkerChecks(checks, skipped)


# The job and its checks, set once per worker process by init_worker (the pool's
# initializer), so an index or engine is opened once per process, not once per shard.
_WORKER: list[tuple[ScanJob, WorkerChecks]] = []


def _die_with_parent() -> None:
    """Linux: this worker gets SIGKILL when the process that started it dies, so killing a
    scan's parent never leaves workers behind."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    # A spawned worker gets here after its imports: if the scan died meanwhile, the signal
    # above will never come, so end now.
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None and os.getppid() != parent.pid:
        os._exit(1)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """While a worker is being spawned, hide where ``__main__`` came from, so the child does
    not run the main script again. multiprocessing's spawn re-imports it (as
    ``__mp_main__``) so that functions defined there unpickle; a scan's pool only ships
    tdmguard's own functions and values, and the main script is the ``tdmguard`` command
    (importing the whole CLI, registry and server: measured 2 CPU s per worker, four times
    what the worker needs) or a user's program (which would run again in every worker)."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class WorkerContext(multiprocessing.context.SpawnContext):
    """The spawn start method for scan pool workers, without running ``__main__`` again
    in each (see :func:`_main_hidden`). Spawn, not fork: a worker forked from a process
    whose OpenMP threads (faiss, numba) have run can hang at their barrier."""

    Process = _WorkerProcess


def worker_context(checks: tuple[str, ...]) -> multiprocessing.context.BaseContext:
    """The start method for a scan's pool: :class:`WorkerContext`, unless a plug-in check
    lives in the main script (``__main__:factory``), which workers then need to import."""
    if any(name.split(":", 1)[0] in ("__main__", "__mp_main__") for name in checks):
        return multiprocessing.get_context("spawn")
    return WorkerContext()


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    with contextlib.suppress(Exception):
        import resource

        limit = megabytes << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# Thread pools of the libraries under the engines (faiss's OpenMP, OpenBLAS, OpenCV).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _one_thread_each() -> None:
    """A pool worker is one of ``workers`` processes sharing the cores: the libraries'
    own thread pools would put workers x cores threads on them, spinning against each
    other (measured: three times the CPU per image on 2 workers). One thread each, unless
    the user set the variables; set before the checks load those libraries."""
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")


def _one_thread_loaded() -> None:
    """The same for libraries loaded already (OpenCV reads no variable)."""
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and os.environ.get("OMP_NUM_THREADS") == "1":
        with contextlib.suppress(Exception):
            cv2.setNumThreads(1)


def init_worker(job: ScanJob) -> None:
    """Pool initializer: one set of checks per worker process."""
    _die_with_parent()
    _one_thread_each()
    _limit_memory(job.item_memory_mb)
    _WORKER[:] = [(job, build_checks(job))]
    _one_thread_loaded()


def run_shard_task(shard: int, spec: ShardSpec) -> dict[str, Any]:
    job, checks = _WORKER[0]
    return run_shard(job, checks, shard, spec)


def run_shard_cached(job: ScanJob, shard: int, spec: ShardSpec) -> dict[str, Any]:
    """For executors whose workers outlive one job (Ray): build the checks on the first
    shard of a job this process sees, reuse them for the next ones."""
    key = (str(job.out_dir), job.view.digest)
    if not _WORKER or (str(_WORKER[0][0].out_dir), _WORKER[0][0].view.digest) != key:
        _WORKER[:] = [(job, build_checks(job))]
    return run_shard(_WORKER[0][0], _WORKER[0][1], shard, spec)


class ItemTimeoutError(BaseException):
    """An item ran past the per-item wall-clock budget. A BaseException, so that no
    ``except Exception`` in a decoder or library on the way swallows it."""


@contextlib.contextmanager
def item_budget(seconds: float) -> Iterator[None]:
    """SIGALRM-based wall-clock budget (main thread of a POSIX process only; else none)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return
    # Setting a handler costs 10-25 us (two sigactions through the signal module), more
    # than arming the timer, and the scan pays it per item (issue 12). Where SIGALRM had
    # its default action, the handler is set once and left: outside a budget it does what
    # the default does (ends the process). Any other handler is put back after each item.
    old = signal.getsignal(signal.SIGALRM)
    if old is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    _BUDGET[0] += 1
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _BUDGET[0] -= 1
        if old is not _on_alarm and old is not signal.SIG_DFL:
            signal.signal(signal.SIGALRM, old)


_BUDGET = [0]  # item budgets open in this process (main thread)


def _on_alarm(signum: int, _frame: object) -> None:
    if _BUDGET[0] > 0:
        raise ItemTimeoutError
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # not ours: the default action
    signal.raise_signal(signum)


def refuse_silent_audio(path: Path) -> None:
    """A file that decodes to zero samples cannot be checked: an error, never a keep
    (whether or not an audio index exists). Formats soundfile does not read (MP3, M4A) are
    left to the engine."""
    try:
        import soundfile
    except ModuleNotFoundError:
        return
    try:
        info = soundfile.info(str(path))
    except Exception:  # not a format soundfile reads, or corrupt: the engine decides
        return
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaError("the file decodes to zero samples", where=str(path))


def _error_line(record: Record, check: str, message: str) -> dict[str, Any]:
    return record.to_json() | {"check": check, "error": message}


def _materialise(part: Record, folder: Path, n: int) -> Record:
    """A part held in memory, as a temporary file the checks (engines) can open."""
    if part.data is None:
        return part
    suffix = os.path.splitext(part.id)[1][:16] if "." in part.id.rsplit("/", 1)[-1] else ""
    path = folder / f"item{n}{suffix}"
    path.write_bytes(part.data)
    return replace(part, path=path, data=None)


def evaluate_record(
    worker: WorkerChecks,
    record: Record,
    media_dir: Path,
    check_seconds: dict[str, float],
    timeout_s: float = 0.0,
) -> tuple[list[CheckOutcome], tuple[str, str] | None]:
    """Run every check on the record (each of its parts); returns the outcomes, or the
    (check, message) of the first failure."""
    outcomes: list[CheckOutcome] = []
    items = record.parts or (record,)
    check_name = "read"
    try:
        with item_budget(timeout_s) if timeout_s > 0 else contextlib.nullcontext():
            for n, item in enumerate(items):
                if "error" in item.meta:
                    return outcomes, ("read", f"{item.id}: {item.meta['error']}")
                if item.media is not MediaKind.AUDIO and not any(
                    item.media in check.media and (check.name != "url-signals" or n == 0)
                    for check in worker.checks
                ):
                    # No check looks at this part: a blob held in memory (a table's image
                    # cell when only lyrics are checked) is not written out for nothing.
                    # Audio is always opened: a silent file is an error, whatever is checked.
                    continue
                subject = _materialise(item, media_dir, n)
                if subject.media is MediaKind.AUDIO and subject.path is not None:
                    refuse_silent_audio(subject.path)
                if subject is not record and record.url and not subject.url:
                    subject = replace(subject, url=record.url)
                for check in worker.checks:
                    if subject.media not in check.media:
                        continue
                    if check.name == "url-signals" and n > 0:
                        continue  # a sample's URL is judged once
                    check_name = check.name
                    t0 = time.perf_counter()
                    try:
                        outcomes.append(check.evaluate(subject))
                    finally:
                        check_seconds[check.name] = (
                            check_seconds.get(check.name, 0.0) + time.perf_counter() - t0
                        )
                if subject.path is not None and subject.path.parent == media_dir:
                    subject.path.unlink(missing_ok=True)
    except ItemTimeoutError:
        return outcomes, (check_name, f"over the per-item time budget ({timeout_s:g} s)")
    except TdmguardError as exc:
        return outcomes, (check_name, str(exc))
    except MemoryError:
        return outcomes, (check_name, "out of memory (over the per-item memory budget)")
    except RecursionError:
        return outcomes, (check_name, "input nested too deeply")
    except Exception as exc:  # a bug in a check must not stop the scan
        return outcomes, (check_name, f"internal error {type(exc).__name__}: {exc}")
    return outcomes, None


# Stands for the media folder while a shard has needed none: only a part held in memory
# is written out (``_materialise``), and such a record makes the real folder first.
_NO_MEDIA = Path(os.devnull)


def _holds_data(record: Record) -> bool:
    return record.data is not None or any(p.data is not None for p in record.parts)


def run_shard(job: ScanJob, worker: WorkerChecks, shard: int, spec: ShardSpec) -> dict[str, Any]:
    """Read, scan and commit one shard; returns the shard's stats."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    writer = ShardWriter(job.shards_dir, shard)
    keep = kept_writer(spec, writer.tmp / "kept") if job.write_kept else None
    # The folder for media held in memory is made when a record first holds some: a shard
    # of inline texts or media files never needs one (a folder made and removed per shard).
    media_dir: Path | None = None
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    media: Counter[str] = Counter()
    holders: Counter[str] = Counter()
    check_seconds: dict[str, float] = {}
    # The report's facts of this shard's lines, committed with them (report_facts.py): the
    # driver merges these instead of reading every output line back.
    tally = Tally()
    errors = 0
    records = 0
    bytes_read = 0
    try:
        for record in read_shard(spec, job.read):
            records += 1
            media[record.media.value] += 1
            bytes_read += record.size_bytes
            if "error" in record.meta:
                line = _error_line(record, "read", str(record.meta["error"]))
                tally.add("errors", line, writer.write("errors", line))
                errors += 1
                continue
            if media_dir is None and _holds_data(record):
                media_dir = Path(
                    tempfile.mkdtemp(dir=job.shards_dir, prefix=f".media-{shard:06d}-")
                )
            outcomes, failure = evaluate_record(
                worker, record, media_dir or _NO_MEDIA, check_seconds, job.item_timeout_s
            )
            if failure is not None:
                line = _error_line(record, *failure)
                tally.add("errors", line, writer.write("errors", line))
                errors += 1
                continue
            decision, matches = decide_record(
                record, outcomes, job.view, job.decision, worker.policy
            )
            decisions[decision.kind.value] += 1
            for reason in decision.reasons:
                reasons[reason.code] += 1
                holder = reason.refs.get("holder")
                if holder is not None:
                    holders[str(holder)] += 1
            output = {"keep": "kept", "exclude": "excluded", "review": "review"}[
                decision.kind.value
            ]
            line = (
                record.to_json()
                | decision.to_json()
                | {
                    "matches": [m.to_json() for m in matches],
                    "problems": [p for o in outcomes for p in o.problems],
                }
                # the removal manifest names excluded and review items by content hash
                | ({} if decision.kind.value == "keep" else {"sha256": content_sha256(record)})
            )
            tally.add(output, line, writer.write(output, line))
            if keep is not None and output == "kept":
                keep.add(record)
        if keep is not None:
            keep.close()
        stats = {
            "shard": shard,
            "spec": spec.to_json(),
            "records": records,
            "decisions": dict(decisions),
            "reasons": dict(reasons),
            "media": dict(media),
            "holders": dict(holders),
            "errors": errors,
            "bytes": bytes_read,
            "seconds": round(time.perf_counter() - started, 4),
            # CPU time of this worker process on the shard: on a shared machine, wall
            # seconds measure the load as much as the work
            "cpu_seconds": round(time.process_time() - cpu_started, 4),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "worker_pid": os.getpid(),  # which worker ran it (timelines of a run)
            "check_seconds": {k: round(v, 4) for k, v in check_seconds.items()},
            "checks": [c.name for c in worker.checks],
            "skipped_checks": worker.skipped,
        }
        # a value orjson refuses: no facts.json, the report reads this shard's lines back
        with contextlib.suppress(orjson.JSONEncodeError, RecursionError):
            (writer.tmp / FACTS_FILE).write_bytes(orjson.dumps(tally.to_json()))
        writer.commit(stats)
        return stats
    except BaseException:
        writer.abort()
        raise
    finally:
        if media_dir is not None:
            shutil.rmtree(media_dir, ignore_errors=True)
