"""Catalogue uploads as background jobs, so the page can show real progress.

The upload request saves the files and validates every row (a dry run of the service's
import: nothing stored); refused rows are shown at once. A valid upload becomes a job: a
thread of the worker that took the request runs the service's import with its
``on_progress(done, total)`` written to the job's record, and the page polls that record
(``GET /upload/jobs/{id}.json``).

Records are small JSON files (written atomically) in one folder per registry on this
machine, so every worker of ``tdmguard serve --workers N`` reads the same state; a job runs
in the worker that accepted it, and a job whose worker is gone reads as failed. Several
machines behind one load balancer need a shared folder (``TDMGUARD_WEB_JOBS_DIR``); a job
of another machine is never judged dead from here.
A job is seen only by the holder that started it (an admin key's jobs by that key)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tdmguard.atomic import write_json_atomic
from tdmguard.errors import TdmguardError
from tdmguard.registry.catalogue_import import ImportReport
from tdmguard.registry.values import Actor, Scope

__all__ = ["Job", "JobStore", "job_owner"]

_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600
FINAL = ("done", "failed")


def job_owner(actor: Actor) -> str:
    """Who may see a job: the holder of a write key; an admin key itself."""
    if actor.scope is Scope.WRITE and actor.holder is not None:
        return f"holder:{actor.holder}"
    return f"key:{actor.key_id or actor.name}"


@dataclass
class Job:
    id: str
    owner: str
    filename: str
    state: str = "fingerprinting"  # fingerprinting -> storing -> done | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    where: str | None = None
    works: list[dict[str, object]] = field(default_factory=list)
    pid: int = 0
    host: str = ""  # the machine whose process runs it (pid is checked there only)
    created: float = 0.0
    updated: float = 0.0

    def public(self) -> dict[str, object]:
        """What the page sees (not the owner)."""
        out = asdict(self)
        for private in ("owner", "pid", "host"):
            out.pop(private)
        return out


class JobStore:
    """Job records in ``folder`` (created private to this user)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_registry(cls, db_url: str) -> JobStore:
        configured = os.environ.get("TDMGUARD_WEB_JOBS_DIR", "").strip()
        if configured:
            return cls(Path(configured).expanduser())
        digest = hashlib.sha256(db_url.encode()).hexdigest()[:16]
        uid = os.getuid() if hasattr(os, "getuid") else 0
        return cls(Path(tempfile.gettempdir()) / f"tdmguard-web-jobs-{uid}-{digest}")

    def _ready(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def save(self, job: Job) -> None:
        job.updated = time.time()
        write_json_atomic(self._path(job.id), asdict(job))

    def create(self, owner: str, filename: str) -> Job:
        self._ready()
        self._sweep()
        now = time.time()
        job = Job(secrets.token_urlsafe(24), owner, filename, pid=os.getpid(),
                  host=socket.gethostname(), created=now)
        self.save(job)
        return job

    def load(self, job_id: str, owner: str) -> Job | None:
        """The job if it exists and ``owner`` started it (else None: no probing of others')."""
        if not _ID.match(job_id):
            return None
        try:
            data = json.loads(self._path(job_id).read_text(encoding="utf-8"))
            job = Job(**data)
        except (OSError, ValueError, TypeError):
            return None
        if job.owner != owner:
            return None
        if job.state not in FINAL and job.host == socket.gethostname() and not _alive(job.pid):
            job.state, job.error = "failed", "the server stopped while this upload ran"
        return job

    def _sweep(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in self.folder.glob("*.json"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    def run(self, job: Job, work: Callable[[Callable[[int, int], None]], ImportReport],
            cleanup: Path) -> threading.Thread:
        """Run ``work(on_progress)`` in a thread, recording progress (at most every 0.2 s)
        and the outcome; remove ``cleanup`` (the uploaded files) at the end."""
        last = [0.0]

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total
            if done >= total:
                job.state = "storing"
            now = time.monotonic()
            if now - last[0] >= 0.2 or done >= total:
                last[0] = now
                self.save(job)

        def main() -> None:
            try:
                report = work(progress)
                job.works = [{"id": w.id, "title": w.title, "modalities": list(w.modalities)}
                             for w in report.works]
                job.done = job.total
                job.state = "done"
            except TdmguardError as exc:  # name the upload, not the server's folder
                prefix = f"{cleanup}/"
                job.state, job.error = "failed", exc.message.replace(prefix, "")
                job.where = exc.where.replace(prefix, "") if exc.where else None
            except Exception as exc:  # a bug: the page says so instead of polling forever
                job.state, job.error = "failed", f"internal error ({type(exc).__name__})"
            finally:
                shutil.rmtree(cleanup, ignore_errors=True)
                self.save(job)

        thread = threading.Thread(target=main, name=f"upload-{job.id[:8]}", daemon=True)
        thread.start()
        return thread


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
