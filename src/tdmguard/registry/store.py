"""The registry: holders, works, reservations, licences, fingerprints and the audit log.

One :class:`Registry` per database URL (SQLite by default, PostgreSQL for servers). Every
write runs in one transaction together with its audit entry; a failure rolls both back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    and_,
    cast,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tdmguard.config import sqlite_path
from tdmguard.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
)
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.policy import Licence, PolicyFacts, Reservation
from tdmguard.registry import audit, replay
from tdmguard.registry.identifiers import normalise_isrc, normalise_iswc, normalise_upc
from tdmguard.registry.tables import (
    ApiKey,
    AuditEntry,
    FingerprintRow,
    Holder,
    LicenceRow,
    ReservationRow,
    Revocation,
    Work,
)
from tdmguard.registry.values import (
    CLI_ACTOR,
    Actor,
    ApiKeyInfo,
    HolderInfo,
    LicenceInfo,
    ReservationInfo,
    Scope,
    VerifyResult,
    WorkInfo,
)
from tdmguard.sqlite_wal import enable_wal
from tdmguard.vocab import Modality, Purpose, Use, WorkKind

__all__ = ["NewWork", "Registry"]

_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision (tests/registry check it is the scripts' head): what an
# opened registry must be at, known without parsing the migration scripts
SCHEMA_HEAD = "0005_snapshot_digests"
# Key of the PostgreSQL advisory lock that serialises registry writes (b"tdmguard" as int64).
_PG_WRITE_LOCK = int.from_bytes(b"tdmguard", "big") & 0x7FFF_FFFF_FFFF_FFFF
_KEY_PREFIX = "tdm"


def _now() -> datetime:
    return datetime.now(UTC)


class NewWork:
    """A work to add (validated on construction, so an import fails before writing)."""

    __slots__ = ("artists", "external_id", "extra", "iscc", "isrc", "iswc", "kind", "title",
                 "upc", "where")

    def __init__(
        self,
        *,
        title: str,
        kind: WorkKind = WorkKind.RECORDING,
        artists: Sequence[str] = (),
        isrc: str | None = None,
        iswc: str | None = None,
        upc: str | None = None,
        iscc: str | None = None,
        external_id: str | None = None,
        extra: Mapping[str, str] | None = None,
        where: str = "",
    ) -> None:
        self.where = where  # the catalogue line it came from, for messages
        prefix = f"{where}: " if where else ""
        if not title or not title.strip():
            raise InputError("a work needs a title", where=f"{prefix}title".strip())
        self.title = title.strip()
        self.kind = kind
        self.artists = tuple(a.strip() for a in artists if a.strip())
        self.isrc = normalise_isrc(isrc, where=f"{prefix}isrc")
        self.iswc = normalise_iswc(iswc, where=f"{prefix}iswc")
        self.upc = normalise_upc(upc, where=f"{prefix}upc")
        # Columns a catalogue has beyond ours (label, release date, ISNI, ...), kept as given.
        self.extra: dict[str, str] = dict(sorted((extra or {}).items()))
        self.iscc = iscc.strip() if iscc and iscc.strip() else None
        ext = external_id.strip() if external_id else ""
        if ext and (len(ext) > 200 or any(c.isspace() for c in ext)):
            raise InputError(
                f"an id has no spaces and at most 200 characters: {ext!r}", where=f"{prefix}id"
            )
        self.external_id = ext or None


def _terms(uses: Iterable[Use], start: date, until: date | None) -> list[str]:
    """Validated terms of a reservation or licence: the sorted use values."""
    use_set = sorted({u.value for u in uses})
    if not use_set:
        raise InputError("name at least one use", where="use")
    if until is not None and until <= start:
        raise InputError("--until must be after --from", where="until")
    return use_set


def _work_columns(work: NewWork) -> dict[str, Any]:
    """The ``works`` columns a catalogue row sets (what an update compares and replaces)."""
    return {
        "kind": work.kind.value,
        "title": work.title,
        "artists": json.dumps(list(work.artists)),
        "isrc": work.isrc,
        "iswc": work.iswc,
        "upc": work.upc,
        "iscc": work.iscc,
        "extra": json.dumps(work.extra, sort_keys=True, ensure_ascii=False),
    }


def _load_extra(text: str | None) -> dict[str, str]:
    data = json.loads(text or "{}")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _json_list(items: Iterable[str]) -> str:
    return json.dumps(sorted(set(items)))


def _load_list(text: str) -> list[str]:
    data = json.loads(text or "[]")
    return [str(x) for x in data] if isinstance(data, list) else []


class Registry:
    """Access to one registry database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Write transactions take the database's write lock when they begin (see _tx).
        self._write_sessions = sessionmaker(
            engine.execution_options(tdmguard_write=True), expire_on_commit=False
        )

    # -- opening and migrating ----------------------------------------------------------
    @classmethod
    def open(cls, db_url: str, *, create: bool = True) -> Registry:
        """Open (and, with ``create``, create or migrate to the latest schema) a registry."""
        path = sqlite_path(db_url)
        if path is not None:
            if not create and not path.exists():
                raise RegistryError(
                    "no registry here: run `tdmguard registry init`", where=str(path)
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RegistryError(
                    f"cannot create folder ({exc})", where=str(path.parent)
                ) from exc
        try:
            engine = create_engine(db_url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise RegistryError(f"cannot open database ({exc})", where=_safe_url(db_url)) from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        registry = cls(engine)
        try:
            if create:
                registry.migrate()
            else:
                registry.check_schema()
        except OperationalError as exc:
            raise RegistryError(
                f"cannot use database ({exc.orig})", where=_safe_url(db_url)
            ) from exc
        return registry

    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision (no-op when it is there)."""
        # Alembic (about 0.3 CPU s to import) only here: opening a registry checks the
        # revision with one query (check_schema), so a scan or a read never loads it
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current == SCHEMA_HEAD:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def check_schema(self) -> None:
        """Refuse a database whose schema is not at :data:`SCHEMA_HEAD`."""
        with self.engine.connect() as conn:
            current = None
            if inspect(conn).has_table("alembic_version"):
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current != SCHEMA_HEAD:
            raise RegistryError(
                f"registry schema is at {current or 'nothing'}, tdmguard needs {SCHEMA_HEAD}: "
                "run `tdmguard registry init`",
                where=_safe_url(str(self.engine.url)),
            )

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction. A ``write`` transaction holds the database's write lock from its
        start (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock),
        so writers are serialised: the audit chain's head is read by one writer at a time,
        and check-then-insert rules (unique names) cannot race."""
        session = (self._write_sessions if write else self._sessions)()
        try:
            with session.begin():
                if write and self.engine.dialect.name == "postgresql":
                    session.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_WRITE_LOCK}
                    )
                yield session
        except SAIntegrityError as exc:
            raise ConflictError(f"the change conflicts with the registry ({exc.orig})") from exc
        except DataError as exc:  # a value the column cannot hold (NUL byte, too long...)
            raise InputError(f"a value the database cannot store ({exc.orig})") from exc
        except OperationalError as exc:
            raise RegistryError(f"database error ({exc.orig})") from exc
        finally:
            session.close()

    # -- holders --------------------------------------------------------------------------
    def add_holder(
        self, name: str, *, contact: str | None = None, actor: Actor = CLI_ACTOR
    ) -> HolderInfo:
        name = name.strip()
        if not name:
            raise InputError("a holder needs a name", where="name")
        if len(name) > 300:
            raise InputError("a holder name has at most 300 characters", where="name")
        if contact is not None and len(contact) > 500:
            raise InputError("a contact has at most 500 characters", where="contact")
        with self._tx(write=True) as s:
            if s.execute(select(Holder).where(Holder.name == name)).scalar_one_or_none():
                raise ConflictError(f"holder {name!r} exists already")
            row = Holder(name=name, contact=contact, created_at=_now())
            s.add(row)
            s.flush()
            audit.append(
                s,
                "holder.add",
                {"holder": row.id, "name": name, "contact": contact},
                actor=actor.to_audit(),
            )
            return HolderInfo(row.id, row.name, row.contact)

    def _holder(self, s: Session, ref: str) -> Holder:
        ref = str(ref).strip()
        row = s.execute(select(Holder).where(Holder.name == ref)).scalar_one_or_none()
        if row is None and ref.isdigit() and len(ref) < 10:
            row = s.get(Holder, int(ref))
        if row is None:
            raise NotFoundError(f"no holder named or numbered {ref!r}", where="holder")
        return row

    def get_holder(self, ref: str) -> HolderInfo:
        with self._tx() as s:
            row = self._holder(s, ref)
            return HolderInfo(row.id, row.name, row.contact)

    def list_holders(self) -> list[HolderInfo]:
        with self._tx() as s:
            rows = s.execute(select(Holder).order_by(Holder.id)).scalars()
            return [HolderInfo(r.id, r.name, r.contact) for r in rows]

    # -- works ----------------------------------------------------------------------------
    def add_works(
        self, holder: str, works: Sequence[NewWork], *, actor: Actor = CLI_ACTOR
    ) -> list[WorkInfo]:
        """Add works atomically: all of them or none."""
        with self._tx(write=True) as s:
            return self._add_works(s, holder, works, actor)

    def _add_works(
        self, s: Session, holder: str, works: Sequence[NewWork], actor: Actor
    ) -> list[WorkInfo]:
        h = self._holder(s, holder)
        out: list[WorkInfo] = []
        seen: set[str] = set()
        # One query per 500 ids for the ids already registered, not one per work.
        taken = self._removal_dates(s, [w.external_id for w in works if w.external_id])
        for w in works:
            if w.external_id is not None:
                if w.external_id in seen:
                    raise ConflictError(f"work id {w.external_id!r} exists already", where="id")
                if w.external_id in taken:
                    removed = taken[w.external_id]
                    hint = (f" (removed on {removed}; re-import with --mode upsert to restore it)"
                            if removed else " (re-import with --mode upsert to update works)")
                    raise ConflictError(f"work id {w.external_id!r} exists already{hint}",
                                        where=f"{w.where}: id" if w.where else "id")
                seen.add(w.external_id)
            row = Work(
                public_id=w.external_id or f"tmp-{len(out)}",
                holder_id=h.id,
                **_work_columns(w),
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            if w.external_id is None:
                row.public_id = f"W{row.id:06d}"
                s.flush()
            info = self._work_info(row, h.name, ())
            audit.append(s, "work.add", info.to_json(), actor=actor.to_audit())
            out.append(info)
        return out

    @staticmethod
    def _removal_dates(s: Session, ids: Sequence[str]) -> dict[str, date | None]:
        """Which of ``ids`` are registered (to any holder), with their removal dates."""
        out: dict[str, date | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = s.execute(
                select(Work.public_id, Work.removed_on).where(Work.public_id.in_(chunk)))
            out.update({public_id: removed for public_id, removed in rows})
        return out

    def registered_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` name a registered work (of any holder, removed ones too)."""
        with self._tx() as s:
            return set(self._removal_dates(s, list(ids)))

    def add_work(self, holder: str, work: NewWork, *, actor: Actor = CLI_ACTOR) -> WorkInfo:
        return self.add_works(holder, [work], actor=actor)[0]

    def import_works(
        self,
        holder: str,
        works: Sequence[tuple[NewWork, Sequence[tuple[Fingerprint, str]]]],
        *,
        actor: Actor = CLI_ACTOR,
    ) -> list[WorkInfo]:
        """Add works with their fingerprints (fingerprint, media SHA-256) in one transaction:
        all of them or none."""
        with self._tx(write=True) as s:
            infos = self._add_works(s, holder, [w for w, _ in works], actor)
            for info, (_, fps) in zip(infos, works, strict=True):
                for fp, sha in fps:
                    self._add_fingerprint(s, info.id, fp, sha, actor)
            return [
                self._work_info(self._work(s, i.id), i.holder, [fp.modality.value for fp, _ in fps])
                for i, (_, fps) in zip(infos, works, strict=True)
            ]

    @staticmethod
    def _work_info(row: Work, holder_name: str, modalities: Sequence[str]) -> WorkInfo:
        return WorkInfo(
            id=row.public_id,
            holder=holder_name,
            kind=WorkKind(row.kind),
            title=row.title,
            artists=tuple(_load_list(row.artists)),
            isrc=row.isrc,
            iswc=row.iswc,
            upc=row.upc,
            iscc=row.iscc,
            modalities=tuple(sorted(set(modalities))),
            extra=tuple(sorted(_load_extra(row.extra).items())),
            removed_on=row.removed_on,
        )

    def _work(self, s: Session, ref: str) -> Work:
        row = s.execute(select(Work).where(Work.public_id == str(ref))).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"no work with id {ref!r}", where="work")
        return row

    def _modalities(self, s: Session, work_pks: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        if not work_pks:
            return out
        for pk, modality in s.execute(
            select(FingerprintRow.work_id, FingerprintRow.modality).where(
                FingerprintRow.work_id.in_(work_pks), FingerprintRow.superseded_at.is_(None)
            )
        ):
            out.setdefault(pk, []).append(modality)
        return out

    def get_work(self, ref: str) -> WorkInfo:
        with self._tx() as s:
            row = self._work(s, ref)
            holder = s.get(Holder, row.holder_id)
            assert holder is not None
            mods = self._modalities(s, [row.id]).get(row.id, [])
            return self._work_info(row, holder.name, mods)

    def find_works(self, *, isrc: str | None = None, iswc: str | None = None) -> list[WorkInfo]:
        """Works with this ISRC or ISWC (normalised first), oldest first."""
        code_isrc = normalise_isrc(isrc) if isrc is not None else None
        code_iswc = normalise_iswc(iswc) if iswc is not None else None
        if code_isrc is None and code_iswc is None:
            raise InputError("name an ISRC or an ISWC", where="isrc")
        with self._tx() as s:
            query = select(Work, Holder.name).join(Holder, Holder.id == Work.holder_id)
            if code_isrc is not None:
                query = query.where(Work.isrc == code_isrc)
            if code_iswc is not None:
                query = query.where(Work.iswc == code_iswc)
            rows = list(s.execute(query.order_by(Work.id)))
            mods = self._modalities(s, [w.id for w, _ in rows])
            return [self._work_info(w, name, mods.get(w.id, [])) for w, name in rows]

    def list_works(
        self, holder: str | None = None, *, include_removed: bool = False
    ) -> list[WorkInfo]:
        with self._tx() as s:
            query = select(Work, Holder.name).join(Holder, Holder.id == Work.holder_id)
            if holder is not None:
                query = query.where(Work.holder_id == self._holder(s, holder).id)
            if not include_removed:
                query = query.where(Work.removed_on.is_(None))
            rows = list(s.execute(query.order_by(Work.id)))
            mods = self._modalities(s, [w.id for w, _ in rows])
            return [self._work_info(w, name, mods.get(w.id, [])) for w, name in rows]

    def _own_work(self, s: Session, holder: str, ref: str) -> tuple[Holder, Work]:
        h = self._holder(s, holder)
        row = self._work(s, ref)
        if row.holder_id != h.id:  # the same answer as a missing work: no probing of others'
            raise NotFoundError(f"no work with id {ref!r} of {h.name}", where="work")
        return h, row

    def update_work(
        self,
        holder: str,
        ref: str,
        work: NewWork,
        fingerprints: Sequence[tuple[Fingerprint, str]] = (),
        *,
        actor: Actor = CLI_ACTOR,
    ) -> tuple[WorkInfo, dict[str, object]]:
        """Replace a work's metadata with ``work``'s and, for each (fingerprint, media SHA-256)
        given, its fingerprint of that modality (the old one is kept, marked superseded). A
        removed work is restored. Returns the new state and the changes (field -> [old, new]);
        nothing changed means no audit entry."""
        with self._tx(write=True) as s:
            return self._update_work(s, holder, ref, work, fingerprints, actor)

    def remove_work(
        self, holder: str, ref: str, *, on: date, actor: Actor = CLI_ACTOR
    ) -> WorkInfo:
        """Take a work out of the catalogue from ``on``: it leaves the index, while decisions
        at earlier dates and the audit log still see it."""
        with self._tx(write=True) as s:
            return self._remove_work(s, holder, ref, on, actor)

    def apply_catalogue(
        self,
        holder: str,
        *,
        add: Sequence[tuple[NewWork, Sequence[tuple[Fingerprint, str]]]] = (),
        update: Sequence[tuple[NewWork, Sequence[tuple[Fingerprint, str]]]] = (),
        remove: Sequence[str] = (),
        removed_on: date,
        actor: Actor = CLI_ACTOR,
    ) -> tuple[list[WorkInfo], list[WorkInfo], list[WorkInfo]]:
        """One catalogue re-import in one transaction (all of it or nothing): works added,
        updated (matched by their id) and removed. Returns (added, updated, removed)."""
        with self._tx(write=True) as s:
            added_infos = self._add_works(s, holder, [w for w, _ in add], actor)
            for info, (_, fps) in zip(added_infos, add, strict=True):
                for fp, sha in fps:
                    self._add_fingerprint(s, info.id, fp, sha, actor)
            added = [replace(i, modalities=tuple(sorted({fp.modality.value for fp, _ in fps})))
                     for i, (_, fps) in zip(added_infos, add, strict=True)]
            updated = []
            for w, fps in update:
                if w.external_id is None:
                    raise InputError("an update names the work's id", where=w.where or "id")
                updated.append(self._update_work(s, holder, w.external_id, w, fps, actor)[0])
            removed = [self._remove_work(s, holder, ref, removed_on, actor) for ref in remove]
            return added, updated, removed

    def _update_work(
        self,
        s: Session,
        holder: str,
        ref: str,
        work: NewWork,
        fingerprints: Sequence[tuple[Fingerprint, str]],
        actor: Actor,
    ) -> tuple[WorkInfo, dict[str, object]]:
        h, row = self._own_work(s, holder, ref)
        changes: dict[str, object] = {}
        for name, value in _work_columns(work).items():
            old = getattr(row, name)
            if old != value:
                changes[name] = [old, value]
                setattr(row, name, value)
        if row.removed_on is not None:
            changes["removed_on"] = [row.removed_on.isoformat(), None]
            row.removed_on = None
        current = self._current_fingerprints(s, [row.id]).get(row.id, {})
        for fp, sha in fingerprints:
            old_fp = current.get(fp.modality.value)
            if old_fp is not None and old_fp.source_sha256 == sha:
                continue
            if old_fp is not None:
                old_fp.superseded_at = _now()
            changes[f"fingerprint.{fp.modality.value}"] = [
                old_fp.source_sha256 if old_fp is not None else None, sha]
            self._add_fingerprint(s, row.public_id, fp, sha, actor)
        if changes:
            row.updated_at = _now()
            s.flush()
        info = self._work_info(row, h.name, self._modalities(s, [row.id]).get(row.id, []))
        if changes:
            audit.append(s, "work.update",
                         {"work": info.id, "changes": changes, "state": info.to_json()},
                         actor=actor.to_audit())
        return info, changes

    def _remove_work(self, s: Session, holder: str, ref: str, on: date, actor: Actor) -> WorkInfo:
        h, row = self._own_work(s, holder, ref)
        if row.removed_on is not None:
            raise ConflictError(f"work {ref!r} was removed already on {row.removed_on}",
                                where="work")
        row.removed_on = on
        row.updated_at = _now()
        s.flush()
        info = self._work_info(row, h.name, self._modalities(s, [row.id]).get(row.id, []))
        audit.append(s, "work.remove",
                     {"work": info.id, "removed_on": on.isoformat(), "state": info.to_json()},
                     actor=actor.to_audit())
        return info

    def _current_fingerprints(
        self, s: Session, work_pks: Sequence[int]
    ) -> dict[int, dict[str, FingerprintRow]]:
        out: dict[int, dict[str, FingerprintRow]] = {}
        if not work_pks:
            return out
        rows = s.execute(
            select(FingerprintRow).where(
                FingerprintRow.work_id.in_(work_pks), FingerprintRow.superseded_at.is_(None)
            ).order_by(FingerprintRow.id)
        ).scalars()
        for fp in rows:
            out.setdefault(fp.work_id, {})[fp.modality] = fp
        return out

    def media_digests(self, holder: str) -> dict[str, dict[str, str]]:
        """For each of the holder's works (removed ones too): modality -> SHA-256 of the media
        its current fingerprint came from (how a re-import sees that media changed)."""
        with self._tx() as s:
            h = self._holder(s, holder)
            works: dict[int, str] = {
                pk: public_id for pk, public_id in
                s.execute(select(Work.id, Work.public_id).where(Work.holder_id == h.id))
            }
            current = self._current_fingerprints(s, list(works))
            return {works[pk]: {m: fp.source_sha256 for m, fp in fps.items()}
                    for pk, fps in current.items()}

    # -- reservations and licences ----------------------------------------------------------
    def reserve(
        self,
        holder: str,
        *,
        uses: Iterable[Use],
        effective_from: date,
        effective_until: date | None = None,
        work_ids: Iterable[str] = (),
        purposes: Iterable[Purpose] = (),
        declared_at: str | None = None,
        exempt: bool = False,
        actor: Actor = CLI_ACTOR,
    ) -> ReservationInfo:
        use_set = _terms(uses, effective_from, effective_until)
        if declared_at is not None and len(declared_at) > 2000:
            raise InputError("at most 2,000 characters", where="declared_at")
        with self._tx(write=True) as s:
            h = self._holder(s, holder)
            works = self._own_works(s, h, work_ids)
            row = ReservationRow(
                holder_id=h.id,
                work_ids=_json_list(works),
                uses=json.dumps(use_set),
                purposes=_json_list(p.value for p in purposes),
                effective_from=effective_from,
                effective_until=effective_until,
                exempt=exempt,
                declared_at=declared_at,
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            info = self._reservation_info(row, h.name, None)
            audit.append(s, "reservation.add", info.to_json(), actor=actor.to_audit())
            return info

    def grant_licence(
        self,
        holder: str,
        *,
        licensee: str,
        uses: Iterable[Use],
        valid_from: date,
        valid_until: date | None = None,
        work_ids: Iterable[str] = (),
        purposes: Iterable[Purpose] = (),
        actor: Actor = CLI_ACTOR,
    ) -> LicenceInfo:
        if not licensee.strip():
            raise InputError("a licence needs a licensee", where="licensee")
        if len(licensee.strip()) > 300:
            raise InputError("a licensee has at most 300 characters", where="licensee")
        use_set = _terms(uses, valid_from, valid_until)
        with self._tx(write=True) as s:
            h = self._holder(s, holder)
            works = self._own_works(s, h, work_ids)
            row = LicenceRow(
                holder_id=h.id,
                licensee=licensee.strip(),
                work_ids=_json_list(works),
                uses=json.dumps(use_set),
                purposes=_json_list(p.value for p in purposes),
                valid_from=valid_from,
                valid_until=valid_until,
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            info = self._licence_info(row, h.name, None)
            audit.append(s, "licence.grant", info.to_json(), actor=actor.to_audit())
            return info

    def _own_works(self, s: Session, holder: Holder, work_ids: Iterable[str]) -> list[str]:
        """The ids, sorted and unique, after checking each names a work of ``holder``."""
        works = sorted(set(work_ids))
        for ref in works:
            if self._work(s, ref).holder_id != holder.id:
                raise PermissionDeniedError(f"work {ref!r} belongs to another holder", where="work")
        return works

    def revoke(
        self,
        entry_type: str,
        entry_id: int,
        *,
        on: date,
        note: str | None = None,
        holder: str | None = None,
        actor: Actor = CLI_ACTOR,
    ) -> None:
        """Revoke a reservation or a licence from ``on`` (a new dated entry). With ``holder``,
        the entry must be that holder's (else :class:`PermissionDeniedError`)."""
        if entry_type not in ("reservation", "licence"):
            raise InputError(f"cannot revoke a {entry_type!r}", where="entry")
        if note is not None and len(note) > 2000:
            raise InputError("at most 2,000 characters", where="note")
        with self._tx(write=True) as s:
            entry: ReservationRow | LicenceRow | None = None
            if 0 < entry_id < 2**31:
                entry = (
                    s.get(ReservationRow, entry_id)
                    if entry_type == "reservation"
                    else s.get(LicenceRow, entry_id)
                )
            if entry is None:
                raise NotFoundError(f"no {entry_type} {entry_id}", where=entry_type)
            owner = entry.holder_id
            if holder is not None and owner != self._holder(s, holder).id:
                raise PermissionDeniedError(
                    f"{entry_type} {entry_id} belongs to another holder", where=entry_type
                )
            rev = Revocation(
                entry_type=entry_type,
                entry_id=entry_id,
                revoked_on=on,
                note=note,
                created_at=_now(),
            )
            s.add(rev)
            s.flush()
            audit.append(
                s,
                f"{entry_type}.revoke",
                {"entry": entry_id, "revoked_on": on.isoformat(), "note": note,
                 "revocation": rev.id, "type": entry_type},
                actor=actor.to_audit(),
            )

    def _revocations(self, s: Session, entry_type: str) -> dict[int, date]:
        out: dict[int, date] = {}
        for rev in s.execute(
            select(Revocation).where(Revocation.entry_type == entry_type)
        ).scalars():
            prev = out.get(rev.entry_id)
            out[rev.entry_id] = rev.revoked_on if prev is None else min(prev, rev.revoked_on)
        return out

    @staticmethod
    def _reservation_info(
        row: ReservationRow, holder: str, revoked: date | None
    ) -> ReservationInfo:
        return ReservationInfo(
            id=row.id,
            holder=holder,
            uses=tuple(Use(u) for u in _load_list(row.uses)),
            purposes=tuple(Purpose(p) for p in _load_list(row.purposes)),
            work_ids=tuple(_load_list(row.work_ids)),
            effective_from=row.effective_from,
            effective_until=row.effective_until,
            exempt=row.exempt,
            declared_at=row.declared_at,
            revoked_on=revoked,
        )

    @staticmethod
    def _licence_info(row: LicenceRow, holder: str, revoked: date | None) -> LicenceInfo:
        return LicenceInfo(
            id=row.id,
            holder=holder,
            licensee=row.licensee,
            uses=tuple(Use(u) for u in _load_list(row.uses)),
            purposes=tuple(Purpose(p) for p in _load_list(row.purposes)),
            work_ids=tuple(_load_list(row.work_ids)),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            revoked_on=revoked,
        )

    def reservations(self, holder: str | None = None) -> list[ReservationInfo]:
        with self._tx() as s:
            revoked = self._revocations(s, "reservation")
            query = select(ReservationRow, Holder.name).join(
                Holder, Holder.id == ReservationRow.holder_id
            )
            if holder is not None:
                query = query.where(ReservationRow.holder_id == self._holder(s, holder).id)
            return [
                self._reservation_info(r, name, revoked.get(r.id))
                for r, name in s.execute(query.order_by(ReservationRow.id))
            ]

    def licences(self, holder: str | None = None) -> list[LicenceInfo]:
        with self._tx() as s:
            revoked = self._revocations(s, "licence")
            query = select(LicenceRow, Holder.name).join(Holder, Holder.id == LicenceRow.holder_id)
            if holder is not None:
                query = query.where(LicenceRow.holder_id == self._holder(s, holder).id)
            return [
                self._licence_info(r, name, revoked.get(r.id))
                for r, name in s.execute(query.order_by(LicenceRow.id))
            ]

    def facts(self) -> dict[str, PolicyFacts]:
        """Policy facts of every holder, keyed by holder name."""
        out: dict[str, tuple[list[Reservation], list[Licence]]] = {
            h.name: ([], []) for h in self.list_holders()
        }
        for r in self.reservations():
            out[r.holder][0].append(
                Reservation(
                    id=r.id,
                    holder=r.holder,
                    uses=frozenset(r.uses),
                    effective_from=r.effective_from,
                    effective_until=r.effective_until,
                    work_ids=frozenset(r.work_ids),
                    purposes=frozenset(r.purposes),
                    exempt=r.exempt,
                    revoked_on=r.revoked_on,
                    declared_at=r.declared_at,
                )
            )
        for lic in self.licences():
            out[lic.holder][1].append(
                Licence(
                    id=lic.id,
                    holder=lic.holder,
                    licensee=lic.licensee,
                    uses=frozenset(lic.uses),
                    valid_from=lic.valid_from,
                    valid_until=lic.valid_until,
                    work_ids=frozenset(lic.work_ids),
                    purposes=frozenset(lic.purposes),
                    revoked_on=lic.revoked_on,
                )
            )
        return {
            name: PolicyFacts(name, tuple(res), tuple(lics)) for name, (res, lics) in out.items()
        }

    # -- fingerprints ---------------------------------------------------------------------
    def add_fingerprint(
        self, work: str, fp: Fingerprint, *, source_sha256: str, actor: Actor = CLI_ACTOR
    ) -> int:
        with self._tx(write=True) as s:
            return self._add_fingerprint(s, work, fp, source_sha256, actor)

    def _add_fingerprint(
        self, s: Session, work: str, fp: Fingerprint, source_sha256: str, actor: Actor
    ) -> int:
        row_work = self._work(s, work)
        row = FingerprintRow(
            work_id=row_work.id,
            modality=fp.modality.value,
            engine=fp.engine,
            n_hashes=len(fp),
            source_sha256=source_sha256,
            data=fp.to_bytes(),
            created_at=_now(),
        )
        s.add(row)
        s.flush()
        audit.append(
            s,
            "fingerprint.add",
            {
                "fingerprint": row.id,
                "work": row_work.public_id,
                "modality": fp.modality.value,
                "engine": fp.engine,
                "hashes": len(fp),
                "source_sha256": source_sha256,
                "data_sha256": hashlib.sha256(row.data).hexdigest(),
            },
            actor=actor.to_audit(),
        )
        return row.id

    def count_fingerprints(self, modality: Modality) -> int:
        with self._tx() as s:
            query = (
                select(func.count()).select_from(FingerprintRow)
                .join(Work, Work.id == FingerprintRow.work_id)
                .where(FingerprintRow.modality == modality.value,
                       FingerprintRow.superseded_at.is_(None), Work.removed_on.is_(None))
            )
            return int(s.execute(query).scalar_one())

    def fingerprints(self, modality: Modality) -> Iterator[tuple[str, Fingerprint]]:
        """The current fingerprint of ``modality`` of every work in the catalogue (not removed,
        not superseded) as (work id, fingerprint), in row order."""
        with self._tx() as s:
            query = (
                select(Work.public_id, FingerprintRow.data, FingerprintRow.id)
                .join(Work, Work.id == FingerprintRow.work_id)
                .where(FingerprintRow.modality == modality.value,
                       FingerprintRow.superseded_at.is_(None), Work.removed_on.is_(None))
                .order_by(FingerprintRow.id)
            )
            for public_id, data, fid in s.execute(query).yield_per(256):
                yield public_id, Fingerprint.from_bytes(data, where=f"fingerprint {fid}")

    # -- API keys -------------------------------------------------------------------------
    def create_api_key(
        self,
        *,
        name: str,
        scope: Scope,
        holder: str | None = None,
        actor: Actor = CLI_ACTOR,
    ) -> tuple[ApiKeyInfo, str]:
        """A new key; returns its info and the full key text (shown once, never stored:
        only the SHA-256 of its secret is kept). A write key needs a holder."""
        name = name.strip()
        if not name or len(name) > 300:
            raise InputError("a key needs a name of 1 to 300 characters", where="name")
        if scope is Scope.WRITE and holder is None:
            raise InputError("a write key acts for a holder: name it", where="holder")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self._tx(write=True) as s:
            h = self._holder(s, holder) if holder is not None else None
            row = ApiKey(
                id=key_id,
                name=name,
                scope=scope.value,
                holder_id=h.id if h is not None else None,
                secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                created_at=_now(),
                revoked_at=None,
            )
            s.add(row)
            s.flush()
            info = ApiKeyInfo(key_id, name, scope, h.name if h else None, row.created_at, None)
            audit.append(
                s,
                "apikey.create",
                {"key": key_id, "name": name, "scope": scope.value, "holder": info.holder},
                actor=actor.to_audit(),
            )
        return info, f"{_KEY_PREFIX}_{key_id}_{secret}"

    def list_api_keys(self) -> list[ApiKeyInfo]:
        with self._tx() as s:
            rows = s.execute(
                select(ApiKey, Holder.name)
                .outerjoin(Holder, Holder.id == ApiKey.holder_id)
                .order_by(ApiKey.created_at, ApiKey.id)
            )
            return [self._key_info(k, name) for k, name in rows]

    @staticmethod
    def _key_info(row: ApiKey, holder: str | None) -> ApiKeyInfo:
        return ApiKeyInfo(
            row.id, row.name, Scope(row.scope), holder, row.created_at, row.revoked_at
        )

    def revoke_api_key(self, key_id: str, *, actor: Actor = CLI_ACTOR) -> ApiKeyInfo:
        with self._tx(write=True) as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise NotFoundError(f"no API key {key_id!r}", where="key")
            if row.revoked_at is None:
                row.revoked_at = _now()
                s.flush()
                audit.append(s, "apikey.revoke", {"key": key_id}, actor=actor.to_audit())
            holder = s.get(Holder, row.holder_id) if row.holder_id is not None else None
            return self._key_info(row, holder.name if holder else None)

    def authenticate(self, key: str) -> Actor:
        """The actor an API key stands for; :class:`AuthenticationError` for a malformed,
        unknown or revoked key (one message for all three: nothing to probe)."""
        prefix, _, rest = key.strip().partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != _KEY_PREFIX or not key_id or not secret or len(key) > 200:
            raise AuthenticationError("invalid or revoked API key", where="Authorization")
        with self._tx() as s:
            row = s.get(ApiKey, key_id)
            digest = hashlib.sha256(secret.encode()).hexdigest()
            if (
                row is None
                or row.revoked_at is not None
                or not hmac.compare_digest(row.secret_sha256, digest)
            ):
                raise AuthenticationError("invalid or revoked API key", where="Authorization")
            holder = s.get(Holder, row.holder_id) if row.holder_id is not None else None
            return Actor(
                name=row.name,
                scope=Scope(row.scope),
                holder=holder.name if holder else None,
                key_id=row.id,
            )

    # -- audit ----------------------------------------------------------------------------
    def audit_entries(
        self, *, after_seq: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries with ``seq > after_seq`` in order, at most ``limit`` of them."""
        with self._tx() as s:
            query = select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.id)
            if limit is not None:
                query = query.limit(limit)
            return [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "action": e.action,
                    "payload": json.loads(e.payload),
                    "hash": e.hash,
                }
                for e in s.execute(query).scalars()
            ]

    # -- catalogue search and a work's history (the web app, the API, the CLI) ------------
    def search_works(
        self,
        holder: str | None,
        query: str = "",
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[WorkInfo], int]:
        """Works (of ``holder``, or of every holder) whose id, title, artists, ISRC or ISWC
        contain every word of ``query`` (case-insensitive; identifiers also without their
        hyphens and dots), oldest first: one page (``limit`` from ``offset``) and the
        total count. Removed works are left out. Done in SQL: only the page is loaded."""
        sqlite = self.engine.dialect.name == "sqlite"
        fold = func.tdm_fold if sqlite else func.lower
        from sqlalchemy.dialects.postgresql import JSONB  # imported for PostgreSQL only
        # artists are JSON text with non-ASCII letters as \\u escapes: decode them before
        # folding case (SQLite: our function; PostgreSQL: jsonb's text form is unescaped)
        artists = (func.tdm_fold_names(Work.artists) if sqlite
                   else func.lower(cast(cast(Work.artists, JSONB), Text)))
        conditions: list[Any] = [Work.removed_on.is_(None)]
        for word in query.split()[:20]:
            term = word.lower()
            code = re.sub(r"[\s.\-]", "", word).upper()
            either: list[Any] = [
                fold(Work.public_id).contains(term, autoescape=True),
                fold(Work.title).contains(term, autoescape=True),
                artists.contains(term, autoescape=True),
            ]
            if code:
                either += [Work.isrc.contains(code, autoescape=True),
                           Work.iswc.contains(code, autoescape=True)]
            conditions.append(or_(*either))
        with self._tx() as s:
            if holder is not None:
                conditions.append(Work.holder_id == self._holder(s, holder).id)
            total = int(s.execute(select(func.count(Work.id)).where(*conditions)).scalar_one())
            page = (select(Work, Holder.name).join(Holder, Holder.id == Work.holder_id)
                    .where(*conditions).order_by(Work.id).offset(max(0, offset)))
            if limit is not None:
                page = page.limit(max(0, limit))
            rows = list(s.execute(page))
            mods = self._modalities(s, [w.id for w, _ in rows])
            return [self._work_info(w, name, mods.get(w.id, [])) for w, name in rows], total

    def modality_counts(
        self,
        holder: str | None,
        *,
        holders: Iterable[str] | None = None,
        work_ids: Iterable[str] | None = None,
    ) -> dict[str, int]:
        """Current works per fingerprinted modality (of ``holder``, or of every holder);
        with ``holders`` and/or ``work_ids``, only the works of those holders or with those
        ids."""
        conditions: list[Any] = [Work.removed_on.is_(None),
                                 FingerprintRow.superseded_at.is_(None)]
        with self._tx() as s:
            if holder is not None:
                conditions.append(Work.holder_id == self._holder(s, holder).id)
            if holders is not None or work_ids is not None:
                among: list[Any] = []
                names = sorted(set(holders or ()))
                ids = sorted(set(work_ids or ()))
                if names:
                    among.append(Work.holder_id.in_(
                        select(Holder.id).where(Holder.name.in_(names))))
                if ids:
                    among.append(Work.public_id.in_(ids))
                if not among:
                    return {}
                conditions.append(or_(*among))
            query = (select(FingerprintRow.modality, func.count(func.distinct(Work.id)))
                     .join(Work, Work.id == FingerprintRow.work_id)
                     .where(*conditions).group_by(FingerprintRow.modality))
            return {str(m): int(n) for m, n in s.execute(query)}

    def work_history(self, ref: str) -> list[dict[str, Any]]:
        """The audit entries about one work, in order: its registration, updates, removal
        and fingerprints, the reservations and licences that name it or its whole holder,
        and their revocations. SQL narrows the log by the work's id (a text match on the
        canonical payload); each candidate is then checked exactly."""
        with self._tx() as s:
            row = self._work(s, ref)
            holder = s.get(Holder, row.holder_id)
            assert holder is not None
            wid, hname = row.public_id, holder.name
            quoted = json.dumps(wid, ensure_ascii=False)
            terms = ("reservation.add", "licence.grant")
            found = list(s.execute(select(AuditEntry).where(
                AuditEntry.action.in_(("work.add", "work.update", "work.remove",
                                       "fingerprint.add", *terms)),
                or_(AuditEntry.payload.contains(quoted, autoescape=True),
                    and_(AuditEntry.action.in_(terms),
                         AuditEntry.payload.contains('"works":[]', autoescape=True),
                         AuditEntry.payload.contains(
                             '"holder":' + json.dumps(hname, ensure_ascii=False),
                             autoescape=True))),
            ).order_by(AuditEntry.seq)).scalars())
            out: list[tuple[AuditEntry, dict[str, Any]]] = []
            entries: dict[str, set[int]] = {"reservation": set(), "licence": set()}
            for e in found:
                p = json.loads(e.payload)
                if e.action in terms:
                    works = p.get("works") or []
                    if p.get("holder") != hname or (works and wid not in works):
                        continue
                    entries["licence" if e.action == "licence.grant" else "reservation"].add(
                        int(p["id"]))
                elif (p.get("id") if e.action == "work.add" else p.get("work")) != wid:
                    continue
                out.append((e, p))
            ids = sorted(entries["reservation"] | entries["licence"])
            for start in range(0, len(ids), 200):
                chunk = ids[start : start + 200]
                for e in s.execute(select(AuditEntry).where(
                    AuditEntry.action.in_(("reservation.revoke", "licence.revoke")),
                    or_(*(AuditEntry.payload.contains(f'"entry":{i},', autoescape=True)
                          for i in chunk)),
                )).scalars():
                    p = json.loads(e.payload)
                    if int(p.get("entry", -1)) in entries.get(str(p.get("type")), set()):
                        out.append((e, p))
            out.sort(key=lambda pair: pair[0].seq)
            return [{"seq": e.seq, "at": e.at, "action": e.action, "payload": p, "hash": e.hash}
                    for e, p in out]

    def verify(self, *, pin: tuple[int | None, str] | None = None) -> VerifyResult:
        """Check the audit chain, then (with ``pin`` = (seq or None, hash)) that the chain
        still holds that entry, then replay the log and compare every decision-relevant table
        with it (:mod:`tdmguard.registry.replay`): the first failure is named."""
        with self._tx() as s:
            entries = list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
            chain = audit.verify_chain(entries)
            head_seq = entries[-1].seq if entries else 0
            head = entries[-1].hash if entries else audit.GENESIS
            pin_text = None
            if pin is not None:
                pin_text = f"{pin[0]}:{pin[1]}" if pin[0] is not None else pin[1]
            if not chain.ok:
                return dataclasses.replace(chain, head_seq=head_seq, head=head, pin=pin_text)
            if pin is not None:
                problem = audit.check_pin(entries, pin[0], pin[1])
                if problem is not None:
                    return VerifyResult(False, len(entries), pin[0], problem,
                                        head_seq=head_seq, head=head, pin=pin_text)
            try:
                actual = replay.actual_state(s, local_only=True)
            except (ValueError, TypeError, SQLAlchemyError) as exc:
                return VerifyResult(
                    False, len(entries), None,
                    f"a registry table holds a value tdmguard cannot read ({exc}): it was "
                    "written outside tdmguard", head_seq=head_seq, head=head, pin=pin_text)
            diffs = replay.compare(replay.expected_state(entries), actual,
                                   skip=replay.mirrored_keys(s))
            rows = sum(len(t) for t in actual.values())
            if diffs:
                first = diffs[0]
                return VerifyResult(
                    False, len(entries), None,
                    first.message + (f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""),
                    table=first.table, row=first.row, field=first.field, rows=rows,
                    differences=tuple(d.to_json() for d in diffs),
                    head_seq=head_seq, head=head, pin=pin_text)
            return VerifyResult(True, len(entries), rows=rows, head_seq=head_seq, head=head,
                                pin=pin_text)

    def content_digest(self) -> str:
        """SHA-256 over the decision-relevant tables (holders, works, reservations, licences,
        revocations, current fingerprints' data digests; mirrored rows included), as
        canonical JSON: what a decision used, unlike :meth:`state_digest` (the audit head),
        this changes when a row is edited outside tdmguard. Reads every row: call it once
        per scan, not per request."""
        with self._tx() as s:
            return replay.content_digest(replay.actual_state(s, local_only=False))

    def head(self) -> tuple[int, str]:
        """The audit chain's last entry as (seq, hash); (0, GENESIS) when empty: what a
        publisher pins (``registry verify --pin SEQ:HASH``)."""
        with self._tx() as s:
            last = s.execute(
                select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
            ).first()
        return (int(last[0]), str(last[1])) if last is not None else (0, audit.GENESIS)

    def state_digest(self) -> str:
        """Digest of the registry state a decision used: the head of the audit chain (every
        change is in the chain, so equal heads mean equal registries)."""
        # A plain connection, not an ORM session: the server reads this once per request
        # (0.3 instead of 1 ms of CPU on SQLite).
        try:
            with self.engine.connect() as conn:
                last = conn.execute(_HEAD).scalar_one_or_none()
        except OperationalError as exc:
            raise RegistryError(f"database error ({exc.orig})") from exc
        return str(last) if last is not None else audit.GENESIS


_HEAD = select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)


def _safe_url(url: str) -> str:
    """A database URL with its password masked, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling would begin lazily (at the first write, after
    # reads: a lost race then fails at once instead of waiting); _sqlite_begin begins instead.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    enable_wal(cur, 10.0)  # as busy_timeout: another process may be opening a new file
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    # Unicode lower case for catalogue search (SQLite's own lower() knows ASCII only).
    dbapi_conn.create_function("tdm_fold", 1, _fold, deterministic=True)
    dbapi_conn.create_function("tdm_fold_names", 1, _fold_names, deterministic=True)


def _fold(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _fold_names(value: object) -> object:
    """A JSON list of names as one lower-case text, one name a line (for search)."""
    if not isinstance(value, str):
        return value
    try:
        names = json.loads(value)
    except ValueError:
        return value.lower()
    if not isinstance(names, list):
        return value.lower()
    return "\n".join(str(n) for n in names).lower()


def _sqlite_begin(conn: Connection) -> None:
    """Write transactions begin IMMEDIATE: they take SQLite's write lock at once (waiting up
    to the busy timeout), so concurrent writers queue instead of failing mid-transaction."""
    immediate = conn.get_execution_options().get("tdmguard_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
