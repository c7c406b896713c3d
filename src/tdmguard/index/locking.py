"""An exclusive, per-index-folder lock across processes and threads.

Every read-modify-write of a manifest (append a segment, remove works, compact, swap in a
rebuilt folder) runs under it, so two writers (two uvicorn workers, a CLI import next to a
server) never lose each other's segments. The lock file sits beside the folder, not in it,
because a rebuild replaces the folder. The lock is re-entrant within a thread, so a caller
may hold it around several index operations that each take it too.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tdmguard.errors import IndexStoreError

__all__ = ["index_lock", "lock_path"]

_held = threading.local()


def lock_path(folder: Path) -> Path:
    """The lock file of an index folder (``<parent>/.<name>.lock``)."""
    return folder.parent / f".{folder.name}.lock"


@contextmanager
def index_lock(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` (blocking until other holders release it)."""
    path = lock_path(folder)
    counts: dict[str, int] = getattr(_held, "counts", None) or {}
    _held.counts = counts
    key = str(path)
    if counts.get(key):
        counts[key] += 1
        try:
            yield
        finally:
            counts[key] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexStoreError(f"cannot open the index lock ({exc.strerror})", where=key) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        counts[key] = 1
        try:
            yield
        finally:
            counts.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
