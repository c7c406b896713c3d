"""Export a registry's public state as a signed snapshot folder (or a delta since an audit
sequence number).

Tables are JSON Lines (one object a line, keys sorted: dependency-free and diffable); the
fingerprint index is written as fresh segments built from the registry's fingerprint rows
(what ``tdmguard index build`` would build), so a snapshot is a function of the registry
state alone. Never raw media: the registry holds none.

Which rows a delta carries is read from the audit log: every row is created or changed in
the same transaction as its audit entry (``holder.add``, ``work.add``/``work.update``/
``work.remove``, ``reservation.add``, ``licence.grant``, ``reservation.revoke``/
``licence.revoke``, ``fingerprint.add``), so the entry's sequence number dates the row.
Holders, reservations, licences and revocations are only ever added. A work can change
(``work update``: metadata, a newer fingerprint superseding the old one) or be removed
(``work remove``: dated ``removed_on``, it leaves the index); a delta then carries the
work's whole current row again, and its current fingerprints (none once removed): a mirror
replaces that work's row and its index entries with what the delta carries.

Fingerprint blobs are read straight from their ``.npz`` bytes (:func:`_decode`), not through
``numpy.load``: 10x less time per fingerprint, which is most of a large export.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import uuid
import zipfile
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tdmguard import __version__
from tdmguard.errors import InputError, IntegrityError, NotFoundError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import get_engine
from tdmguard.index import BinaryHashIndex, BinarySegmentWriter, HashIndex, SegmentWriter
from tdmguard.index.locking import lock_path
from tdmguard.registry import audit
from tdmguard.registry.snapshot.manifest import (
    MANIFEST,
    SIGNATURE,
    SnapshotManifest,
    file_entries,
    sign_manifest,
    vocabulary_version,
)
from tdmguard.registry.store import Registry
from tdmguard.registry.tables import (
    AuditEntry,
    FingerprintRow,
    Holder,
    LicenceRow,
    RegistryMeta,
    ReservationRow,
    Revocation,
    Work,
)
from tdmguard.signing import SigningKey
from tdmguard.vocab import Modality

__all__ = ["TABLES", "ExportResult", "export_snapshot", "registry_id", "snapshot_id_for"]

TABLES = ("holders", "works", "reservations", "licences", "revocations", "audit")
SEGMENT_WORKS = 2000  # works per index segment (as `index build`)


@dataclass(frozen=True, slots=True)
class ExportResult:
    folder: Path
    manifest: SnapshotManifest

    def to_json(self) -> dict[str, object]:
        m = self.manifest
        return {
            "snapshot": m.snapshot_id,
            "seq": m.seq_to,
            "head": m.head,
            "files": len(m.files),
            "kind": m.kind,
            "since": m.seq_from,
            "registry": m.registry_id,
            "scope": m.scope or None,
            "folder": str(self.folder),
            "counts": dict(m.counts),
        }


def registry_id(registry: Registry) -> str:
    """The registry's stable id, created (random) on first use and kept in ``registry_meta``."""
    with Session(registry.engine) as s, s.begin():
        row = s.get(RegistryMeta, "registry_id")
        if row is None:
            row = RegistryMeta(key="registry_id", value=uuid.uuid4().hex)
            s.add(row)
        return row.value


def snapshot_id_for(registry: str, scope: str, kind: str, seq_from: int, seq_to: int,
                    head: str) -> str:
    body = json.dumps([registry, scope, kind, seq_from, seq_to, head]).encode()
    return f"{kind}-{seq_to:09d}-{hashlib.sha256(body).hexdigest()[:16]}"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _jsonl(fh: IO[str], row: Mapping[str, Any]) -> None:
    fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    fh.write("\n")


