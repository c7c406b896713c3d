"""The registry's use cases, one function each, shared by every edge (CLI, HTTP API, web
pages). Each takes the acting :class:`~tdmguard.registry.values.Actor` explicitly and checks
what it may do here, so no edge can skip an authorisation rule.

Rules:

- ``admin`` (operators, the local CLI) may do everything, naming the holder it acts for;
- a ``write`` key acts for its own holder only: naming another holder, or revoking another
  holder's reservation or licence, raises :class:`PermissionDeniedError`;
- a ``read`` key (an AI developer, a platform) reads public terms (holders, works,
  reservations) and calls decide and identify; it cannot write, and sees no licences;
- every change is one registry transaction with its audit entry naming the actor; media is
  fingerprinted before the transaction and only fingerprints are kept; the index is appended
  after the commit (see ``registry/matching.py`` for why that order is safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tdmguard.config import Settings
from tdmguard.errors import InputError, NotFoundError, PermissionDeniedError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import get_engine
from tdmguard.policy import PolicyFacts, decide
from tdmguard.registry.catalogue import fingerprint_media, read_catalogue
from tdmguard.registry.matching import IndexStats, Matcher, append_to_index, rebuild_index
from tdmguard.registry.store import NewWork, Registry
from tdmguard.registry.values import (
    Actor,
    ApiKeyInfo,
    HolderInfo,
    LicenceInfo,
    ReservationInfo,
    Scope,
    VerifyResult,
    WorkInfo,
)
from tdmguard.vocab import Decision, Match, Modality, Purpose, Use

__all__ = ["DecideResult", "IdentifyResult", "RegistryService", "WorkDetail"]


@dataclass(frozen=True, slots=True)
class WorkDetail:
    """A work with the reservations and licences that name it or its holder."""

    work: WorkInfo
    reservations: tuple[ReservationInfo, ...]
    licences: tuple[LicenceInfo, ...]

    def to_json(self) -> dict[str, object]:
        return self.work.to_json() | {
            "reservations": [r.to_json() for r in self.reservations],
            "licences": [lic.to_json() for lic in self.licences],
        }


@dataclass(frozen=True, slots=True)
class DecideResult:
    work: WorkInfo
    decision: Decision
    use: Use
    purpose: Purpose
    actor: str
    at: date

    def to_json(self) -> dict[str, object]:
        """The JSON of ``tdmguard decide --json``."""
        return {
            "decision": self.decision.kind.value,
            "reasons": [r.to_json() for r in self.decision.reasons],
            "work": self.work.id,
            "holder": self.work.holder,
        }


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    """Matches of one file, each with the registered work's holder and title, and, when a
    use was asked about, the decision for it."""

    modality: Modality
    matches: tuple[dict[str, object], ...]

    def to_json(self) -> dict[str, object]:
        return {"modality": self.modality.value, "matches": list(self.matches)}


class RegistryService:
    """The use cases over one registry and its index. Long-lived edges (a server worker)
    keep one: it caches opened indexes (reopened when they change), works (never changed
    once registered), and the policy facts and key look-ups of one registry state: each is
    stored with the audit head read *before* it was loaded, and used only while the head is
    still that one, so a change (a revoked key, a new reservation) counts from the next
    request on."""

    def __init__(self, registry: Registry, index_dir: Path, *, research_exception: bool) -> None:
        self.registry = registry
        self.index_dir = index_dir
        self.research_exception = research_exception
        self._lock = threading.Lock()
        self._matchers: dict[Modality, Matcher] = {}
        self._facts: tuple[str, dict[str, PolicyFacts]] | None = None
        self._works: dict[str, WorkInfo] = {}
        self._keys: dict[str, tuple[str, Actor]] = {}

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False) -> RegistryService:
        return cls(
            Registry.open(settings.db_url, create=create),
            settings.index_dir,
            research_exception=settings.research_exception,
        )

    def close(self) -> None:
        self.registry.close()

    # -- authorisation ---------------------------------------------------------------------
    @staticmethod
    def require_admin(actor: Actor) -> None:
        if actor.scope is not Scope.ADMIN:
            raise PermissionDeniedError("this needs an admin key", where="Authorization")

    def _acting_holder(self, actor: Actor, holder: str | None) -> str:
        """The holder a change is made for: the key's own holder for a write key (naming
        another is refused), the named one for an admin. Returns the holder's name."""
        if actor.scope is Scope.READ:
            raise PermissionDeniedError("a read key cannot change the registry", where="scope")
        if actor.scope is Scope.WRITE:
            if actor.holder is None:
                raise PermissionDeniedError("this key acts for no holder", where="holder")
            if holder is not None and self.registry.get_holder(holder).name != actor.holder:
                raise PermissionDeniedError(
                    f"this key acts for {actor.holder!r}, not for {holder!r}", where="holder"
                )
            return actor.holder
        if holder is None:
            raise InputError("name the holder to act for", where="holder")
        return self.registry.get_holder(holder).name

    def _may_see_licences(self, actor: Actor, holder: str) -> bool:
        return actor.scope is Scope.ADMIN or (
            actor.scope is Scope.WRITE and actor.holder == holder
        )

    # -- cached state ----------------------------------------------------------------------
    def authenticate(self, key: str, *, head: str | None = None) -> Actor:
        """The actor of an API key (cached per registry state: creating or revoking a key
        moves the audit head, so a revoked key is refused from the next request on).
        ``head``: the state digest the caller just read (one query per request)."""
        head = head or self.registry.state_digest()
        cached = self._keys.get(key)
        if cached is not None and cached[0] == head:
            return cached[1]
        actor = self.registry.authenticate(key)
        if len(self._keys) >= 10_000:
            self._keys.clear()
        self._keys[key] = (head, actor)
        return actor

    def _facts_of(self, holder: str, head: str | None = None) -> PolicyFacts:
        head = head or self.registry.state_digest()
        cached = self._facts
        if cached is None or cached[0] != head:
            cached = (head, self.registry.facts())
            self._facts = cached
        return cached[1].get(holder, PolicyFacts(holder))

    # -- holders ---------------------------------------------------------------------------
    def add_holder(self, actor: Actor, name: str, *, contact: str | None = None) -> HolderInfo:
        self.require_admin(actor)
        return self.registry.add_holder(name, contact=contact, actor=actor)

    def list_holders(self, actor: Actor) -> list[HolderInfo]:
        return self.registry.list_holders()

    def get_holder(self, actor: Actor, ref: str) -> HolderInfo:
        return self.registry.get_holder(ref)

    # -- works -----------------------------------------------------------------------------
    def register_work(
        self,
        actor: Actor,
        holder: str | None,
        work: NewWork,
        media: Sequence[tuple[Modality, Path]] = (),
    ) -> WorkInfo:
        """Fingerprint ``media`` (only fingerprints are kept), store the work with its
        fingerprints in one transaction, then append them to the index."""
        name = self._acting_holder(actor, holder)
        modalities = [m for m, _ in media]
        if len(set(modalities)) != len(modalities):
            raise InputError("one media file per modality", where="media")
        fps = fingerprint_media(media)
        info = self.registry.import_works(name, [(work, fps)], actor=actor)[0]
        self._append([(info, fps)])
        return info

    def import_catalogue(
        self,
        actor: Actor,
        holder: str | None,
        catalogue: Path,
        *,
        media_root: Path | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[WorkInfo]:
        """Import a catalogue file (every row validated and every media fingerprinted before
        anything is written: all rows or none). ``on_progress(done, total)`` after each
        media file. ``media_root``: see :func:`~tdmguard.registry.catalogue.read_catalogue`."""
        name = self._acting_holder(actor, holder)
        rows = read_catalogue(catalogue, media_root=media_root)
        total = sum(len(r.media) for r in rows)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if on_progress is not None:
                on_progress(done, total)

        items = [
            (row.work, fingerprint_media(row.media, where=row.where, on_done=tick))
            for row in rows
        ]
        infos = self.registry.import_works(name, items, actor=actor)
        self._append([(info, fps) for info, (_, fps) in zip(infos, items, strict=True)])
        return infos

    def _append(self, items: Iterable[tuple[WorkInfo, Sequence[tuple[Fingerprint, str]]]]) -> None:
        by_modality: dict[Modality, list[tuple[str, Fingerprint]]] = {}
        for info, fps in items:
            for fp, _sha in fps:
                by_modality.setdefault(fp.modality, []).append((info.id, fp))
        for modality, pairs in by_modality.items():
            append_to_index(self.index_dir, get_engine(modality), pairs)

    def list_works(self, actor: Actor, holder: str | None = None) -> list[WorkInfo]:
        return self.registry.list_works(holder)

    def get_work(self, actor: Actor, work_id: str) -> WorkInfo:
        info = self._works.get(work_id)
        if info is None:
            info = self.registry.get_work(work_id)
            if len(self._works) >= 100_000:
                self._works.clear()
            self._works[work_id] = info
        return info

    def show_work(self, actor: Actor, work_id: str) -> WorkDetail:
        info = self.registry.get_work(work_id)
        reservations = tuple(
            r
            for r in self.registry.reservations(info.holder)
            if not r.work_ids or info.id in r.work_ids
        )
        licences: tuple[LicenceInfo, ...] = ()
        if self._may_see_licences(actor, info.holder):
            licences = tuple(
                lic
                for lic in self.registry.licences(info.holder)
                if not lic.work_ids or info.id in lic.work_ids
            )
        return WorkDetail(info, reservations, licences)

    # -- reservations and licences ---------------------------------------------------------
    def reserve(
        self,
        actor: Actor,
        holder: str | None,
        *,
        uses: Sequence[Use],
        effective_from: date,
        effective_until: date | None = None,
        work_ids: Sequence[str] = (),
        purposes: Sequence[Purpose] = (),
        declared_at: str | None = None,
        exempt: bool = False,
    ) -> ReservationInfo:
        name = self._acting_holder(actor, holder)
        return self.registry.reserve(
            name,
            uses=uses,
            effective_from=effective_from,
            effective_until=effective_until,
            work_ids=work_ids,
            purposes=purposes,
            declared_at=declared_at,
            exempt=exempt,
            actor=actor,
        )

    def revoke_reservation(
        self, actor: Actor, reservation_id: int, *, on: date, holder: str | None = None
    ) -> None:
        """End a reservation from ``on``. A write key may end only its holder's; an admin
        naming ``holder`` has that checked too."""
        owner = None if actor.scope is Scope.ADMIN and holder is None else (
            self._acting_holder(actor, holder)
        )
        self.registry.revoke("reservation", reservation_id, on=on, holder=owner, actor=actor)

    def list_reservations(self, actor: Actor, holder: str | None = None) -> list[ReservationInfo]:
        return self.registry.reservations(holder)

    def grant_licence(
        self,
        actor: Actor,
        holder: str | None,
        *,
        licensee: str,
        uses: Sequence[Use],
        valid_from: date,
        valid_until: date | None = None,
        work_ids: Sequence[str] = (),
        purposes: Sequence[Purpose] = (),
    ) -> LicenceInfo:
        name = self._acting_holder(actor, holder)
        return self.registry.grant_licence(
            name,
            licensee=licensee,
            uses=uses,
            valid_from=valid_from,
            valid_until=valid_until,
            work_ids=work_ids,
            purposes=purposes,
            actor=actor,
        )

    def revoke_licence(
        self, actor: Actor, licence_id: int, *, on: date, holder: str | None = None
    ) -> None:
        owner = None if actor.scope is Scope.ADMIN and holder is None else (
            self._acting_holder(actor, holder)
        )
        self.registry.revoke("licence", licence_id, on=on, holder=owner, actor=actor)

    def list_licences(self, actor: Actor, holder: str | None = None) -> list[LicenceInfo]:
        """Licences the actor may see: all for an admin, its holder's for a write key,
        none for a read key (licensees and terms are the holder's business)."""
        if actor.scope is Scope.ADMIN:
            return self.registry.licences(holder)
        if actor.scope is Scope.WRITE and actor.holder is not None:
            if holder is not None and self.registry.get_holder(holder).name != actor.holder:
                raise PermissionDeniedError(
                    "licences of another holder are not shown", where="holder"
                )
            return self.registry.licences(actor.holder)
        raise PermissionDeniedError("a read key cannot list licences", where="scope")

    # -- decisions -------------------------------------------------------------------------
    def find_work(
        self,
        actor: Actor,
        *,
        work: str | None = None,
        isrc: str | None = None,
        iswc: str | None = None,
    ) -> WorkInfo:
        """The work named by id, ISRC or ISWC (exactly one of them); for a code several works
        share, the oldest registration."""
        given = [x for x in (work, isrc, iswc) if x is not None]
        if len(given) != 1:
            raise InputError("name exactly one of work, isrc or iswc", where="work")
        if work is not None:
            return self.get_work(actor, work)
        found = self.registry.find_works(isrc=isrc, iswc=iswc)
        if not found:
            what = f"ISRC {isrc}" if isrc is not None else f"ISWC {iswc}"
            raise NotFoundError(f"no work with {what}", where="isrc" if isrc else "iswc")
        return found[0]

    def decide(
        self,
        actor: Actor,
        work: WorkInfo,
        *,
        use: Use,
        purpose: Purpose,
        org: str,
        at: date,
        head: str | None = None,
    ) -> DecideResult:
        """keep / exclude / review for ``work`` used for ``use``/``purpose`` by ``org``.
        ``head``: the state digest read at the start of the request, if any (saves a
        query; the facts used are then at least that recent)."""
        if not org.strip():
            raise InputError("name the organisation that would use the work", where="actor")
        decision = decide(
            self._facts_of(work.holder, head),
            work_id=work.id,
            use=use,
            purpose=purpose,
            actor=org.strip(),
            at=at,
            research_exception=self.research_exception,
        )
        return DecideResult(work, decision, use, purpose, org.strip(), at)

    # -- identify --------------------------------------------------------------------------
    def matcher(self, modality: Modality) -> Matcher | None:
        """The modality's matcher (opened once, reopened by itself when the index changes);
        None while nothing of that modality is registered."""
        matcher = self._matchers.get(modality)
        if matcher is None:
            matcher = Matcher.open(self.index_dir, modality)
            if matcher is not None:
                with self._lock:
                    matcher = self._matchers.setdefault(modality, matcher)
        return matcher

    def identify(
        self,
        actor: Actor,
        path: Path,
        modality: Modality,
        *,
        use: Use | None = None,
        purpose: Purpose = Purpose.COMMERCIAL,
        org: str | None = None,
        at: date | None = None,
        head: str | None = None,
    ) -> IdentifyResult:
        """Registered works in a file of ``modality`` (the edge sniffs it from the content).
        With ``use``, each match carries the decision for ``org`` (default: the actor)."""
        matcher = self.matcher(modality)
        matches: list[Match] = matcher.identify_path(path) if matcher is not None else []
        out: list[dict[str, object]] = []
        for m in matches:
            try:
                work: WorkInfo | None = self.get_work(actor, m.work_id)
            except NotFoundError:  # in the index, not (any more) in the registry
                work = None
            row: dict[str, object] = {
                "work_id": m.work_id,
                "holder": work.holder if work else None,
                "title": work.title if work else None,
            } | m.to_json()
            if use is not None and work is not None:
                result = self.decide(
                    actor,
                    work,
                    use=use,
                    purpose=purpose,
                    org=org or actor.name,
                    at=at or date.today(),
                    head=head,
                )
                row["decision"] = result.to_json()
            out.append(row)
        return IdentifyResult(modality, tuple(out))

    # -- audit and index -------------------------------------------------------------------
    def verify(self, actor: Actor) -> VerifyResult:
        return self.registry.verify()

    def state_digest(self) -> str:
        return self.registry.state_digest()

    def audit_entries(
        self, actor: Actor, *, after_seq: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self.registry.audit_entries(after_seq=after_seq, limit=limit)

    def build_index(self, actor: Actor, modalities: Sequence[Modality]) -> list[IndexStats]:
        """Rebuild each modality's index from the registry (also repairs an append lost to
        a crash between a commit and its index append)."""
        self.require_admin(actor)
        stats = []
        for m in modalities:
            if not self.registry.count_fingerprints(m):
                continue
            stats.append(rebuild_index(self.index_dir, m, self.registry.fingerprints(m)))
        return stats

    # -- API keys --------------------------------------------------------------------------
    def create_api_key(
        self, actor: Actor, *, name: str, scope: Scope, holder: str | None = None
    ) -> tuple[ApiKeyInfo, str]:
        self.require_admin(actor)
        return self.registry.create_api_key(name=name, scope=scope, holder=holder, actor=actor)

    def list_api_keys(self, actor: Actor) -> list[ApiKeyInfo]:
        self.require_admin(actor)
        return self.registry.list_api_keys()

    def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKeyInfo:
        self.require_admin(actor)
        return self.registry.revoke_api_key(key_id, actor=actor)

