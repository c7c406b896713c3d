"""`registry verify` on a mirror: every mirrored row and index segment against what was
pulled (registry/snapshot/verify.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tdmguard.registry import replay
from tdmguard.registry.service import RegistryService
from tdmguard.registry.snapshot import export_snapshot
from tdmguard.registry.snapshot.verify import verify_mirror
from tdmguard.registry.tables import SnapshotEntry, Work
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.signing import SigningKey, generate_signing_key

from .test_apply import Mirror, _change, build_source


@pytest.fixture
def mirror(tmp_path: Path) -> Mirror:
    key: SigningKey = generate_signing_key()
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    _change(reg, index)  # the delta replaces rows and rewrites a segment
    d1 = export_snapshot(reg, tmp_path / "d1", key, since=s1.manifest.seq_to)
    m = Mirror(tmp_path / "m")
    m.pull(s1.folder, key, namespace="aur")
    m.pull(d1.folder, key)
    return m


def _sql(m: Mirror, statement: str) -> None:
    with m.reg.engine.begin() as conn:
        conn.exec_driver_sql(statement)


def _verify(m: Mirror) -> tuple[bool, str | None, str | None, str | None]:
    result = RegistryService(m.reg, m.index, research_exception=False).verify(CLI_ACTOR)
    return result.ok, result.table, result.row, result.problem


def test_a_pulled_mirror_verifies(mirror: Mirror) -> None:
    check = verify_mirror(mirror.reg, mirror.index)
    assert check.problem is None and check.unrecorded == 0
    assert (check.sources, check.rows) == (1, 2 + 4 + 4 + 1 + 1)  # holders works res lic rev
    assert check.segments >= 1
    assert _verify(mirror)[0]


@pytest.mark.parametrize(("statement", "table", "row", "words"), [
    ("UPDATE works SET removed_on = NULL WHERE public_id = 'aur:A-1'", "works", "aur:A-1",
     "changed outside tdmguard"),
    ("UPDATE reservations SET uses = '[\"search\"]' WHERE id = 2", "reservations", "2",
     "changed outside tdmguard"),
    ("DELETE FROM revocations", "revocations", "1", "deleted outside tdmguard"),
    ("UPDATE holders SET contact = 'x' WHERE id = 1", "holders", "1", "changed"),
])
def test_an_edited_mirrored_row_is_named(mirror: Mirror, statement: str, table: str,
                                         row: str, words: str) -> None:
    _sql(mirror, statement)
    ok, got_table, got_row, problem = _verify(mirror)
    assert not ok and (got_table, got_row) == (table, row)
    assert problem is not None and words in problem and "source" in problem


def test_edited_digests_break_the_audit_entry(mirror: Mirror) -> None:
    """Changing a row and its recorded digest together is caught by the digest kept in the
    mirror's hash-chained audit log."""
    _sql(mirror, "UPDATE works SET title = 'x' WHERE public_id = 'aur:A-2'")
    with Session(mirror.reg.engine) as s, s.begin():
        local = s.query(Work.id).filter(Work.public_id == "aur:A-2").scalar()
        row = replay.mirrored_rows(s, {"work": {local}})[("work", local)]
        entry = s.query(SnapshotEntry).filter(SnapshotEntry.kind == "work",
                                              SnapshotEntry.local_id == local).one()
        entry.row_sha256 = replay.row_digest(row)
    ok, table, _row, problem = _verify(mirror)
    assert not ok and table == "snapshot_entries" and problem and "audit entry" in problem


def test_a_changed_segment_file_is_named(mirror: Mirror) -> None:
    seg = sorted((mirror.index / "lyrics").glob("seg-*"))[0]
    keys = seg / "keys.npy"
    data = bytearray(keys.read_bytes())
    data[-1] ^= 1
    keys.write_bytes(bytes(data))
    ok, table, row, problem = _verify(mirror)
    assert not ok and table == "index" and row == f"index/lyrics/{seg.name}"
    assert problem and "changed outside tdmguard" in problem
