"""The audit log binds the state: replaying it gives what every decision-relevant table must
hold, and a content digest over those tables says which registry a decision used.

Each audit entry carries the full new value of the row it creates or changes (``holder.add``,
``work.add``/``work.update``/``work.remove`` with the work's ``state``, ``reservation.add``,
``licence.grant``, ``*.revoke``, ``fingerprint.add`` with the data's SHA-256, ``apikey.*``).
:func:`expected_state` replays the log into rows; :func:`actual_state` reads the tables into
rows of the same shape; :func:`compare` names the first row that differs.

Rows mirrored from another registry's signed snapshot (listed in ``snapshot_entries``) are
bulk-inserted under one ``snapshot.apply`` entry: they are checked against that source's
signed snapshot, not against this log, and are left out of the comparison here (they are in
the content digest). :func:`mirrored_rows` gives them in one canonical shape: a pull records
each row's digest (:func:`row_digest`) beside it, and ``registry verify`` recomputes them
(``registry/snapshot/verify.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tdmguard.registry.tables import (
    ApiKey,
    AuditEntry,
    FingerprintRow,
    Holder,
    LicenceRow,
    ReservationRow,
    Revocation,
    SnapshotEntry,
    Work,
)

__all__ = [
    "DIGEST_TABLES",
    "Difference",
    "State",
    "actual_state",
    "compare",
    "content_digest",
    "expected_state",
    "mirrored_keys",
    "mirrored_rows",
    "row_digest",
]

#: Table name -> (row key -> canonical row). Revocations are keyed by their position
#: ("#1", "#2", ...) in log order / row-id order, since older logs carry no revocation id.
State = dict[str, dict[str, dict[str, Any]]]

#: The tables decisions depend on (the content digest covers these; api_keys is checked by
#: verify but is no input to a decision).
DIGEST_TABLES = ("holders", "works", "reservations", "licences", "revocations", "fingerprints")
TABLES = (*DIGEST_TABLES, "api_keys")

_WORK_FIELDS = ("holder", "kind", "title", "artists", "isrc", "iswc", "upc", "iscc", "extra",
                "removed_on")
_RES_FIELDS = ("holder", "uses", "purposes", "works", "from", "until", "exempt", "declared_at")
_LIC_FIELDS = ("holder", "licensee", "uses", "purposes", "works", "from", "until")


@dataclass(frozen=True, slots=True)
class Difference:
    """One row where the tables and the replayed log disagree."""

    table: str
    row: str
    field: str | None  # None: the whole row is missing or unexplained
    log: Any = None
    found: Any = None

    @property
    def message(self) -> str:
        where = f"{self.table} row {self.row}"
        if self.field is None and self.found is None:
            return f"{where} is missing (deleted outside tdmguard; the audit log created it)"
        if self.field is None:
            return f"{where} has no audit entry (inserted outside tdmguard)"
        return (f"{where} was changed outside tdmguard ({self.field}: log says "
                f"{_show(self.log)}, table has {_show(self.found)})")

    def to_json(self) -> dict[str, object]:
        return {"table": self.table, "row": self.row, "field": self.field,
                "log": self.log, "table_value": self.found, "message": self.message}


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _iso(value: date | datetime | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def _json(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text is not None else default
    except ValueError:
        return text  # shown as found: an unparseable value differs from the log's


def _pick(p: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {f: p.get(f) for f in fields}


# -- the log, replayed --------------------------------------------------------------------
def expected_state(entries: Iterable[AuditEntry]) -> State:
    """The rows the log says the tables hold (local rows only: mirrored ones are not here)."""
    st: State = {t: {} for t in TABLES}
    revocations = 0
    for e in entries:
        try:
            p = json.loads(e.payload)
        except ValueError:
            continue  # the chain check reports an edited entry before this runs
        if not isinstance(p, dict):
            continue
        a = e.action
        if a == "holder.add":
            st["holders"][str(p.get("holder"))] = _pick(p, ("name", "contact"))
        elif a == "work.add":
            st["works"][str(p.get("id"))] = _pick(p, _WORK_FIELDS)
        elif a in ("work.update", "work.remove") and isinstance(p.get("state"), dict):
            st["works"][str(p.get("work"))] = _pick(p["state"], _WORK_FIELDS)
        elif a == "work.remove":  # older entries: only the date
            row = st["works"].get(str(p.get("work")))
            if row is not None:
                row["removed_on"] = p.get("removed_on")
        elif a == "reservation.add":
            st["reservations"][str(p.get("id"))] = _pick(p, _RES_FIELDS)
        elif a == "licence.grant":
            st["licences"][str(p.get("id"))] = _pick(p, _LIC_FIELDS)
        elif a in ("reservation.revoke", "licence.revoke"):
            revocations += 1
            st["revocations"][f"#{revocations}"] = {
                "type": a.split(".")[0], "entry": p.get("entry"),
                "revoked_on": p.get("revoked_on"), "note": p.get("note")}
        elif a == "fingerprint.add":
            # A newer fingerprint of a work's modality supersedes the older one.
            st["fingerprints"][f"{p.get('work')}/{p.get('modality')}"] = _pick(
                p, ("engine", "hashes", "source_sha256", "data_sha256"))
        elif a == "apikey.create":
            st["api_keys"][str(p.get("key"))] = {**_pick(p, ("name", "scope", "holder")),
                                                "revoked": False}
        elif a == "apikey.revoke":
            key = st["api_keys"].get(str(p.get("key")))
            if key is not None:
                key["revoked"] = True
    return st


# -- the tables, read -----------------------------------------------------------------------
def _mirrored(s: Session) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for kind, local in s.execute(select(SnapshotEntry.kind, SnapshotEntry.local_id)):
        out.setdefault(kind, set()).add(local)
    return out


def mirrored_keys(s: Session) -> dict[str, set[str]]:
    """Keys (as :func:`actual_state` names rows) of the rows mirrored from snapshots, per
    table: entries about them in this log (a local update of a mirrored work, a fingerprint
    added to one) are not compared either."""
    skip = _mirrored(s)
    works = {str(pid) for (pid,) in s.execute(
        select(Work.public_id).where(Work.id.in_(skip.get("work", set()))))} if skip else set()
    return {"holders": {str(i) for i in skip.get("holder", set())}, "works": works,
            "reservations": {str(i) for i in skip.get("reservation", set())},
            "licences": {str(i) for i in skip.get("licence", set())}}


def actual_state(s: Session, *, local_only: bool) -> State:
    """The decision-relevant tables as rows of :func:`expected_state`'s shape; with
    ``local_only``, rows mirrored from snapshots are left out."""
    skip = _mirrored(s) if local_only else {}
    st: State = {t: {} for t in TABLES}
    names: dict[int, str] = {}
    for h in s.execute(select(Holder).order_by(Holder.id)).scalars():
        names[h.id] = h.name
        if h.id not in skip.get("holder", set()):
            st["holders"][str(h.id)] = {"name": h.name, "contact": h.contact}
    public: dict[int, str] = {}
    for w in s.execute(select(Work).order_by(Work.id)).scalars():
        public[w.id] = w.public_id
        if w.id in skip.get("work", set()):
            continue
        st["works"][w.public_id] = {
            "holder": names.get(w.holder_id), "kind": w.kind, "title": w.title,
            "artists": _json(w.artists, []), "isrc": w.isrc, "iswc": w.iswc, "upc": w.upc,
            "iscc": w.iscc, "extra": _json(w.extra, {}), "removed_on": _iso(w.removed_on)}
    for r in s.execute(select(ReservationRow).order_by(ReservationRow.id)).scalars():
        if r.id not in skip.get("reservation", set()):
            st["reservations"][str(r.id)] = {
                "holder": names.get(r.holder_id), "uses": _json(r.uses, []),
                "purposes": _json(r.purposes, []), "works": _json(r.work_ids, []),
                "from": _iso(r.effective_from), "until": _iso(r.effective_until),
                "exempt": bool(r.exempt), "declared_at": r.declared_at}
    for lic in s.execute(select(LicenceRow).order_by(LicenceRow.id)).scalars():
        if lic.id not in skip.get("licence", set()):
            st["licences"][str(lic.id)] = {
                "holder": names.get(lic.holder_id), "licensee": lic.licensee,
                "uses": _json(lic.uses, []), "purposes": _json(lic.purposes, []),
                "works": _json(lic.work_ids, []), "from": _iso(lic.valid_from),
                "until": _iso(lic.valid_until)}
    n = 0
    for rev in s.execute(select(Revocation).order_by(Revocation.id)).scalars():
        if rev.id in skip.get("revocation", set()):
            continue
        n += 1
        key = f"#{n}" if local_only else str(rev.id)
        st["revocations"][key] = {"type": rev.entry_type, "entry": rev.entry_id,
                                  "revoked_on": _iso(rev.revoked_on), "note": rev.note,
                                  "_id": rev.id}
    current = (select(FingerprintRow.id, FingerprintRow.work_id, FingerprintRow.modality,
                      FingerprintRow.engine, FingerprintRow.n_hashes,
                      FingerprintRow.source_sha256, FingerprintRow.data)
               .where(FingerprintRow.superseded_at.is_(None)).order_by(FingerprintRow.id))
    for fid, work_id, modality, engine, n_hashes, source_sha, data in s.execute(
            current).yield_per(256):
        if work_id in skip.get("work", set()):
            continue
        key = f"{public.get(work_id, work_id)}/{modality}"
        if key in st["fingerprints"]:  # two current fingerprints of one modality
            key = f"{key}#{fid}"
        st["fingerprints"][key] = {"engine": engine, "hashes": n_hashes,
                                   "source_sha256": source_sha,
                                   "data_sha256": hashlib.sha256(data).hexdigest()}
    for k, holder_id in s.execute(select(ApiKey, ApiKey.holder_id).order_by(ApiKey.id)):
        st["api_keys"][k.id] = {"name": k.name, "scope": k.scope,
                                "holder": names.get(holder_id) if holder_id else None,
                                "revoked": k.revoked_at is not None}
    return st


def mirrored_rows(s: Session, wanted: Mapping[str, set[int]] | None = None
                  ) -> dict[tuple[str, int], dict[str, Any]]:
    """(kind, local id) -> the row's decision-relevant values, for the rows of ``wanted``
    (kind -> local ids; every mirrored row when None). Kinds: holder, work, reservation,
    licence, revocation (as ``snapshot_entries`` names them)."""
    if wanted is None:
        wanted = _mirrored(s)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    names = dict(s.execute(select(Holder.id, Holder.name)).all())
    for hid, name, contact in s.execute(select(Holder.id, Holder.name, Holder.contact)):
        if hid in wanted.get("holder", ()):
            out[("holder", hid)] = {"name": name, "contact": contact}
    w = Work.__table__.c
    for row in s.execute(select(w.id, w.public_id, w.holder_id, w.kind, w.title, w.artists,
                                w.isrc, w.iswc, w.upc, w.iscc, w.extra, w.removed_on)):
        if row.id in wanted.get("work", ()):
            out[("work", row.id)] = {
                "id": row.public_id, "holder": names.get(row.holder_id), "kind": row.kind,
                "title": row.title, "artists": _json(row.artists, []), "isrc": row.isrc,
                "iswc": row.iswc, "upc": row.upc, "iscc": row.iscc,
                "extra": _json(row.extra, {}), "removed_on": _iso(row.removed_on)}
    r = ReservationRow.__table__.c
    for res in s.execute(select(r.id, r.holder_id, r.uses, r.purposes, r.work_ids,
                                r.effective_from, r.effective_until, r.exempt, r.declared_at)):
        if res.id in wanted.get("reservation", ()):
            out[("reservation", res.id)] = {
                "holder": names.get(res.holder_id), "uses": _json(res.uses, []),
                "purposes": _json(res.purposes, []), "works": _json(res.work_ids, []),
                "from": _iso(res.effective_from), "until": _iso(res.effective_until),
                "exempt": bool(res.exempt), "declared_at": res.declared_at}
    lc = LicenceRow.__table__.c
    for lic in s.execute(select(lc.id, lc.holder_id, lc.licensee, lc.uses, lc.purposes,
                                lc.work_ids, lc.valid_from, lc.valid_until)):
        if lic.id in wanted.get("licence", ()):
            out[("licence", lic.id)] = {
                "holder": names.get(lic.holder_id), "licensee": lic.licensee,
                "uses": _json(lic.uses, []), "purposes": _json(lic.purposes, []),
                "works": _json(lic.work_ids, []), "from": _iso(lic.valid_from),
                "until": _iso(lic.valid_until)}
    v = Revocation.__table__.c
    for rev in s.execute(select(v.id, v.entry_type, v.entry_id, v.revoked_on, v.note)):
        if rev.id in wanted.get("revocation", ()):
            out[("revocation", rev.id)] = {"type": rev.entry_type, "entry": rev.entry_id,
                                           "revoked_on": _iso(rev.revoked_on),
                                           "note": rev.note}
    return out


def row_digest(row: Mapping[str, Any]) -> str:
    """SHA-256 of a row of :func:`mirrored_rows` as canonical JSON."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- comparing and digesting --------------------------------------------------------------