class _Dating:
    """Sequence number of the audit entry that created each row."""

    def __init__(self, entries: list[AuditEntry]) -> None:
        self.holder: dict[int, int] = {}
        self.work: dict[str, int] = {}
        self.reservation: dict[int, int] = {}
        self.licence: dict[int, int] = {}
        # revocations and fingerprints carry no row id in their entry: matched by content, in order
        self.revocations: dict[tuple[str, int, str, str | None], deque[int]] = defaultdict(deque)
        # last entry that added, changed or removed a work or one of its fingerprints
        self.work_changed: dict[str, int] = {}
        for e in entries:
            p = json.loads(e.payload)
            if not isinstance(p, dict):
                continue
            if e.action == "holder.add" and "holder" in p:
                self.holder[int(p["holder"])] = e.seq
            elif e.action == "work.add" and "id" in p:
                self.work[str(p["id"])] = e.seq
                self.work_changed[str(p["id"])] = e.seq
            elif e.action in ("work.update", "work.remove") and "work" in p:
                self.work_changed[str(p["work"])] = e.seq
            elif e.action == "reservation.add" and "id" in p:
                self.reservation[int(p["id"])] = e.seq
            elif e.action == "licence.grant" and "id" in p:
                self.licence[int(p["id"])] = e.seq
            elif e.action in ("reservation.revoke", "licence.revoke") and "entry" in p:
                key = (e.action.split(".")[0], int(p["entry"]), str(p.get("revoked_on")),
                       p.get("note"))
                self.revocations[key].append(e.seq)
            elif e.action == "fingerprint.add" and "work" in p:
                self.work_changed[str(p["work"])] = e.seq

    def revocation(self, entry_type: str, entry_id: int, on: date, note: str | None) -> int | None:
        queue = self.revocations.get((entry_type, entry_id, on.isoformat(), note))
        return queue.popleft() if queue else None



def _require_seq(seq: int | None, what: str) -> int:
    if seq is None:
        raise IntegrityError(
            f"{what} has no audit entry: a delta cannot date it (export a full snapshot)",
            where="audit log",
        )
    return seq


