"""The audit chain detects an edited, deleted or reordered entry and names the first one."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from tdmguard.registry.store import NewWork, Registry
from tdmguard.vocab import Use


@pytest.fixture
def reg(db_url: str) -> Registry:
    reg = Registry.open(db_url)
    reg.add_holder("H")  # 1
    reg.add_work("H", NewWork(title="a", external_id="A"))  # 2
    reg.add_work("H", NewWork(title="b", external_id="B"))  # 3
    reg.reserve("H", uses=[Use.TDM], effective_from=date(2025, 1, 1))  # 4
    reg.add_work("H", NewWork(title="c", external_id="C"))  # 5
    return reg


def _sql(reg: Registry, statement: str) -> None:
    with reg.engine.begin() as conn:
        conn.execute(text(statement))


def test_intact_chain(reg: Registry) -> None:
    result = reg.verify()
    assert result.ok and result.entries == 5
    head = reg.state_digest()
    reg.add_holder("other")
    assert reg.state_digest() != head


def test_edited_entry(reg: Registry) -> None:
    _sql(reg, "UPDATE audit_log SET payload = replace(payload, '\"b\"', '\"x\"') WHERE seq = 3")
    result = reg.verify()
    assert not result.ok and result.first_broken_seq == 3 and "edited" in (result.problem or "")


def test_deleted_entry(reg: Registry) -> None:
    _sql(reg, "DELETE FROM audit_log WHERE seq = 2")
    result = reg.verify()
    assert not result.ok and result.first_broken_seq == 3


def test_reordered_entries(reg: Registry) -> None:
    # Swap the contents of rows 2 and 4 (same ids, so storage order now disagrees).
    _sql(reg, "UPDATE audit_log SET seq = -1 WHERE seq = 2")
    _sql(reg, "UPDATE audit_log SET seq = 2 WHERE seq = 4")
    _sql(reg, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    result = reg.verify()
    assert not result.ok and result.first_broken_seq == 4


def test_rehashed_edit_still_breaks_the_next_link(reg: Registry) -> None:
    from tdmguard.registry.audit import entry_hash

    with reg.engine.begin() as conn:
        row = conn.execute(text("SELECT seq, at, action, payload, prev_hash FROM audit_log "
                                "WHERE seq = 2")).one()
        payload = row.payload.replace('"a"', '"forged"')
        new_hash = entry_hash(row.prev_hash, row.seq, row.at, row.action, payload)
        conn.execute(text("UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 2"),
                     {"p": payload, "h": new_hash})
    result = reg.verify()
    assert not result.ok and result.first_broken_seq == 3