def _order(key: str) -> tuple[int, int, str]:
    digits = key.lstrip("#")
    return (0, int(digits), "") if digits.isdigit() else (1, 0, key)


def compare(expected: State, actual: State, *, limit: int = 50,
            skip: Mapping[str, set[str]] | None = None) -> list[Difference]:
    """Rows that differ, table by table in :data:`TABLES` order, rows by key; at most
    ``limit``. Keys in ``skip`` (mirrored rows, :func:`mirrored_keys`) are not compared."""
    skip = skip or {}
    skip_works = skip.get("works", set())
    out: list[Difference] = []
    for table in TABLES:
        exp, act = expected[table], actual[table]
        for key in sorted(exp.keys() | act.keys(), key=_order):
            if len(out) >= limit:
                return out
            if key in skip.get(table, set()) or (
                    table == "fingerprints" and key.rpartition("/")[0] in skip_works):
                continue
            row_name = key
            found = act.get(key)
            if table == "revocations" and found is not None:
                row_name = str(found["_id"])
                found = {k: v for k, v in found.items() if k != "_id"}
            want = exp.get(key)
            if want is None:
                out.append(Difference(table, row_name, None, None, found))
            elif found is None:
                out.append(Difference(table, row_name if table != "revocations" else
                                      f"{key} (revocation of {want['type']} {want['entry']})",
                                      None, want, None))
            else:
                for field in want.keys() | found.keys():
                    if want.get(field) != found.get(field):
                        out.append(Difference(table, row_name, field, want.get(field),
                                              found.get(field)))
                        break
    return out


def content_digest(state: State) -> str:
    """SHA-256 of the decision-relevant tables as canonical JSON (rows sorted by key)."""
    body = {t: [[k, {f: v for f, v in state[t][k].items() if f != "_id"}]
                for k in sorted(state[t], key=_order)]
            for t in DIGEST_TABLES}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