def export_snapshot(
    registry: Registry,
    out: Path,
    key: SigningKey,
    *,
    since: int | None = None,
    holder: str | None = None,
    created_at: datetime | None = None,
) -> ExportResult:
    """Write a signed snapshot of ``registry`` (a delta when ``since`` is given; one holder's
    part when ``holder`` is given) into ``out`` (a new or empty folder), atomically."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("snapshot folder exists and is not empty", where=str(out))
    rid = registry_id(registry)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        manifest = _write(registry, rid, tmp, key, since, holder, created_at)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out.resolve(), manifest)


def _write(
    registry: Registry,
    rid: str,
    root: Path,
    key: SigningKey,
    since: int | None,
    holder_ref: str | None,
    created_at: datetime | None,
) -> SnapshotManifest:
    counts: dict[str, int] = {}
    with Session(registry.engine) as s:
        entries = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        check = audit.verify_chain(entries)
        if not check.ok:
            raise IntegrityError(
                f"audit log does not verify ({check.problem}): refusing to export",
                where=f"audit entry {check.first_broken_seq}",
            )
        if not entries:
            raise InputError("the registry is empty: nothing to export", where="registry")
        head_seq, head = entries[-1].seq, entries[-1].hash
        base = since or 0
        if since is not None and not 0 <= since < head_seq:
            raise InputError(
                f"--since must be in 0..{head_seq - 1} (the registry's head is entry {head_seq})",
                where="--since",
            )
        base_head = audit.GENESIS if base == 0 else entries[base - 1].hash
        dating = _Dating(entries)

        holders = {h.id: h for h in s.execute(select(Holder).order_by(Holder.id)).scalars()}
        scope = ""
        if holder_ref is not None:
            match = [h for h in holders.values() if h.name == holder_ref.strip()]
            if not match and holder_ref.strip().isdigit():
                match = [h for h in holders.values() if h.id == int(holder_ref)]
            if not match:
                raise NotFoundError(f"no holder named or numbered {holder_ref!r}",
                                    where="--holder")
            scope = match[0].name
            holders = {match[0].id: match[0]}

        def new(seq: int | None, what: str) -> bool:
            return since is None or _require_seq(seq, what) > since

        tables = root / "tables"
        tables.mkdir()
        paths: list[str] = []

        def table(name: str, rows: Iterable[Mapping[str, Any]]) -> None:
            n = 0
            with (tables / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
                for row in rows:
                    _jsonl(fh, row)
                    n += 1
            counts[name] = n
            paths.append(f"tables/{name}.jsonl")

        table("holders", (
            {"id": h.id, "name": h.name, "contact": h.contact, "created_at": _iso(h.created_at),
             "seq": dating.holder.get(h.id)}
            for h in holders.values() if new(dating.holder.get(h.id), f"holder {h.id}")
        ))

        work_rows = [w for w in s.execute(select(Work).order_by(Work.id)).scalars()
                     if w.holder_id in holders]
        # A delta carries every work added, changed or removed since SEQ, as a whole row
        # (and, in the index, its current fingerprints): a mirror replaces what it held.
        sent = {w.id: w for w in work_rows
                if new(dating.work_changed.get(w.public_id), f"work {w.public_id}")}
        modalities: dict[int, set[str]] = defaultdict(set)
        for wid, modality in s.execute(select(FingerprintRow.work_id, FingerprintRow.modality)
                                       .where(FingerprintRow.superseded_at.is_(None))):
            if wid in sent:
                modalities[wid].add(modality)
        table("works", (
            {"id": w.public_id, "holder": w.holder_id, "kind": w.kind, "title": w.title,
             "artists": json.loads(w.artists or "[]"), "isrc": w.isrc, "iswc": w.iswc,
             "upc": w.upc, "iscc": w.iscc, "extra": json.loads(w.extra or "{}"),
             "removed_on": _iso(w.removed_on), "created_at": _iso(w.created_at),
             "fingerprints": sorted(modalities.get(w.id, ())),
             "seq": dating.work.get(w.public_id),
             "changed": dating.work_changed.get(w.public_id)}
            for w in sent.values()
        ))

        res_rows = [r for r in s.execute(select(ReservationRow).order_by(ReservationRow.id))
                    .scalars() if r.holder_id in holders]
        table("reservations", (
            {"id": r.id, "holder": r.holder_id, "works": json.loads(r.work_ids or "[]"),
             "uses": json.loads(r.uses), "purposes": json.loads(r.purposes or "[]"),
             "from": _iso(r.effective_from), "until": _iso(r.effective_until),
             "exempt": bool(r.exempt), "declared_at": r.declared_at,
             "created_at": _iso(r.created_at), "seq": dating.reservation.get(r.id)}
            for r in res_rows if new(dating.reservation.get(r.id), f"reservation {r.id}")
        ))
        lic_rows = [lic for lic in s.execute(select(LicenceRow).order_by(LicenceRow.id))
                    .scalars() if lic.holder_id in holders]
        table("licences", (
            {"id": lic.id, "holder": lic.holder_id, "licensee": lic.licensee,
             "works": json.loads(lic.work_ids or "[]"), "uses": json.loads(lic.uses),
             "purposes": json.loads(lic.purposes or "[]"), "from": _iso(lic.valid_from),
             "until": _iso(lic.valid_until), "created_at": _iso(lic.created_at),
             "seq": dating.licence.get(lic.id)}
            for lic in lic_rows if new(dating.licence.get(lic.id), f"licence {lic.id}")
        ))
        in_scope = {"reservation": {r.id for r in res_rows}, "licence": {x.id for x in lic_rows}}
        revs = []
        for rev in s.execute(select(Revocation).order_by(Revocation.id)).scalars():
            seq = dating.revocation(rev.entry_type, rev.entry_id, rev.revoked_on, rev.note)
            if rev.entry_id not in in_scope.get(rev.entry_type, set()):
                continue
            if new(seq, f"revocation {rev.id}"):
                revs.append(
                    {"id": rev.id, "entry_type": rev.entry_type, "entry_id": rev.entry_id,
                     "revoked_on": _iso(rev.revoked_on), "note": rev.note,
                     "created_at": _iso(rev.created_at), "seq": seq})
        table("revocations", revs)

        # Every dated entry of the range (for one holder: the entries about its rows).
        holder_names = {h.name for h in holders.values()}
        public_ids = {w.public_id for w in work_rows}

        def about_scope(e: AuditEntry) -> bool:
            if not scope:
                return True
            p = json.loads(e.payload)
            if not isinstance(p, dict):
                return False
            if e.action == "holder.add":
                return p.get("holder") in holders
            if e.action in ("fingerprint.add", "work.update", "work.remove"):
                return p.get("work") in public_ids
            if e.action.endswith(".revoke"):
                return int(p.get("entry", -1)) in in_scope.get(e.action.split(".")[0], set())
            return p.get("holder") in holder_names

        table("audit", (
            {"seq": e.seq, "at": e.at, "action": e.action, "payload": e.payload,
             "prev_hash": e.prev_hash, "hash": e.hash}
            for e in entries if e.seq > base and about_scope(e)
        ))

        engines = _write_index(s, root, sent, counts, paths, every=since is None)

    created = (created_at or datetime.now(UTC)).isoformat(timespec="seconds")
    kind = "full" if since is None else "delta"
    manifest = SnapshotManifest(
        snapshot_id=snapshot_id_for(rid, scope, kind, base, head_seq, head),
        kind=kind,
        registry_id=rid,
        scope=scope,
        seq_from=base,
        seq_to=head_seq,
        base_head=base_head,
        head=head,
        created_at=created,
        tdmguard_version=__version__,
        vocabulary=vocabulary_version(),
        engines=engines,
        files=file_entries(root, paths),
        counts=counts,
    )
    body, sig = sign_manifest(manifest, key)
    (root / MANIFEST).write_bytes(body)
    (root / SIGNATURE).write_bytes(sig)
    for path in root.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(root, 0o755)
    return manifest


def _npy(data: bytes, where: str) -> np.ndarray[Any, Any]:
    """One ``.npy`` member of an ``.npz`` (format 1.0 or 2.0, C order, no pickles)."""
    if data[:6] != b"\x93NUMPY":
        raise InputError("not a numpy array", where=where)
    if data[6] == 1:
        start, length = 10, int.from_bytes(data[8:10], "little")
    else:
        start, length = 12, int.from_bytes(data[8:12], "little")
    header = _NPY_HEADER.match(data[start:start + length].decode("latin1"))
    if header is None:
        raise InputError("unexpected numpy array header", where=where)
    descr, shape_text = header.group(1), header.group(2)
    shape = tuple(int(x) for x in shape_text.replace(" ", "").split(",") if x)
    return np.frombuffer(data, dtype=np.dtype(descr), offset=start + length).reshape(shape)


_NPY_HEADER = re.compile(
    r"^\{'descr': '([<>|][a-z][0-9]+)', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \}")


def _members(blob: bytes) -> dict[str, bytes]:
    """The members of a zip written by ``numpy.savez_compressed`` to a seekable buffer
    (local headers carry the sizes, zip64 extras included), read by walking the local
    headers; :class:`zipfile.ZipFile` costs twice the decompression itself for the small
    fingerprints of a catalogue. Anything else raises ValueError (the caller falls back)."""
    out: dict[str, bytes] = {}
    pos = 0
    while blob[pos:pos + 4] == b"PK\x03\x04":
        flags, method, _, _, crc, csize, usize, nlen, xlen = struct.unpack_from(
            "<HHHHIIIHH", blob, pos + 6)
        name = blob[pos + 30:pos + 30 + nlen].decode("utf-8")
        extra = blob[pos + 30 + nlen:pos + 30 + nlen + xlen]
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
            at = 0
            while at + 4 <= len(extra):
                tag, size = struct.unpack_from("<HH", extra, at)
                if tag == 1:
                    usize, csize = struct.unpack_from("<QQ", extra, at + 4)
                    break
                at += 4 + size
            else:
                raise ValueError("zip64 sizes missing")
        if flags & 0x08 or method not in (0, 8):
            raise ValueError("unexpected zip member")
        start = pos + 30 + nlen + xlen
        raw = blob[start:start + csize]
        data = zlib.decompress(raw, -15) if method == 8 else bytes(raw)
        if len(data) != usize or zlib.crc32(data) != crc:
            raise ValueError("zip member does not check")
        out[name] = data
        pos = start + csize
    return out


def _decode(blob: bytes, where: str) -> Fingerprint:
    """:meth:`Fingerprint.from_bytes` without ``numpy.load`` and :mod:`zipfile` (a test
    pins them equal); any unexpected shape of the blob falls back to it."""
    try:
        members = _members(blob)
        keys = _npy(members["keys.npy"], where)
        aux = _npy(members["aux.npy"], where)
        header = json.loads(_npy(members["header.npy"], where).tobytes().decode())
        if keys.dtype != np.uint64 or aux.dtype != np.int32 or aux.ndim != 2:
            raise ValueError("dtypes")
        return Fingerprint(Modality(header["modality"]), str(header["engine"]), keys, aux,
                           MappingProxyType(dict(header.get("meta", {}))))
    except (InputError, ValueError, KeyError, TypeError, IndexError, struct.error,
            zlib.error):
        pass
    try:
        return Fingerprint.from_bytes(blob, where=where)
    except zipfile.BadZipFile as exc:  # a damaged blob: named, not a traceback
        raise InputError(f"unreadable fingerprint blob ({exc})", where=where) from exc


def _fingerprints(s: Session, sent: Mapping[int, Work], modality: str, *, every: bool
                  ) -> Iterator[tuple[str, Fingerprint]]:
    """The current (not superseded) fingerprints of the works sent that are not removed
    (``every``: all works are sent, one pass over the table; else only the sent works'
    rows are read, so a small delta does not read every blob of a large registry)."""
    query = (
        select(FingerprintRow.id, FingerprintRow.work_id, FingerprintRow.data)
        .where(FingerprintRow.modality == modality, FingerprintRow.superseded_at.is_(None))
        .order_by(FingerprintRow.id)
    )
    live = sorted(pk for pk, w in sent.items() if w.removed_on is None)
    parts = [query] if every else [query.where(FingerprintRow.work_id.in_(live[i:i + 500]))
                                   for i in range(0, len(live), 500)]
    for part in parts:
        for fid, wid, data in s.execute(part).yield_per(1000):
            work = sent.get(wid)
            if work is None or work.removed_on is not None:
                continue
            yield work.public_id, _decode(data, f"fingerprint {fid}")


class _SegmentsOut:
    """Index segments of one modality, at most SEGMENT_WORKS works each."""

    def __init__(self, folder: Path, modality: Modality) -> None:
        self.folder = folder
        self.engine = get_engine(modality)
        image = modality is Modality.IMAGE
        self.index_cls: Any = BinaryHashIndex if image else HashIndex
        self.writer_cls: Any = BinarySegmentWriter if image else SegmentWriter
        self.writer = self.writer_cls(self.engine.aux_width)
        self.added = 0

    def add(self, work_id: str, fp: Fingerprint) -> None:
        self.writer.add(work_id, fp.keys, fp.aux, dict(fp.meta))
        self.added += 1
        if len(self.writer) >= SEGMENT_WORKS:
            self.flush()

    def flush(self) -> None:
        if not len(self.writer):
            return
        if not (self.folder / "manifest.json").exists():
            self.index_cls.create(self.folder, engine=self.engine.engine,
                                  aux_width=self.engine.aux_width)
        self.index_cls.append_segment(self.folder, self.writer)
        self.writer = self.writer_cls(self.engine.aux_width)


def _write_index(
    s: Session,
    root: Path,
    sent: Mapping[int, Work],
    counts: dict[str, int],
    paths: list[str],
    *,
    every: bool,
) -> dict[str, str]:
    """Index segments per modality (at most SEGMENT_WORKS works each); fingerprints of an
    older engine version are left out (counted as ``stale_<modality>``)."""
    engines: dict[str, str] = {}
    present = {m for (m,) in s.execute(select(FingerprintRow.modality).distinct())}
    for modality in Modality:
        if modality.value not in present:
            continue
        out = _SegmentsOut(root / "index" / modality.value, modality)
        stale = 0
        for work_id, fp in _fingerprints(s, sent, modality.value, every=every):
            if fp.engine != out.engine.engine:
                stale += 1
                continue
            out.add(work_id, fp)
        out.flush()
        # The index writer's lock file beside the folder is no part of a snapshot.
        lock_path(out.folder).unlink(missing_ok=True)
        if out.added:
            engines[modality.value] = out.engine.engine
            counts[f"fingerprints_{modality.value}"] = out.added
            paths.extend(str(p.relative_to(root)) for p in sorted(out.folder.rglob("*"))
                         if p.is_file())
        if stale:
            counts[f"stale_{modality.value}"] = stale
    return engines
