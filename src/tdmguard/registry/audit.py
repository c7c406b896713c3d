"""The append-only audit log: each entry carries the SHA-256 of the previous one.

``hash = sha256(prev_hash || canonical JSON of {seq, at, action, payload})``. Editing,
deleting or reordering any entry breaks the chain at that entry, and :func:`verify_chain`
names the first broken one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tdmguard.registry.tables import AuditEntry
from tdmguard.registry.values import VerifyResult

__all__ = ["GENESIS", "append", "canonical", "check_pin", "entry_hash", "parse_pin", "verify_chain"]

GENESIS = "0" * 64


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, seq: int, at: str, action: str, payload: str) -> str:
    body = canonical({"seq": seq, "at": at, "action": action, "payload": payload})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(
    session: Session,
    action: str,
    payload: Mapping[str, Any],
    *,
    actor: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction; ``actor`` (who acted: name, holder, key
    id) is recorded in the payload under ``by``.

    The caller's transaction must be a registry write transaction, which holds the
    database's write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock) from its
    start: appends are serialised, so two writers never read the same head. The unique
    constraint on ``seq`` stays as the last line of defence against a forked chain."""
    if actor is not None:
        payload = {**payload, "by": dict(actor)}
    last = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one_or_none()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    body = canonical(payload)
    entry = AuditEntry(
        seq=seq,
        at=at,
        action=action,
        payload=body,
        prev_hash=prev,
        hash=entry_hash(prev, seq, at, action, body),
    )
    session.add(entry)
    session.flush()
    return entry


def verify_chain(entries: Iterable[AuditEntry]) -> VerifyResult:
    """Walk the entries in storage order (by row id) and check sequence and hashes."""
    prev = GENESIS
    count = 0
    for expected_seq, entry in enumerate(entries, start=1):
        count += 1
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                entry.seq,
                f"entry {entry.seq} found where {expected_seq} belongs "
                "(an entry was deleted or the log reordered)",
            )
        if entry.prev_hash != prev:
            return VerifyResult(
                False,
                count,
                entry.seq,
                f"entry {entry.seq} does not point to the hash of entry {expected_seq - 1}",
            )
        recomputed = entry_hash(entry.prev_hash, entry.seq, entry.at, entry.action, entry.payload)
        if recomputed != entry.hash:
            return VerifyResult(
                False,
                count,
                entry.seq,
                f"entry {entry.seq} was edited (its content does not match its hash)",
            )
        prev = entry.hash
    return VerifyResult(True, count)


def parse_pin(text: str) -> tuple[int | None, str]:
    """``SEQ:HASH`` or ``HASH`` (64 hex digits) as (seq or None, hash); ValueError if neither."""
    seq_text, sep, digest = text.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("a pinned head is SEQ:HASH or HASH (64 hex digits)")
    if not sep:
        return None, digest
    if not seq_text.isdigit() or int(seq_text) < 1:
        raise ValueError("a pinned head's SEQ is a positive entry number")
    return int(seq_text), digest


def check_pin(entries: Sequence[AuditEntry], seq: int | None, digest: str) -> str | None:
    """None when the (verified) chain holds the pinned entry; else what is wrong: entries
    deleted after it, or the chain rewritten (recomputed after an edit)."""
    if seq is None:
        if any(e.hash == digest for e in entries):
            return None
        return (f"no entry of the audit log has the pinned hash {digest[:16]}...: the log was "
                "rewritten or cut since it was pinned")
    if seq > len(entries):
        return (f"the audit log ends at entry {len(entries)}, the pinned head is entry {seq}: "
                "entries were deleted since it was pinned")
    found = entries[seq - 1]
    if found.hash != digest:
        return (f"entry {seq} has hash {found.hash[:16]}..., the pinned head says "
                f"{digest[:16]}...: the log was rewritten (recomputed) since it was pinned")
    return None
