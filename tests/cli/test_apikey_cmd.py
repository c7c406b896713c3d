"""``tdmguard apikey``: the key is printed once, stored hashed, listed without it, revoked."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tdmguard.cli.exit_codes import ExitCode


def _run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    assert info.value.code == code, out.out + out.err
    return out.out + out.err


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    _run(capsys, "--db", db, "holder", "add", "Aurora")
    created = json.loads(_run(capsys, "--db", db, "apikey", "create", "--holder", "Aurora",
                              "--scope", "write", "--json"))
    assert set(created) == {"id", "key"} and created["key"].startswith(f"tdm_{created['id']}_")
    admin = json.loads(_run(capsys, "--db", db, "apikey", "create", "--admin", "--json"))
    listed = json.loads(_run(capsys, "--db", db, "apikey", "list", "--json"))
    assert [(k["id"], k["scope"], k["holder"]) for k in listed] == [
        (created["id"], "write", "Aurora"), (admin["id"], "admin", None)]
    # only the hash is stored
    with sqlite3.connect(db) as con:
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM api_keys") for v in row)
    assert created["key"].split("_", 2)[2] not in stored
    revoked = json.loads(_run(capsys, "--db", db, "apikey", "revoke", created["id"], "--json"))
    assert revoked["revoked_at"] is not None
    _run(capsys, "--db", db, "apikey", "revoke", "nope", code=ExitCode.NOT_FOUND)
    _run(capsys, "--db", db, "apikey", "create", "--scope", "write", code=ExitCode.INPUT)
    _run(capsys, "--db", db, "apikey", "create", "--holder", "Nobody", "--scope", "write",
         code=ExitCode.NOT_FOUND)
    _run(capsys, "--db", db, "apikey", "create", "--scope", "root", code=ExitCode.INPUT)
    log = json.loads(_run(capsys, "--db", db, "registry", "log", "--json"))
    assert [e["action"] for e in log][-3:] == ["apikey.create", "apikey.create", "apikey.revoke"]
    assert log[-1]["payload"]["by"]["name"] == "cli"


def test_revoke_checks_the_owner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    for name in ("A", "B"):
        _run(capsys, "--db", db, "holder", "add", name)
    res = json.loads(_run(capsys, "--db", db, "reserve", "--holder", "A", "--use", "tdm",
                          "--from", "2025-01-01", "--json"))
    out = _run(capsys, "--db", db, "reservation", "revoke", str(res["id"]), "--holder", "B",
               code=ExitCode.INPUT)
    assert "another holder" in out
    _run(capsys, "--db", db, "reservation", "revoke", str(res["id"]), "--holder", "A")
