"""Issue 18's reproduction: a reservation deleted or changed with the sqlite3 module flipped
decisions from exclude to keep while ``registry verify`` passed and the registry digest
stayed. Now verify exits 6 naming the row, and a pinned head (published in the declaration
bundle) catches deleted last entries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tdmguard.cli.exit_codes import ExitCode


@pytest.fixture
def run(run):  # type: ignore[no-untyped-def]
    """The shared CLI runner, on a registry with one holder, one work and one reservation."""
    run("holder", "add", "H", "--contact", "rights@h.example")
    run("work", "add", "--holder", "H", "--title", "Dawn", "--id", "W1")
    run("reserve", "--holder", "H", "--use", "ai-train", "--from", "2025-01-01")
    return run


def _decision(run) -> str:  # type: ignore[no-untyped-def]
    d = run("decide", "--work", "W1", "--use", "ai-train", "--purpose", "commercial",
            "--actor", "OpenCo", "--at", "2026-01-01", "--json")
    return str(d["decision"])


def _edit(db: Path, statement: str) -> None:
    con = sqlite3.connect(db)
    con.execute(statement)
    con.commit()
    con.close()


def test_deleted_reservation_flips_the_decision_and_fails_verify(  # type: ignore[no-untyped-def]
        run, tmp_path: Path) -> None:
    assert _decision(run) == "exclude"
    assert run("registry", "verify", "--json")["ok"] is True
    _edit(tmp_path / "cli.db", "DELETE FROM reservations WHERE id = 1")
    assert _decision(run) == "keep"  # the harm: now verify must say so
    out = run("registry", "verify", code=ExitCode.INTEGRITY)
    assert "reservations row 1" in out and "deleted outside tdmguard" in out
    assert "Traceback" not in out
    report = run("registry", "verify", "--json", code=ExitCode.INTEGRITY)
    assert (report["ok"], report["table"], report["row"]) == (False, "reservations", "1")


def test_changed_uses_fail_verify(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _edit(tmp_path / "cli.db", "UPDATE reservations SET uses = '[\"search\"]' WHERE id = 1")
    assert _decision(run) == "keep"
    out = run("registry", "verify", code=ExitCode.INTEGRITY)
    assert "uses: log says" in out and '["search"]' in out


def test_published_head_catches_deleted_last_entries(  # type: ignore[no-untyped-def]
        run, tmp_path: Path) -> None:
    bundle = tmp_path / "site"
    run("declare", "--holder", "H", "--base-url", "https://h.example", "--out", str(bundle))
    published = json.loads((bundle / ".well-known" / "tdmguard-head.json").read_text())
    pin = published["audit_head"]["pin"]
    assert pin.startswith("3:")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["registry_audit_head"]["pin"] == pin
    assert run("registry", "verify", "--pin", pin, "--json")["ok"] is True
    # The operator deletes the reservation AND its audit entry (the last one): the rest of
    # the chain is intact and matches the tables, but not the published head.
    _edit(tmp_path / "cli.db", "DELETE FROM reservations WHERE id = 1")
    _edit(tmp_path / "cli.db", "DELETE FROM audit_log WHERE seq = 3")
    assert run("registry", "verify", "--json")["ok"] is True
    out = run("registry", "verify", "--pin", pin, code=ExitCode.INTEGRITY)
    assert "entries were deleted" in out
    out = run("registry", "verify", "--pin", "3:nothex", code=ExitCode.INPUT)
    assert "SEQ:HASH" in out
