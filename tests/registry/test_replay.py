"""The audit log binds the state (issue 18): ``verify`` replays the log and names the first
table row changed, deleted or inserted outside tdmguard; a pinned head catches deleted last
entries and a recomputed chain; the content digest moves with every decision-relevant row.

Each edit is made with plain SQL on the real database (SQLite file, PostgreSQL server)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from tdmguard.fingerprint.engines import get_engine
from tdmguard.registry import audit
from tdmguard.registry.snapshot import FolderReader, export_snapshot, pull_snapshot
from tdmguard.registry.store import NewWork, Registry
from tdmguard.signing import generate_signing_key
from tdmguard.vocab import Modality, Purpose, Use


@pytest.fixture
def reg(db_url: str) -> Registry:
    reg = Registry.open(db_url)
    reg.add_holder("H", contact="rights@h.example")
    reg.add_work("H", NewWork(title="a", external_id="A"))
    reg.add_work("H", NewWork(title="b", external_id="B"))
    reg.reserve("H", uses=[Use.TDM], effective_from=date(2025, 1, 1))  # reservation 1
    reg.reserve("H", uses=[Use.AI_TRAIN], effective_from=date(2025, 1, 1), work_ids=["A"],
                purposes=[Purpose.COMMERCIAL])  # reservation 2
    reg.grant_licence("H", licensee="OpenCo", uses=[Use.TDM], valid_from=date(2025, 1, 1))
    reg.revoke("licence", 1, on=date(2026, 6, 1), note="ended")
    engine = get_engine(Modality.LYRICS)
    lyric = "the river runs to the sea and the sea runs to the sky " * 4
    fp = engine.extract_text(lyric, where="A")
    reg.add_fingerprint("A", fp, source_sha256=hashlib.sha256(lyric.encode()).hexdigest())
    reg.remove_work("H", "B", on=date(2026, 1, 1))
    return reg


def _sql(reg: Registry, statement: str, **params: object) -> None:
    with reg.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_untouched_registry_verifies_every_row(reg: Registry) -> None:
    result = reg.verify()
    assert result.ok, result.problem
    # 1 holder, 2 works, 2 reservations, 1 licence, 1 revocation, 1 fingerprint
    assert result.rows == 8
    assert result.head_seq == result.entries == 9


def test_changed_reservation_uses_is_named(reg: Registry) -> None:
    digest = reg.content_digest()
    _sql(reg, "UPDATE reservations SET uses = '[\"search\"]' WHERE id = 1")
    result = reg.verify()
    assert not result.ok
    assert (result.table, result.row, result.field) == ("reservations", "1", "uses")
    assert result.problem is not None
    assert "reservations row 1 was changed outside tdmguard" in result.problem
    assert 'log says ["tdm"], table has ["search"]' in result.problem
    assert reg.content_digest() != digest  # the scan's registry digest moves too
    assert reg.verify().where == "reservations row 1"


def test_deleted_reservation_is_named(reg: Registry) -> None:
    digest, head = reg.content_digest(), reg.state_digest()
    _sql(reg, "DELETE FROM reservations WHERE id = 2")
    result = reg.verify()
    assert not result.ok and (result.table, result.row) == ("reservations", "2")
    assert result.problem is not None and "is missing (deleted outside tdmguard" in result.problem
    assert reg.state_digest() == head  # the audit head cannot see it ...
    assert reg.content_digest() != digest  # ... the content digest does


def test_deleted_licence_and_revocation_are_named(reg: Registry) -> None:
    _sql(reg, "DELETE FROM revocations")
    result = reg.verify()
    assert not result.ok and result.table == "revocations"
    assert result.problem is not None and "revocation of licence 1" in result.problem
    _sql(reg, "DELETE FROM licences WHERE id = 1")
    result = reg.verify()
    assert (result.table, result.row) == ("licences", "1")


def test_row_with_no_audit_entry_is_named(reg: Registry) -> None:
    _sql(reg, "INSERT INTO reservations (id, holder_id, work_ids, uses, purposes, "
              "effective_from, exempt, created_at) VALUES (7, 1, '[]', '[\"ai-train\"]', '[]', "
              "'2025-01-01', false, '2025-01-01 00:00:00')")
    result = reg.verify()
    assert (result.table, result.row, result.field) == ("reservations", "7", None)
    assert result.problem is not None and "has no audit entry" in result.problem


@pytest.mark.parametrize(("statement", "table", "row", "field"), [
    ("UPDATE holders SET contact = 'evil@x.example' WHERE id = 1", "holders", "1", "contact"),
    ("UPDATE works SET removed_on = NULL WHERE public_id = 'B'", "works", "B", "removed_on"),
    ("UPDATE works SET title = 'z' WHERE public_id = 'A'", "works", "A", "title"),
    ("UPDATE licences SET licensee = 'Other' WHERE id = 1", "licences", "1", "licensee"),
    ("UPDATE revocations SET revoked_on = '2030-01-01'", "revocations", "1", "revoked_on"),
    ("UPDATE reservations SET work_ids = '[\"B\"]' WHERE id = 2", "reservations", "2", "works"),
    ("UPDATE fingerprints SET superseded_at = created_at", "fingerprints", "A/lyrics", None),
])
def test_each_decision_relevant_field_is_bound(
    reg: Registry, statement: str, table: str, row: str, field: str | None
) -> None:
    _sql(reg, statement)
    result = reg.verify()
    assert not result.ok, statement
    assert (result.table, result.row, result.field) == (table, row, field)


def test_changed_fingerprint_data_is_named(reg: Registry) -> None:
    digest = reg.content_digest()
    with reg.engine.begin() as conn:
        data = conn.execute(text("SELECT data FROM fingerprints")).scalar_one()
        conn.execute(text("UPDATE fingerprints SET data = :d"), {"d": bytes(data)[:-8]})
    result = reg.verify()
    assert (result.table, result.row, result.field) == ("fingerprints", "A/lyrics",
                                                        "data_sha256")
    assert reg.content_digest() != digest


def test_content_digest_is_stable_and_moves_with_changes(reg: Registry) -> None:
    digest = reg.content_digest()
    assert digest.startswith("sha256:") and reg.content_digest() == digest
    reg.revoke("reservation", 1, on=date(2027, 1, 1))
    assert reg.content_digest() != digest
    assert reg.verify().ok


def test_deleted_last_entries_are_caught_by_a_pinned_head(reg: Registry) -> None:
    seq, head = reg.head()
    assert reg.verify(pin=(seq, head)).ok
    assert reg.verify(pin=(None, head)).ok
    # The registry operator drops the last two changes and their entries: the chain is still
    # a valid prefix, but the pinned head is gone.
    _sql(reg, "DELETE FROM audit_log WHERE seq >= :s", s=seq - 1)
    _sql(reg, "UPDATE works SET removed_on = NULL WHERE public_id = 'B'")
    _sql(reg, "DELETE FROM fingerprints")
    assert reg.verify().ok  # without a pin, a consistent prefix cannot be told apart
    result = reg.verify(pin=(seq, head))
    assert not result.ok and result.problem is not None
    assert f"the pinned head is entry {seq}" in result.problem
    assert not reg.verify(pin=(None, head)).ok


def test_recomputed_chain_is_caught_by_a_pinned_head(reg: Registry) -> None:
    seq, head = reg.head()
    # Edit a reservation AND its entry, then recompute every hash after it: the chain
    # verifies and the tables match the rewritten log ...
    _sql(reg, "UPDATE reservations SET uses = '[\"search\"]' WHERE id = 1")
    with reg.engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT id, seq, at, action, payload FROM audit_log ORDER BY id")).all()
        prev = audit.GENESIS
        for row_id, seq_, at, action, payload in rows:
            data = json.loads(payload)
            if action == "reservation.add" and data.get("id") == 1:
                payload = audit.canonical({**data, "uses": ["search"]})
            digest = audit.entry_hash(prev, seq_, at, action, payload)
            conn.execute(text("UPDATE audit_log SET payload = :p, prev_hash = :ph, hash = :h "
                              "WHERE id = :i"), {"p": payload, "ph": prev, "h": digest,
                                                 "i": row_id})
            prev = digest
    assert reg.verify().ok
    # ... but not against the head published before.
    result = reg.verify(pin=(seq, head))
    assert not result.ok and result.problem is not None
    assert "rewritten (recomputed)" in result.problem


def test_parse_pin() -> None:
    h = "ab" * 32
    assert audit.parse_pin(f"12:{h}") == (12, h)
    assert audit.parse_pin(h.upper()) == (None, h)
    for bad in ("12:abc", "x:" + h, "0:" + h, ""):
        with pytest.raises(ValueError):
            audit.parse_pin(bad)


def test_payloads_carry_the_full_new_value(reg: Registry) -> None:
    by_action = {e["action"]: e["payload"] for e in reg.audit_entries()}
    assert by_action["holder.add"]["contact"] == "rights@h.example"
    assert by_action["licence.revoke"] | {"by": None} == {
        "entry": 1, "revoked_on": "2026-06-01", "note": "ended", "revocation": 1,
        "type": "licence", "by": None}
    assert by_action["work.remove"]["state"]["removed_on"] == "2026-01-01"
    assert len(by_action["fingerprint.add"]["data_sha256"]) == 64
    assert by_action["reservation.add"]["purposes"] == ["commercial"]


def test_mirrored_rows_are_scoped_out_local_ones_still_bound(
        tmp_path: Path, db_url: str) -> None:
    """A mirror's rows come from a signed snapshot under one ``snapshot.apply`` entry: verify
    passes after a pull (they are not compared with the local log), local rows stay bound,
    and the mirrored rows are in the content digest."""
    source = Registry.open(f"sqlite:///{tmp_path / 'source.db'}")
    source.add_holder("Src")
    source.add_work("Src", NewWork(title="s", external_id="S1"))
    source.reserve("Src", uses=[Use.AI_TRAIN], effective_from=date(2025, 1, 1))
    key = generate_signing_key()
    export_snapshot(source, tmp_path / "snap", key, holder="Src")
    mirror = Registry.open(db_url)
    mirror.add_holder("Local")
    mirror.reserve("Local", uses=[Use.TDM], effective_from=date(2025, 1, 1))
    before = mirror.content_digest()
    pull_snapshot(mirror, tmp_path / "index", FolderReader(tmp_path / "snap"), key.public,
                  name="src", namespace="src")
    result = mirror.verify()
    assert result.ok, result.problem
    assert mirror.content_digest() != before
    _sql(mirror, "UPDATE reservations SET uses = '[\"search\"]' WHERE id = 1")
    assert mirror.verify().where == "reservations row 1"
