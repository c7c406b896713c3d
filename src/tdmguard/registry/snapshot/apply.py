"""Pull a signed snapshot into a mirror: verify everything, then apply it all or nothing.

The mirror is an ordinary registry database plus index folder (``decide``, ``identify`` and
``scan`` use it unchanged). Each source (a registry id plus a scope: the whole registry or
one holder) keeps its pinned key, its sequence and head; the rows and index segments that
came from it are recorded in ``snapshot_entries`` and ``snapshot_segments``.

Order of a pull, so a refusal or a kill leaves the previous mirror as it was:

1. read ``manifest.json`` and ``manifest.sig``; check the signature against the pinned key
   before parsing; refuse a foreign key, a delta for a source not held or not starting where
   the mirror is, and anything not newer than what is held (no rollback, no replay);
2. copy every listed file into a staging folder while hashing it (size and SHA-256 must
   match), parse the tables, recompute the audit hash chain up to the signed head;
3. in one database transaction: write the rows (a delta replaces the works it re-sends),
   record the new index segments; before the commit, write the journal
   (``<index>/.snapshot-journal.json``) and move the new segments into the index folders
   under fresh names that no index manifest lists yet; commit. The commit is the switch:
4. after it, rewrite each modality's ``manifest.json`` atomically, then delete the replaced
   segments and the journal.

A process killed at any point leaves the previous mirror (killed before the commit: the
journal's unlisted segments are deleted) or the complete new one (killed after it: the
index manifests are rolled forward): the next pull, ``registry sources`` or
``registry verify`` finds the journal and finishes. There is no moment at which the index
shows segments the database does not hold; a reader between the commit and the manifests'
rewrite (milliseconds) sees the new tables with the previous index, the order the registry
itself keeps (database first, index second: ``registry/matching.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session

from tdmguard.atomic import write_json_atomic
from tdmguard.errors import (
    ConflictError,
    IndexStoreError,
    InputError,
    IntegrityError,
    NotFoundError,
)
from tdmguard.fingerprint.engines import get_engine
from tdmguard.registry import audit, replay
from tdmguard.registry.snapshot.export import TABLES
from tdmguard.registry.snapshot.fetch import FolderReader, SnapshotReader
from tdmguard.registry.snapshot.manifest import (
    MANIFEST,
    SIGNATURE,
    SnapshotManifest,
    verify_manifest,
)
from tdmguard.registry.snapshot.verify import SEGMENT_FILES, segment_digest, source_digest
from tdmguard.registry.store import Registry
from tdmguard.registry.tables import (
    Holder,
    LicenceRow,
    ReservationRow,
    Revocation,
    SnapshotEntry,
    SnapshotSegment,
    SnapshotSource,
    Work,
)
from tdmguard.signing import PublicKey
from tdmguard.vocab import Modality, Purpose, Use, WorkKind

__all__ = ["JOURNAL", "PullResult", "drop_source", "pull_snapshot", "recover"]

JOURNAL = ".snapshot-journal.json"
# Segment names as the index writes them: seg-<number>[-<random hex>] (index/hash_index.py).
_SEG = re.compile(r"^seg-(\d{6,})(?:-[0-9a-f]{8})?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PullResult:
    source: str
    snapshot_id: str
    kind: str
    seq_from: int
    seq_to: int
    head: str
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "snapshot": self.snapshot_id,
            "kind": self.kind,
            "seq_from": self.seq_from,
            "seq": self.seq_to,
            "head": self.head,
            "counts": dict(self.counts),
        }


# json.dumps(value, ensure_ascii=False) for a str, without the encoder object around it
_encode_string: Any = json.encoder.encode_basestring


# -- reading the staged tables ----------------------------------------------------------------
class _Rows:
    """The staged JSONL tables, validated field by field (errors name file, line, field)."""

    def __init__(self, staging: Path, manifest: SnapshotManifest) -> None:
        self.staging = staging
        for name in TABLES:
            if manifest.file(f"tables/{name}.jsonl") is None:
                raise InputError(f"the manifest lists no tables/{name}.jsonl",
                                 where=str(staging / MANIFEST))

    def read(self, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        path = self.staging / "tables" / f"{name}.jsonl"
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                where = f"tables/{name}.jsonl:{number}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise InputError(f"not JSON ({exc})", where=where) from exc
                if not isinstance(row, dict):
                    raise InputError("not a JSON object", where=where)
                yield where, row


def _field(row: Mapping[str, Any], name: str, kind: type, where: str, *,
           optional: bool = False) -> Any:
    value = row.get(name)
    if value is None and optional:
        return None
    if kind is int and isinstance(value, bool):
        value = None
    if not isinstance(value, kind):
        raise InputError(f"field {name!r} must be {kind.__name__}", where=where)
    return value


def _day(row: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> date | None:
    value = _field(row, name, str, where, optional=optional)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"field {name!r} is not a date", where=where) from exc


def _stamp(row: Mapping[str, Any], where: str) -> datetime:
    value = _field(row, "created_at", str, where)
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError("field 'created_at' is not a timestamp", where=where) from exc


def _words(row: Mapping[str, Any], name: str, where: str, vocab: type | None = None) -> list[str]:
    value = _field(row, name, list, where)
    if not all(isinstance(v, str) for v in value):
        raise InputError(f"field {name!r} must be a list of strings", where=where)
    if vocab is not None:
        for v in value:
            try:
                vocab(v)
            except ValueError as exc:
                raise InputError(f"unknown {vocab.__name__} {v!r}", where=where) from exc
    return list(value)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry_hash(prev_hash: str, seq: int, at: str, action: str, payload: str) -> str:
    """:func:`tdmguard.registry.audit.entry_hash`, with its canonical JSON written out by hand
    (keys in sorted order, compact, strings through the JSON module's own C string encoder;
    5x faster for the hundreds of thousands of entries of a large snapshot; a test pins it
    to the original)."""
    text = _encode_string

    body = (f'{{"action":{text(action)},"at":{text(at)},"payload":{text(payload)},'
            f'"seq":{seq}}}')
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _check_chain(rows: _Rows, manifest: SnapshotManifest) -> None:
    """Recompute every audit entry's hash; for a whole-registry snapshot, the entries must
    run from ``seq_from + 1`` to ``seq_to`` from ``base_head`` and end at the signed head."""
    prev = manifest.base_head
    expected = manifest.seq_from + 1
    last: tuple[int, str] | None = None
    for where, e in rows.read("audit"):
        seq = e.get("seq")
        at, action, payload = e.get("at"), e.get("action"), e.get("payload")
        prev_hash, digest = e.get("prev_hash"), e.get("hash")
        if not (isinstance(seq, int) and all(isinstance(v, str) for v in (
                at, action, payload, prev_hash, digest))):
            raise InputError("an audit entry needs seq, at, action, payload, prev_hash, hash",
                             where=where)
        assert isinstance(at, str) and isinstance(action, str) and isinstance(payload, str)
        assert isinstance(prev_hash, str) and isinstance(digest, str)
        if not manifest.seq_from < seq <= manifest.seq_to:
            raise IntegrityError(f"audit entry {seq} outside the snapshot's range", where=where)
        if _entry_hash(prev_hash, seq, at, action, payload) != digest:
            raise IntegrityError(f"audit entry {seq} does not match its hash", where=where)
        if not manifest.scope:
            if seq != expected or prev_hash != prev:
                raise IntegrityError(
                    f"audit entry {seq} does not follow entry {expected - 1} "
                    "(a delta for another source or state?)", where=where)
            prev, expected = digest, expected + 1
        last = (seq, digest)
    if not manifest.scope and (last is None or last != (manifest.seq_to, manifest.head)):
        raise IntegrityError("the audit entries do not end at the signed head",
                             where="tables/audit.jsonl")


# -- the index journal ------------------------------------------------------------------------
def _read_index_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / "manifest.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"unreadable manifest ({exc})", where=str(path)) from exc
    if not isinstance(data, dict):
        raise IndexStoreError("unreadable manifest", where=str(path))
    return data


def _write_manifests(index_dir: Path, manifests: Mapping[str, dict[str, Any] | None]) -> None:
    for modality, manifest in manifests.items():
        path = index_dir / modality / "manifest.json"
        if manifest is None:
            path.unlink(missing_ok=True)
        else:
            write_json_atomic(path, manifest)


def _remove_segments(index_dir: Path, segments: Mapping[str, Sequence[str]]) -> None:
    for modality, names in segments.items():
        for name in names:
            if _SEG.match(name):
                shutil.rmtree(index_dir / modality / name, ignore_errors=True)


def recover(registry: Registry, index_dir: Path) -> str | None:
    """Finish or undo a pull that was killed inside its last step (see the module
    docstring). Returns "forward", "back" or None when there was nothing to do."""
    for staging in index_dir.parent.glob(f".{index_dir.name}.pull-*"):
        shutil.rmtree(staging, ignore_errors=True)  # left by a killed pull: never applied
    journal = index_dir / JOURNAL
    if not journal.exists():
        return None
    try:
        data = json.loads(journal.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"unreadable pull journal ({exc})", where=str(journal)) from exc
    with Session(registry.engine) as s:
        row = s.execute(select(SnapshotSource).where(
            SnapshotSource.registry_id == data["registry_id"],
            SnapshotSource.scope == data["scope"])).scalar_one_or_none()
        state = None if row is None else (row.snapshot_id, row.seq)
    committed = state == (data["target_snapshot"], data["target_seq"]) if data["target_snapshot"] \
        else row is None
    if committed:
        _write_manifests(index_dir, data["new"])
        _remove_segments(index_dir, data["drop_after"])
        outcome = "forward"
    else:  # not committed: the new (unlisted) segments go; the manifests are rewritten as
        # they were (a no-op, but a journal of an older tdmguard rewrote them before its commit)
        _write_manifests(index_dir, data["old"])
        _remove_segments(index_dir, data["added"])
        outcome = "back"
    journal.unlink()
    return outcome


# -- applying -----------------------------------------------------------------------------------
class _Ids:
    """Primary keys of one table: a source's own number when free, else the next free one
    (so a mirror of one source numbers reservations and licences as the source does)."""

    def __init__(self, used: Iterable[int]) -> None:
        self.used = set(used)
        self.next = max(self.used, default=0) + 1

    def take(self, wanted: int) -> int:
        if wanted > 0 and wanted not in self.used:
            self.used.add(wanted)
            self.next = max(self.next, wanted + 1)
            return wanted
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next

    def free(self, ids: Iterable[int]) -> None:
        self.used.difference_update(ids)


def _chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _entries(s: Session, source_id: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for kind, key, local in s.execute(
        select(SnapshotEntry.kind, SnapshotEntry.source_key, SnapshotEntry.local_id)
        .where(SnapshotEntry.source_id == source_id)
    ):
        out.setdefault(kind, {})[key] = local
    return out


def _delete_source_rows(s: Session, source_id: int, entries: Mapping[str, Mapping[str, int]]
                        ) -> None:
    for kind, table in (("revocation", Revocation), ("licence", LicenceRow),
                        ("reservation", ReservationRow), ("work", Work), ("holder", Holder)):
        ids = sorted(entries.get(kind, {}).values())
        for part in _chunks(ids):
            s.execute(delete(table).where(table.id.in_(part)))
    s.execute(delete(SnapshotEntry).where(SnapshotEntry.source_id == source_id))
    s.execute(delete(SnapshotSegment).where(SnapshotSegment.source_id == source_id))


def _owner_names(s: Session) -> dict[int, str]:
    return dict(s.execute(select(SnapshotSource.id, SnapshotSource.name)).all())


def pull_snapshot(
    registry: Registry,
    index_dir: Path,
    reader: SnapshotReader,
    trusted: PublicKey,
    *,
    name: str | None = None,
    namespace: str | None = None,
) -> PullResult:
    """Verify the snapshot at ``reader`` with the pinned key ``trusted`` and apply it to the
    mirror (``registry`` + ``index_dir``), or raise and leave the mirror unchanged."""
    recover(registry, index_dir)
    where = reader.location
    body = reader.read_small(MANIFEST)
    sig = reader.read_small(SIGNATURE)
    manifest = verify_manifest(body, sig, trusted, where=where)
    with Session(registry.engine) as s:
        held = s.execute(select(SnapshotSource).where(
            SnapshotSource.registry_id == manifest.registry_id,
            SnapshotSource.scope == manifest.scope)).scalar_one_or_none()
        _check_against_held(manifest, held, trusted, where)
        if held is None:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "-", manifest.scope).strip("-._")
            name = name or slug or f"registry-{manifest.registry_id[:8]}"
            if not _NAME.match(name):
                raise InputError("a source name is letters, digits, '.', '_' or '-'",
                                 where="--name")
            if s.execute(select(SnapshotSource.id).where(SnapshotSource.name == name)).first():
                raise ConflictError(f"another source is named {name!r}: pass --name",
                                    where="--name")
            if namespace is not None and not _NAME.match(namespace):
                raise InputError("a namespace is letters, digits, '.', '_' or '-'",
                                 where="--namespace")
        else:
            if namespace is not None and namespace != held.namespace:
                raise ConflictError(
                    f"source {held.name} is held with namespace {held.namespace!r}; drop it "
                    "first to change it", where="--namespace")
            namespace, name = held.namespace, held.name
    for modality, engine_name in manifest.engines.items():
        try:
            local = get_engine(Modality(modality)).engine
        except ValueError as exc:
            raise InputError(f"unknown modality {modality!r}", where=f"{where}/{MANIFEST}") \
                from exc
        if local != engine_name:
            raise IndexStoreError(
                f"{modality} fingerprints were made by {engine_name}, this tdmguard uses "
                f"{local}: upgrade one side", where=f"{where}/{MANIFEST}")
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=index_dir.parent, prefix=f".{index_dir.name}.pull-"))
    try:
        # Files are copied while hashed (streaming SHA-256); from a folder, several at once
        # (hashing and reading release the GIL): the first bad file in manifest order is named.
        workers = min(4, os.cpu_count() or 1) if isinstance(reader, FolderReader) else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(lambda e: reader.copy_to(e, staging / e.path), manifest.files):
                pass
        (staging / MANIFEST).write_bytes(body)
        rows = _Rows(staging, manifest)
        _check_chain(rows, manifest)
        assert name is not None
        return _apply(registry, index_dir, staging, manifest, rows, trusted, name, namespace,
                      reader.location)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_against_held(manifest: SnapshotManifest, held: SnapshotSource | None,
                        trusted: PublicKey, where: str) -> None:
    m = f"{where}/{MANIFEST}"
    if held is None:
        if manifest.kind == "delta":
            raise IntegrityError(
                f"a delta (entries {manifest.seq_from + 1}..{manifest.seq_to}) for a source this "
                "mirror does not hold: pull a full snapshot first", where=m)
        return
    if held.public_key != trusted.text:
        raise IntegrityError(
            f"source {held.name} is pinned to key {held.public_key}; this snapshot is signed "
            "by another key", where=f"{where}/{SIGNATURE}")
    if manifest.seq_to <= held.seq:
        raise IntegrityError(
            f"snapshot reaches entry {manifest.seq_to}, the mirror holds entry {held.seq} of "
            f"source {held.name}: not newer (rollback or replay refused)", where=m)
    if manifest.kind == "delta" and (manifest.seq_from != held.seq
                                     or manifest.base_head != held.head):
        raise IntegrityError(
            f"delta starts after entry {manifest.seq_from} ({manifest.base_head[:16]}), the "
            f"mirror holds entry {held.seq} ({held.head[:16]}) of source {held.name}: pull a "
            "full snapshot or the deltas in between", where=m)


def _apply(
    registry: Registry,
    index_dir: Path,
    staging: Path,
    manifest: SnapshotManifest,
    rows: _Rows,
    trusted: PublicKey,
    name: str,
    namespace: str | None,
    location: str,
) -> PullResult:
    ns = f"{namespace}:" if namespace else ""
    counts: dict[str, int] = {}
    journal_written = committed = False
    journal: dict[str, Any] = {}
    session = Session(registry.engine)
    try:
        with session.begin():
            s = session
            src = s.execute(select(SnapshotSource).where(
                SnapshotSource.registry_id == manifest.registry_id,
                SnapshotSource.scope == manifest.scope)).scalar_one_or_none()
            old_segments: dict[str, list[str]] = {}
            if src is None:
                src = SnapshotSource(
                    name=name, registry_id=manifest.registry_id, scope=manifest.scope,
                    public_key=trusted.text, namespace=namespace, snapshot_id="", seq=0,
                    head=audit.GENESIS, snapshot_created_at="", location=location,
                    pulled_at=datetime.now(UTC))
                s.add(src)
                s.flush()
            elif manifest.kind == "full":
                for modality, seg in s.execute(select(
                        SnapshotSegment.modality, SnapshotSegment.segment).where(
                        SnapshotSegment.source_id == src.id)):
                    old_segments.setdefault(modality, []).append(seg)
                _delete_source_rows(s, src.id, _entries(s, src.id))
                s.flush()
            entries = _entries(s, src.id)
            resent: dict[str, int] = {}
            resent_digests: dict[int, str] = {}
            new_entries = _insert_rows(s, src.id, rows, entries, ns, counts, resent,
                                       resent_digests)
            _record_digests(s, src.id, new_entries, resent_digests)
            src.snapshot_id = manifest.snapshot_id
            src.seq = manifest.seq_to
            src.head = manifest.head
            src.snapshot_created_at = manifest.created_at
            src.location = location
            src.pulled_at = datetime.now(UTC)
            journal = _plan_index(s, src.id, index_dir, staging, manifest, old_segments, ns,
                                  resent)
            journal |= {"registry_id": manifest.registry_id, "scope": manifest.scope,
                        "target_snapshot": manifest.snapshot_id,
                        "target_seq": manifest.seq_to}
            s.flush()
            audit.append(s, "snapshot.apply", {
                "source": src.name, "registry_id": manifest.registry_id,
                "scope": manifest.scope, "snapshot": manifest.snapshot_id,
                "kind": manifest.kind, "seq_from": manifest.seq_from,
                "seq": manifest.seq_to, "head": manifest.head, "key": trusted.key_id,
                "mirror_sha256": source_digest(s, src.id),
            })
            _fix_sequences(s)
            s.flush()
            # Before the commit: the journal, then the new segments under names no index
            # manifest lists yet (invisible to readers). A kill up to the commit leaves the
            # old state (recover() deletes them); the commit is the switch.
            write_json_atomic(index_dir / JOURNAL, journal)
            journal_written = True
            for modality, moves in journal["moves"].items():
                for staged, final in moves:
                    os.replace(staged, index_dir / modality / final)
        committed = True
        # After the commit: the index manifests follow (a kill here: recover() rolls them
        # forward, as the database already holds the new state).
        _write_manifests(index_dir, journal["new"])
    except BaseException:
        if journal_written and not committed:
            _remove_segments(index_dir, journal["added"])
            (index_dir / JOURNAL).unlink(missing_ok=True)
        raise
    finally:
        session.close()
    _remove_segments(index_dir, journal["drop_after"])
    (index_dir / JOURNAL).unlink(missing_ok=True)
    return PullResult(name, manifest.snapshot_id, manifest.kind, manifest.seq_from,
                      manifest.seq_to, manifest.head, counts)


def _insert_rows(s: Session, source_id: int, rows: _Rows,
                 entries: dict[str, dict[str, int]], ns: str, counts: dict[str, int],
                 resent: dict[str, int], resent_digests: dict[int, str]
                 ) -> list[dict[str, Any]]:
    """Write the staged rows; returns the new ``snapshot_entries`` rows (not yet written,
    each with its row's digest). ``resent`` gets the works held already that a delta
    re-sent (changed or removed), as local public id -> row id: their rows were replaced
    (new digests in ``resent_digests``), their index entries will be."""
    owners = _owner_names(s)
    owned = {
        (kind, local): source
        for source, kind, local in s.execute(
            select(SnapshotEntry.source_id, SnapshotEntry.kind, SnapshotEntry.local_id))
    }

    def owner(kind: str, local: int) -> str:
        src = owned.get((kind, local))
        return f"source {owners.get(src, src)}" if src is not None else "this registry itself"

    new_entries: list[dict[str, Any]] = []

    def remember(kind: str, key: object, local: int, pulled: Mapping[str, Any]) -> None:
        """``pulled``: the row as ``replay.mirrored_rows`` reads it back (its digest is what
        ``registry verify`` checks; tests pin the two shapes equal)."""
        entries.setdefault(kind, {})[str(key)] = local
        new_entries.append({"source_id": source_id, "kind": kind, "source_key": str(key),
                            "local_id": local, "row_sha256": replay.row_digest(pulled)})

    # holders
    names = dict(s.execute(select(Holder.name, Holder.id)).all())
    ids = _Ids(names.values())
    batch: list[dict[str, Any]] = []
    for where, r in rows.read("holders"):
        hid = _field(r, "id", int, where)
        hname = ns + _field(r, "name", str, where)
        if str(hid) in entries.get("holder", {}):
            raise IntegrityError(f"holder {hid} is held already", where=where)
        if hname in names:
            raise ConflictError(
                f"holder {hname!r} is held already from {owner('holder', names[hname])}: "
                "pull this source with --namespace", where=where)
        local = ids.take(hid)
        names[hname] = local
        contact = _field(r, "contact", str, where, optional=True)
        batch.append({"id": local, "name": hname, "created_at": _stamp(r, where),
                      "contact": contact})
        remember("holder", hid, local, {"name": hname, "contact": contact})
    _bulk(s, Holder, batch)
    counts["holders"] = len(batch)
    holder_name = {local: hname for hname, local in names.items()}

    def holder_of(r: Mapping[str, Any], where: str) -> int:
        hid = _field(r, "holder", int, where)
        local = entries.get("holder", {}).get(str(hid))
        if local is None:
            raise IntegrityError(f"names holder {hid}, which this source never sent",
                                 where=where)
        return local

    # works: a delta re-sends a changed or removed work whole; its row is replaced
    public = dict(s.execute(select(Work.public_id, Work.id)).all())
    ids = _Ids(public.values())
    batch = []
    changed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, r in rows.read("works"):
        pid = _field(r, "id", str, where)
        if not pid or len(pid) > 200 - len(ns) or any(c.isspace() for c in pid):
            raise InputError(f"bad work id {pid!r}", where=where)
        if pid in seen:
            raise InputError(f"work {pid!r} is listed twice", where=where)
        seen.add(pid)
        local_pid = ns + pid
        held = entries.get("work", {}).get(pid)
        if local_pid in public and held is None:
            raise ConflictError(
                f"work {local_pid!r} is held already from {owner('work', public[local_pid])}: "
                "pull this source with --namespace", where=where)
        try:
            kind = WorkKind(_field(r, "kind", str, where)).value
        except ValueError as exc:
            raise InputError("unknown work kind", where=where) from exc
        extra = _field(r, "extra", dict, where, optional=True) or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
            raise InputError("field 'extra' must map names to strings", where=where)
        artists = _words(r, "artists", where)
        codes = {k: _field(r, k, str, where, optional=True) for k in ("isrc", "iswc", "upc",
                                                                      "iscc")}
        removed_on = _day(r, "removed_on", where, optional=True)
        values = {
            "public_id": local_pid, "holder_id": holder_of(r, where), "kind": kind,
            "title": _field(r, "title", str, where), "artists": json.dumps(artists), **codes,
            "extra": json.dumps(extra, sort_keys=True, ensure_ascii=False),
            "removed_on": removed_on, "created_at": _stamp(r, where)}
        pulled = {"id": local_pid, "holder": holder_name.get(values["holder_id"]),
                  "kind": kind, "title": values["title"], "artists": artists, **codes,
                  "extra": extra, "removed_on": _iso(removed_on)}
        if held is not None:
            if held != public[local_pid]:
                raise IntegrityError(f"work {pid!r} of this source is not the mirror's row",
                                     where=where)
            changed.append({"id": held, **values, "updated_at": datetime.now(UTC)})
            resent[local_pid] = held
            resent_digests[held] = replay.row_digest(pulled)
            continue
        local = ids.take(0)
        public[local_pid] = local
        batch.append({"id": local, **values})
        remember("work", pid, local, pulled)
    _bulk(s, Work, batch)
    if changed:
        s.execute(update(Work), changed)
    counts["works"] = len(batch) + len(changed)

    def works_of(r: Mapping[str, Any], where: str) -> list[str]:
        return sorted(ns + w for w in _words(r, "works", where))

    # reservations and licences
    for table_name, kind, table in (("reservations", "reservation", ReservationRow),
                                    ("licences", "licence", LicenceRow)):
        ids = _Ids(s.execute(select(table.id)).scalars())
        batch = []
        for where, r in rows.read(table_name):
            eid = _field(r, "id", int, where)
            if str(eid) in entries.get(kind, {}):
                raise IntegrityError(f"{kind} {eid} is held already", where=where)
            local = ids.take(eid)
            start, until = _day(r, "from", where), _day(r, "until", where, optional=True)
            hid, work_ids = holder_of(r, where), works_of(r, where)
            uses, purposes = _words(r, "uses", where, Use), _words(r, "purposes", where, Purpose)
            row: dict[str, Any] = {
                "id": local, "holder_id": hid, "work_ids": json.dumps(work_ids),
                "uses": json.dumps(uses), "purposes": json.dumps(purposes),
                "created_at": _stamp(r, where)}
            terms: dict[str, Any] = {"holder": holder_name.get(hid), "uses": uses,
                                     "purposes": purposes, "works": work_ids,
                                     "from": _iso(start), "until": _iso(until)}
            if kind == "reservation":
                row |= {"effective_from": start, "effective_until": until,
                        "exempt": _field(r, "exempt", bool, where),
                        "declared_at": _field(r, "declared_at", str, where, optional=True)}
                terms |= {"exempt": row["exempt"], "declared_at": row["declared_at"]}
            else:
                row |= {"valid_from": start, "valid_until": until,
                        "licensee": _field(r, "licensee", str, where)}
                terms["licensee"] = row["licensee"]
            batch.append(row)
            remember(kind, eid, local, terms)
        _bulk(s, table, batch)
        counts[table_name] = len(batch)

    # revocations
    ids = _Ids(s.execute(select(Revocation.id)).scalars())
    batch = []
    for where, r in rows.read("revocations"):
        rid = _field(r, "id", int, where)
        entry_type = _field(r, "entry_type", str, where)
        target = entries.get(entry_type, {}).get(str(_field(r, "entry_id", int, where)))
        if entry_type not in ("reservation", "licence") or target is None:
            raise IntegrityError("revokes an entry this source never sent", where=where)
        local = ids.take(rid)
        revoked_on = _day(r, "revoked_on", where)
        note = _field(r, "note", str, where, optional=True)
        batch.append({"id": local, "entry_type": entry_type, "entry_id": target,
                      "revoked_on": revoked_on, "note": note, "created_at": _stamp(r, where)})
        remember("revocation", rid, local, {"type": entry_type, "entry": target,
                                            "revoked_on": _iso(revoked_on), "note": note})
    _bulk(s, Revocation, batch)
    counts["revocations"] = len(batch)
    return new_entries


def _record_digests(s: Session, source_id: int, new_entries: list[dict[str, Any]],
                    resent_digests: Mapping[int, str]) -> None:
    """Write the new ``snapshot_entries`` (each with its row's digest, what ``registry
    verify`` checks the row against) and the new digests of the works a delta replaced."""
    _bulk(s, SnapshotEntry, new_entries)
    if resent_digests:
        held = {local: eid for eid, local in s.execute(
            select(SnapshotEntry.id, SnapshotEntry.local_id).where(
                SnapshotEntry.source_id == source_id, SnapshotEntry.kind == "work"))}
        s.execute(update(SnapshotEntry), [
            {"id": held[local], "row_sha256": digest}
            for local, digest in resent_digests.items()])


def _bulk(s: Session, table: Any, batch: list[dict[str, Any]]) -> None:
    """Plain executemany (the ORM's bulk path costs as much again for 100,000 rows)."""
    if not batch:
        return
    try:
        for start in range(0, len(batch), 5000):
            s.execute(table.__table__.insert(), batch[start:start + 5000])
    except SAIntegrityError as exc:
        raise ConflictError(f"the snapshot conflicts with the mirror ({exc.orig})") from exc


def _fix_sequences(s: Session) -> None:
    """PostgreSQL: rows were inserted with explicit ids; move each id sequence past them."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for table in ("holders", "works", "reservations", "licences", "revocations"):
        s.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def _next_segment_number(folder: Path, manifest: Mapping[str, Any] | None) -> int:
    numbers = [0]
    for seg in (manifest or {}).get("segments", []):
        if m := _SEG.match(str(seg)):
            numbers.append(int(m.group(1)))
    if folder.is_dir():
        for child in folder.iterdir():
            if m := _SEG.match(child.name):
                numbers.append(int(m.group(1)))
    return max(numbers) + 1


def _check_segment(folder: Path, aux_width: int, *, where: str) -> None:
    """A segment's arrays agree with each other and with its works list (so the mirror's
    index opens and answers), read through memory maps without pickles."""
    try:
        keys = np.load(folder / "keys.npy", mmap_mode="r", allow_pickle=False)
        work = np.load(folder / "work.npy", mmap_mode="r", allow_pickle=False)
        aux = np.load(folder / "aux.npy", mmap_mode="r", allow_pickle=False)
        works = json.loads((folder / "works.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"index segment missing or unreadable ({exc})", where=where) from exc
    n = keys.shape[0] if keys.ndim == 1 else -1
    if (keys.dtype != np.uint64 or work.dtype != np.uint32 or aux.dtype != np.int32
            or work.shape != (n,) or aux.shape != (n, aux_width)
            or not isinstance(works, list)
            or not all(isinstance(w, dict) and isinstance(w.get("id"), str) for w in works)
            or (n and int(work.max()) >= len(works))):
        raise InputError("index segment arrays disagree", where=where)


def _without_works(seg_dir: Path, dropped: set[str], out: Path) -> bool:
    """Write ``seg_dir`` without the rows of the works in ``dropped`` into ``out``; False
    (nothing written) when no work is left. Keys stay sorted (a subsequence of sorted)."""
    works = json.loads((seg_dir / "works.json").read_text("utf-8"))
    keep = np.array([str(w["id"]) not in dropped for w in works], dtype=bool)
    if not keep.any():
        return False
    renumber = np.cumsum(keep, dtype=np.int64) - 1
    work = np.load(seg_dir / "work.npy", allow_pickle=False)
    rows = keep[work]
    out.mkdir(parents=True)
    np.save(out / "keys.npy", np.load(seg_dir / "keys.npy", allow_pickle=False)[rows])
    np.save(out / "work.npy", renumber[work[rows]].astype(np.uint32))
    np.save(out / "aux.npy", np.load(seg_dir / "aux.npy", allow_pickle=False)[rows])
    (out / "works.json").write_text(
        json.dumps([w for w, k in zip(works, keep, strict=True) if k]), "utf-8")
    return True


def _plan_index(s: Session, source_id: int, index_dir: Path, staging: Path,
                manifest: SnapshotManifest, old_segments: Mapping[str, Sequence[str]],
                ns: str, resent: Mapping[str, int]) -> dict[str, Any]:
    """Work out the index change (and record the new segments in the database): a full
    snapshot replaces the source's segments (``old_segments``); a delta adds its segments
    and rewrites, without them, the source's segments holding a work it re-sent."""
    old: dict[str, dict[str, Any] | None] = {}
    new: dict[str, dict[str, Any] | None] = {}
    moves: dict[str, list[tuple[str, str]]] = {}
    added: dict[str, list[str]] = {}
    drop_after = {m: list(v) for m, v in old_segments.items()}
    held: dict[str, list[tuple[int, str]]] = {}
    if resent:
        for row_id, modality, seg in s.execute(select(
                SnapshotSegment.id, SnapshotSegment.modality, SnapshotSegment.segment).where(
                SnapshotSegment.source_id == source_id)):
            held.setdefault(modality, []).append((row_id, seg))
    touched = set(old_segments) | set(manifest.engines) | set(held)
    for modality in sorted(touched):
        folder = index_dir / modality
        current = _read_index_manifest(folder)
        old[modality] = current
        dropped = set(old_segments.get(modality, ()))
        segments = [x for x in (current or {}).get("segments", []) if x not in dropped]
        updated = dict(current) if current is not None else None
        number = _next_segment_number(folder, current)
        for row_id, seg in held.get(modality, []):
            seg_dir = folder / seg
            if seg in dropped or not (seg_dir / "works.json").exists():
                continue
            works = json.loads((seg_dir / "works.json").read_text("utf-8"))
            if not any(str(w["id"]) in resent for w in works):
                continue
            final = f"seg-{number:06d}-{secrets.token_hex(4)}"
            number += 1
            staged = staging / "rewritten" / modality / final
            position = segments.index(seg) if seg in segments else len(segments)
            segments = [x for x in segments if x != seg]
            if _without_works(seg_dir, set(resent), staged):
                moves.setdefault(modality, []).append((str(staged), final))
                added.setdefault(modality, []).append(final)
                segments.insert(position, final)
                s.add(SnapshotSegment(source_id=source_id, modality=modality, segment=final,
                                      sha256=segment_digest(staged)))
            s.execute(delete(SnapshotSegment).where(SnapshotSegment.id == row_id))
            drop_after.setdefault(modality, []).append(seg)
        staged_folder = staging / "index" / modality
        staged_manifest = (_read_index_manifest(staged_folder) if modality in manifest.engines
                           else None)
        if staged_manifest is not None:
            if manifest.file(f"index/{modality}/manifest.json") is None:
                raise InputError(f"index/{modality}/manifest.json is not in the manifest",
                                 where=str(staging / MANIFEST))
            if updated is None:
                updated = {"format": staged_manifest.get("format", 1),
                           "engine": staged_manifest["engine"],
                           "aux_width": staged_manifest["aux_width"], "segments": [],
                           "removed": []}
            elif (updated.get("engine"), updated.get("aux_width")) != (
                    staged_manifest.get("engine"), staged_manifest.get("aux_width")):
                raise IndexStoreError(
                    f"the mirror's {modality} index holds {updated.get('engine')}, the "
                    f"snapshot {staged_manifest.get('engine')}", where=str(folder))
            if staged_manifest.get("engine") != manifest.engines.get(modality):
                raise InputError("index engine differs from the manifest's",
                                 where=f"index/{modality}/manifest.json")
            for seg in staged_manifest.get("segments", []):
                seg_dir = staged_folder / str(seg)
                if not _SEG.match(str(seg)):
                    raise InputError(f"bad segment name {seg!r}",
                                     where=f"index/{modality}/manifest.json")
                _check_segment(seg_dir, int(staged_manifest["aux_width"]),
                               where=f"index/{modality}/{seg}")
                if ns:
                    works = json.loads((seg_dir / "works.json").read_text("utf-8"))
                    for w in works:
                        w["id"] = ns + str(w["id"])
                    (seg_dir / "works.json").write_text(json.dumps(works), "utf-8")
                final = f"seg-{number:06d}-{secrets.token_hex(4)}"
                number += 1
                moves.setdefault(modality, []).append((str(seg_dir), final))
                added.setdefault(modality, []).append(final)
                segments.append(final)
                known = {name: entry.sha256 for name in SEGMENT_FILES
                         if (entry := manifest.file(f"index/{modality}/{seg}/{name}"))
                         and not (ns and name == "works.json")}
                s.add(SnapshotSegment(source_id=source_id, modality=modality, segment=final,
                                      sha256=segment_digest(seg_dir, known)))
        if updated is not None:
            updated["segments"] = segments
        folder.mkdir(parents=True, exist_ok=True)
        new[modality] = updated
    return {"old": old, "new": new, "moves": moves, "added": added, "drop_after": drop_after}


# -- dropping a source ------------------------------------------------------------------------
def drop_source(registry: Registry, index_dir: Path, name: str) -> dict[str, object]:
    """Remove a source and everything that came from it (rows and index segments)."""
    recover(registry, index_dir)
    journal: dict[str, Any] = {}
    journal_written = committed = False
    session = Session(registry.engine)
    try:
        with session.begin():
            s = session
            src = s.execute(select(SnapshotSource).where(SnapshotSource.name == name)
                            ).scalar_one_or_none()
            if src is None:
                raise NotFoundError(f"no source named {name!r}", where="source")
            segs: dict[str, list[str]] = {}
            for modality, seg in s.execute(select(
                    SnapshotSegment.modality, SnapshotSegment.segment).where(
                    SnapshotSegment.source_id == src.id)):
                segs.setdefault(modality, []).append(seg)
            entries = _entries(s, src.id)
            counts = {k: len(v) for k, v in entries.items()}
            try:
                _delete_source_rows(s, src.id, entries)
                info = {"source": src.name, "registry_id": src.registry_id, "scope": src.scope}
                s.delete(src)
                audit.append(s, "snapshot.drop", info)
                s.flush()
            except SAIntegrityError as exc:
                raise ConflictError(
                    f"rows of this registry refer to source {name}'s rows ({exc.orig})") from exc
            old = {m: _read_index_manifest(index_dir / m) for m in segs}
            new: dict[str, dict[str, Any] | None] = {}
            for m, manifest in old.items():
                if manifest is not None:
                    new[m] = dict(manifest) | {"segments": [
                        x for x in manifest.get("segments", []) if x not in set(segs[m])]}
            journal = {"registry_id": info["registry_id"], "scope": info["scope"],
                       "target_snapshot": "", "target_seq": 0, "old": old, "new": new,
                       "added": {}, "drop_after": segs}
            write_json_atomic(index_dir / JOURNAL, journal)
            journal_written = True
        committed = True
        _write_manifests(index_dir, new)
    except BaseException:
        if journal_written and not committed:
            (index_dir / JOURNAL).unlink(missing_ok=True)
        raise
    finally:
        session.close()
    _remove_segments(index_dir, journal["drop_after"])
    with suppress(FileNotFoundError):
        (index_dir / JOURNAL).unlink()
    return {"dropped": name, "rows": counts,
            "segments": sum(len(v) for v in journal["drop_after"].values())}


def count_rows(registry: Registry) -> dict[str, int]:
    with Session(registry.engine) as s:
        return {t.__tablename__: int(s.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (Holder, Work, ReservationRow, LicenceRow, Revocation)}
