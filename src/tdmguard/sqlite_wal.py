"""Switching a SQLite file to write-ahead logging when several processes may open it first.

``PRAGMA journal_mode=WAL`` on a file not yet in WAL mode takes the file's exclusive lock and
does not wait on SQLite's busy handler: when two processes open a fresh file at once (a scan's
workers and their shared URL cache), one of them gets ``database is locked`` at once, whatever
the connection's timeout (measured: 32-49 of 200 first opens, two processes started
together). Once one switch succeeds the mode is stored in the file, and the others' pragma
returns at once, so a short retry settles it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["enable_wal"]


def enable_wal(conn: Any, wait_s: float = 30.0) -> None:
    """``PRAGMA journal_mode=WAL`` on ``conn`` (a DB-API SQLite connection or cursor),
    retried while another process holds the lock, for up to ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
