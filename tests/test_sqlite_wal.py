"""enable_wal: a fresh SQLite file switched to WAL by processes that open it together."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tdmguard.sqlite_wal import enable_wal


def _locked(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_the_switch_waits_for_another_connection_lock(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    holder = _locked(path)
    other = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("PRAGMA journal_mode=WAL")  # what a plain pragma does
    threading.Timer(0.2, lambda: holder.execute("COMMIT")).start()
    t0 = time.monotonic()
    enable_wal(other, wait_s=10)
    assert 0.1 < time.monotonic() - t0 < 5
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    holder.close()
    other.close()


def test_the_switch_gives_up_after_its_wait(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    holder = _locked(path)
    other = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    t0 = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(other, wait_s=0.3)
    assert time.monotonic() - t0 < 3
    holder.execute("COMMIT")
    holder.close()
    other.close()


def _open(path: str, go: Any, out: Any) -> None:
    go.wait()
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        enable_wal(db)
        db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        out.put("ok")
    except sqlite3.Error as exc:
        out.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_fresh_file_together_all_get_it(tmp_path: Path) -> None:
    """Two processes, started together on a new file, 30 times: a plain pragma failed in
    about a fifth of such opens (a scan's two workers and their shared URL cache)."""
    ctx = mp.get_context("fork")
    answers: list[str] = []
    for n in range(30):
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(str(tmp_path / f"{n}.sqlite"), go, out))
                 for _ in range(2)]
        for p in procs:
            p.start()
        go.set()
        answers += [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
    assert answers == ["ok"] * 60
