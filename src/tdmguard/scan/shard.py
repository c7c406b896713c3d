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
from tdmguard.vocab import DecisionKind

__all__ = [
    "ItemBudget",
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


def _budget_usable(seconds: float) -> bool:
    return (
        seconds > 0
        and threading.current_thread() is threading.main_thread()
        and hasattr(signal, "setitimer")
    )


def _take_alarm() -> Any:
    """Set :func:`_on_alarm` as SIGALRM's handler; returns the handler it replaced. Setting
    a handler costs 10-25 us (two sigactions through the signal module): where SIGALRM had
    its default action, ours is set once and left, since outside a budget it does what the
    default does (ends the process)."""
    old = signal.getsignal(signal.SIGALRM)
    if old is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
    return old


def _give_back_alarm(old: Any) -> None:
    """Put back a handler of the caller's own (see :func:`_take_alarm`)."""
    if old is not _on_alarm and old is not signal.SIG_DFL:
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def item_budget(seconds: float) -> Iterator[None]:
    """SIGALRM-based wall-clock budget for one item (main thread of a POSIX process only;
    else none): arms the timer and disarms it. A scan's shard uses :class:`ItemBudget`,
    armed once for all its items."""
    if not _budget_usable(seconds):
        yield
        return
    old = _take_alarm()
    _BUDGET[0] += 1
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            # an alarm that fired as the item ended runs its handler now, while the budget
            # is open (a timeout), never after it closed (the default action would end the
            # process); and the budget is closed whatever the handler raised
            _handle_pending()
        finally:
            _BUDGET[0] -= 1
            _give_back_alarm(old)


def _handle_pending() -> None:
    """Nothing: calling a Python function runs a signal handler left pending (CPython runs
    pending handlers when a function starts)."""


class ItemBudget:
    """The per-item wall-clock budget of a run of items (a shard), armed once: the handler
    and the timer are set when the run starts and cleared when it ends, and each item only
    notes its deadline (:meth:`start`, :meth:`stop`: a clock read, where arming and
    disarming the timer per item cost two ``setitimer`` calls, 24-50 us an item, issue 12).

    The timer never fires after the deadline of the item running: it is set for
    ``seconds`` from when it is armed (no item that starts later ends sooner), and each
    time it fires it is set again, for the running item's deadline when that is still to
    come (so a stuck item still ends on time, to the clock's precision), else for
    ``seconds`` from then. An item past its deadline gets :class:`ItemTimeoutError`. It
    fires about once per ``seconds`` of a run whose items all finish in time.

    Main thread of a POSIX process only (else no budget, as :func:`item_budget`); not
    nested in another budget. A context manager: ``with ItemBudget(s) as budget``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = False
        self._old: Any = None

    def __enter__(self) -> ItemBudget:
        if _budget_usable(self.seconds):
            self._old = _take_alarm()
            _RUN[:] = [self.seconds, 0.0]
            self.active = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            _RUN[0] = 0.0  # closing: an alarm from now on is dropped, not set again
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                _handle_pending()  # one that fired as the run ended: dropped while closing
            finally:
                _RUN.clear()
                self.active = False
                _give_back_alarm(self._old)

    def start(self) -> None:
        """An item starts: its deadline is ``seconds`` from now."""
        if self.active:
            _RUN[1] = time.monotonic() + self.seconds

    def stop(self) -> None:
        """The item ended (in time or not): no deadline until the next one starts."""
        if self.active:
            _RUN[1] = 0.0


_BUDGET = [0]  # item budgets open in this process (main thread)
# An ItemBudget armed in this process: [seconds (0: closing), deadline of the running item
# (0: none)].
_RUN: list[float] = []


def _on_alarm(signum: int, _frame: object) -> None:
    if _BUDGET[0] > 0:
        raise ItemTimeoutError
    if _RUN:
        seconds, deadline = _RUN
        if not seconds:  # the run is closing (ItemBudget.__exit__): its last alarm
            return
        now = time.monotonic()
        if deadline and now >= deadline:
            _RUN[1] = 0.0
            # the next item starts after now: its deadline is at least this far away
            signal.setitimer(signal.ITIMER_REAL, seconds)
            raise ItemTimeoutError
        # early (the running item started after the timer was set, or none runs): again
        # at the running item's deadline, else a budget from now
        signal.setitimer(signal.ITIMER_REAL, max(deadline - now, 1e-6) if deadline else seconds)
        return
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


# no timer of the item's own (nullcontext holds no state: one serves every item)
_NO_TIMER: contextlib.nullcontext[None] = contextlib.nullcontext()


def evaluate_record(
    worker: WorkerChecks,
    record: Record,
    media_dir: Path,
    check_seconds: dict[str, float],
    timeout_s: float = 0.0,
    budget: ItemBudget | None = None,
) -> tuple[list[CheckOutcome], tuple[str, str] | None]:
    """Run every check on the record (each of its parts); returns the outcomes, or the
    (check, message) of the first failure. The record gets ``timeout_s`` seconds: of
    ``budget``, armed by the caller for a run of records, when given; else a timer of its
    own (:func:`item_budget`)."""
    outcomes: list[CheckOutcome] = []
    items = record.parts or (record,)
    check_name = "read"
    if budget is not None and budget.active:
        timeout_s = budget.seconds
        own_timer: contextlib.AbstractContextManager[None] = _NO_TIMER
        budget.start()
    else:
        budget = None
        own_timer = item_budget(timeout_s) if timeout_s > 0 else _NO_TIMER
    try:
        with own_timer:
            try:
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
            finally:
                # inside the handlers below: an alarm before the deadline is cleared is
                # this item's, counted as its timeout
                if budget is not None:
                    budget.stop()
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


_OUTPUT_OF = {
    DecisionKind.KEEP: "kept", DecisionKind.EXCLUDE: "excluded", DecisionKind.REVIEW: "review"
}


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
        def finish(
            record: Record, outcomes: list[CheckOutcome], failure: tuple[str, str] | None
        ) -> None:
            """Decide a checked record and write its line (or its error line)."""
            nonlocal errors
            if failure is not None:
                line = _error_line(record, *failure)
                tally.add("errors", line, *writer.write("errors", line))
                errors += 1
                return
            match_json: dict[int, dict[str, object]] = {}
            decision, matches = decide_record(
                record, outcomes, job.view, job.decision, worker.policy, match_json
            )
            decisions[decision.kind.value] += 1
            for reason in decision.reasons:
                reasons[reason.code] += 1
                holder = reason.refs.get("holder")
                if holder is not None:
                    holders[str(holder)] += 1
            output = _OUTPUT_OF[decision.kind]
            # one dict, filled in place (no copy per part)
            line = record.to_json()
            line.update(decision.to_json())
            line["matches"] = [match_json.get(id(m)) or m.to_json() for m in matches]
            line["problems"] = [p for o in outcomes for p in o.problems]
            if decision.kind is not DecisionKind.KEEP:
                # the removal manifest names excluded and review items by content hash
                line["sha256"] = content_sha256(record)
            tally.add(output, line, *writer.write(output, line))
            if keep is not None and output == "kept":
                keep.add(record)

        # Three passes over a run of records that hold nothing in memory (inline text,
        # media files): read them, run the checks on each, then decide and write each, in
        # order. The engine then runs item after item as it does alone, and the scan's own
        # code item after item, each on caches the other did not just evict: interleaved,
        # the scan's own work cost twice its CPU alone (issue 12). A record holding media
        # in memory is finished at once (the run before it first), so a shard never holds
        # its blobs.
        run: list[Record] = []

        def check_run(budget: ItemBudget) -> None:
            checked: list[tuple[Record, list[CheckOutcome], tuple[str, str] | None]] = []
            for record in run:
                if "error" in record.meta:
                    checked.append((record, [], ("read", str(record.meta["error"]))))
                else:
                    checked.append((record, *evaluate_record(
                        worker, record, _NO_MEDIA, check_seconds, job.item_timeout_s, budget
                    )))
            run.clear()
            for item in checked:
                finish(*item)

        with ItemBudget(job.item_timeout_s) as budget:
            for record in read_shard(spec, job.read):
                records += 1
                media[record.media.value] += 1
                bytes_read += record.size_bytes
                if "error" in record.meta or not _holds_data(record):
                    run.append(record)
                    continue
                check_run(budget)
                if media_dir is None:
                    media_dir = Path(
                        tempfile.mkdtemp(dir=job.shards_dir, prefix=f".media-{shard:06d}-")
                    )
                finish(record, *evaluate_record(
                    worker, record, media_dir, check_seconds, job.item_timeout_s, budget
                ))
            check_run(budget)
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
        # a value orjson refuses: no facts.jsonl, the report reads this shard's lines back
        with contextlib.suppress(orjson.JSONEncodeError, RecursionError):
            (writer.tmp / FACTS_FILE).write_bytes(tally.facts_bytes())
        writer.commit(stats)
        return stats
    except BaseException:
        writer.abort()
        raise
    finally:
        if media_dir is not None:
            shutil.rmtree(media_dir, ignore_errors=True)
