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

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tdmguard.config import Settings
from tdmguard.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import get_engine
from tdmguard.fingerprint.iscc_code import iscc_for_media
from tdmguard.policy import PolicyFacts, decide
from tdmguard.registry.catalogue import (
    CatalogueRow,
    fingerprint_media,
    fingerprint_rows,
    parse_catalogue,
)
from tdmguard.registry.catalogue_import import (
    ImportMode,
    ImportReport,
    RowAction,
    RowOutcome,
    plan_import,
)
from tdmguard.registry.declaration_facts import DeclarationFacts, declaration_facts
from tdmguard.registry.declarations import (
    DeclaredReservation,
    ImportResult,
    import_declared_reservations,
)
from tdmguard.registry.iscc_lookup import DEFAULT_MAX_DISTANCE, IsccMatch, find_by_iscc
from tdmguard.registry.matching import IndexStats, Matcher, append_to_index, rebuild_index
from tdmguard.registry.media_catalogue import write_media_catalogue
from tdmguard.registry.snapshot.verify import verify_mirror
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
from tdmguard.vocab import (
    Decision,
    DecisionKind,
    Match,
    Modality,
    Purpose,
    Reason,
    Use,
    cap_on_thin_evidence,
)

__all__ = [
    "DecideResult", "IdentifyResult", "RegistryService", "WorkDetail", "WorkPage", "with_iscc",
]


def with_iscc(work: NewWork, media: Sequence[tuple[Modality, Path]]) -> NewWork:
    """``work`` with the ISCC of its primary media file when none was given and the
    ``iscc`` extra is installed (only the code is kept, like fingerprints)."""
    if work.iscc or not media:
        return work
    code = iscc_for_media(media, title=work.title, artists=work.artists)
    if code is None:
        return work
    out = copy.copy(work)
    out.iscc = code.iscc
    return out


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
class WorkPage:
    """One page of a catalogue search: the works, how many matched in all, and where the
    page starts (``limit`` None: every match from ``offset``)."""

    works: tuple[WorkInfo, ...]
    total: int
    offset: int = 0
    limit: int | None = None


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
    iscc: str | None = None  # the file's ISCC (``iscc`` extra installed)
    iscc_matches: tuple[dict[str, object], ...] = ()  # works with an equal or near ISCC

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"modality": self.modality.value, "matches": list(self.matches)}
        if self.iscc is not None:
            out["iscc"] = self.iscc
            out["iscc_matches"] = list(self.iscc_matches)
        return out


#: Audit actions only an admin or the holder concerned may read.
_PRIVATE_AUDIT_ACTIONS = ("licence.", "apikey.")


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
        self._works_head = ""
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
        work = with_iscc(work, media)
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
        """Import a catalogue file of new works (every row validated and every media
        fingerprinted before anything is written: all rows or none). ``on_progress(done,
        total)`` as media files are fingerprinted."""
        report = self.import_catalogue_report(actor, holder, catalogue, media_root=media_root,
                                              on_progress=on_progress)
        return report.works

    def import_catalogue_report(
        self,
        actor: Actor,
        holder: str | None,
        catalogue: Path,
        *,
        mode: ImportMode = ImportMode.ADD,
        dry_run: bool = False,
        skip_unfingerprintable: bool = False,
        allow_outside_paths: bool = False,
        media_root: Path | None = None,
        confirm_removal: Callable[[Sequence[str]], bool] | None = None,
        removed_on: date | None = None,
        workers: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Add, update (``upsert``) and remove (``sync``) a holder's works from a catalogue
        file, all in one transaction, or (``dry_run``) report row by row what would happen.
        Only new rows and rows whose media changed are fingerprinted, on ``workers``
        processes. A refused row fails the whole import, except rows whose media cannot be
        fingerprinted when ``skip_unfingerprintable`` (they are listed). ``sync`` removes
        works only if ``confirm_removal(ids)`` says yes. ``media_root``: see
        :func:`~tdmguard.registry.catalogue.media_path` (uploads to a server)."""
        name = self._acting_holder(actor, holder)
        parsed = parse_catalogue(catalogue, allow_outside_paths=allow_outside_paths,
                                 media_root=media_root)
        report = ImportReport(str(catalogue), mode, warnings=list(parsed.warnings))
        current = {w.id: w for w in self.registry.list_works(name, include_removed=True)}
        taken = self.registry.registered_ids(
            [r.work.external_id for r in parsed.rows
             if r.work.external_id is not None and r.work.external_id not in current])
        other = [r for r in parsed.rows if r.work.external_id in taken]
        outcomes, to_add, to_update = plan_import(
            [r for r in parsed.rows if r not in other], parsed.problems, mode, current,
            self.registry.media_digests(name) if mode is not ImportMode.ADD else {})
        outcomes.extend(RowOutcome(RowAction.REFUSE, r.work.external_id, r.line, field="id",
                                   conflict=True, reason="this id belongs to another holder's work")
                        for r in other)
        outcomes.sort(key=lambda o: (o.line is None, o.line or 0))
        report.outcomes = outcomes
        if dry_run:
            return report
        if any(o.action is RowAction.REFUSE for o in outcomes):
            first = next(o for o in outcomes if o.action is RowAction.REFUSE)
            refusal = ConflictError if first.conflict else InputError
            raise refusal(f"{first.reason} ({report.count(RowAction.REFUSE)} refused rows; "
                             "nothing was imported)",
                             where=f"{catalogue}:{first.line}" + (f": {first.field}"
                                                                  if first.field else ""))
        removals = [o.id for o in outcomes if o.action is RowAction.REMOVE and o.id]
        if removals and (confirm_removal is None or not confirm_removal(removals)):
            raise InputError(f"sync would remove {len(removals)} works; confirm it (--yes)",
                             where="mode")

        # Fingerprint new rows, and updated rows whose media changed (all their media).
        needing = to_add + [r for r in to_update if any(
            c.startswith("media.") for o in outcomes if o.id == r.work.external_id
            for c in o.changes)]
        total = sum(len(r.media) for r in needing)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(done, total)

        prints = dict(zip((id(r) for r in needing),
                          fingerprint_rows(needing, workers=workers, on_done=tick), strict=True))
        skipped: set[int] = set()
        for row in needing:
            error = prints[id(row)].error
            if error is None:
                continue
            if not skip_unfingerprintable:
                raise type(error)(f"{error.message} (nothing was imported; "
                                  "--skip-unfingerprintable imports the other rows)",
                                  where=error.where)
            skipped.add(id(row))
            report.outcomes = [
                RowOutcome(RowAction.REFUSE, o.id, o.line, reason=error.message, field="media")
                if o.line == row.line else o for o in report.outcomes]

        def fps(row: CatalogueRow) -> Sequence[tuple[Fingerprint, str]]:
            found = prints.get(id(row))
            return found.fingerprints if found is not None else ()

        added, updated, removed = self.registry.apply_catalogue(
            name,
            add=[(with_iscc(r.work, r.media), fps(r)) for r in to_add if id(r) not in skipped],
            update=[(self._update_iscc(r, current, id(r) in prints), fps(r))
                    for r in to_update if id(r) not in skipped],
            remove=removals,
            removed_on=removed_on or date.today(),
            actor=actor,
        )
        report.applied = True
        report.works = added + updated
        # New works' fingerprints are appended; an update or removal changes what a work
        # matches, so those modalities' indexes are rebuilt from the registry.
        self._append([(info, fps(r)) for info, r in zip(
            added, [r for r in to_add if id(r) not in skipped], strict=True)])
        changed = {Modality(m) for w in updated + removed for m in w.modalities}
        changed |= {fp.modality for r in to_update for fp, _ in fps(r)}
        for modality in sorted(changed, key=lambda m: m.value):
            rebuild_index(self.index_dir, modality, self.registry.fingerprints(modality))
        return report

    @staticmethod
    def _update_iscc(
        row: CatalogueRow, current: dict[str, WorkInfo], media_changed: bool
    ) -> NewWork:
        """An updated row without an ISCC keeps the one computed at registration, or gets
        a new one when its media changed."""
        if row.work.iscc:
            return row.work
        if media_changed:
            return with_iscc(row.work, row.media)
        stored = current.get(row.work.external_id or "")
        if stored is None or not stored.iscc:
            return row.work
        out = copy.copy(row.work)
        out.iscc = stored.iscc
        return out

    def update_work(
        self,
        actor: Actor,
        holder: str | None,
        work_id: str,
        work: NewWork,
        media: Sequence[tuple[Modality, Path]] = (),
    ) -> tuple[WorkInfo, dict[str, object]]:
        """Replace a work's metadata (and, for each media given, its fingerprint of that
        modality); the index follows. A removed work is restored."""
        name = self._acting_holder(actor, holder)
        fps = fingerprint_media(media)
        if not work.iscc:  # new media: its ISCC; no media: keep the stored one
            if media:
                work = with_iscc(work, media)
            else:
                stored = self.registry.get_work(work_id).iscc
                if stored:
                    work = copy.copy(work)
                    work.iscc = stored
        info, changes = self.registry.update_work(name, work_id, work, fps, actor=actor)
        if changes:
            for modality in {Modality(m) for m in info.modalities}:
                rebuild_index(self.index_dir, modality, self.registry.fingerprints(modality))
        return info, changes

    def remove_work(
        self, actor: Actor, holder: str | None, work_id: str, *, on: date | None = None
    ) -> WorkInfo:
        """Take a work out of the catalogue (from ``on``, default today): it leaves the
        index; decisions at earlier dates and the audit log still see it."""
        name = self._acting_holder(actor, holder)
        info = self.registry.remove_work(name, work_id, on=on or date.today(), actor=actor)
        for modality in {Modality(m) for m in info.modalities}:
            rebuild_index(self.index_dir, modality, self.registry.fingerprints(modality))
        return info

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
        # Works change (update, removal), so the cache holds one registry state, like facts.
        head = self.registry.state_digest()
        if head != self._works_head:
            self._works.clear()
            self._works_head = head
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
        iscc: str | None = None,
    ) -> WorkInfo:
        """The work named by id, ISRC, ISWC or ISCC (exactly one of them); for a code several
        works share, the oldest registration; for an ISCC, the equal one, else the one with
        the nearest Content-Code (:meth:`find_by_iscc`)."""
        given = [x for x in (work, isrc, iswc, iscc) if x is not None]
        if len(given) != 1:
            raise InputError("name exactly one of work, isrc, iswc or iscc", where="work")
        if work is not None:
            return self.get_work(actor, work)
        if iscc is not None:
            near = self.find_by_iscc(actor, iscc)
            if not near:
                raise NotFoundError(
                    f"no work with this ISCC or a Content-Code within"
                    f" {DEFAULT_MAX_DISTANCE} bits of it",
                    where="iscc",
                )
            return self.get_work(actor, near[0].work_id)
        found = self.registry.find_works(isrc=isrc, iswc=iswc)
        if not found:
            what = f"ISRC {isrc}" if isrc is not None else f"ISWC {iswc}"
            raise NotFoundError(f"no work with {what}", where="isrc" if isrc else "iswc")
        return found[0]

    def find_by_iscc(
        self, actor: Actor, iscc: str, *, max_distance: int = DEFAULT_MAX_DISTANCE
    ) -> list[IsccMatch]:
        """Works with this ISCC, or a Content-Code within ``max_distance`` bits; nearest
        first (a scan over the stored codes, docs/registry.md)."""
        return find_by_iscc(self.registry, iscc, max_distance=max_distance)

    def import_declarations(
        self,
        actor: Actor,
        holder: str,
        items: Sequence[DeclaredReservation],
        *,
        contact: str | None = None,
    ) -> ImportResult:
        """Record verified TDM·AI declarations as reservations (admin only: it may create
        the holder; the edge has verified the signature against a pinned key)."""
        self.require_admin(actor)
        return import_declared_reservations(
            self.registry, holder, items, contact=contact, actor=actor
        )

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
        if work.removed_on is not None and at >= work.removed_on:
            # History is kept: before its removal the work is judged as it was registered.
            removed = Decision(DecisionKind.KEEP, (Reason(
                "work-removed",
                f"{work.holder} removed {work.id} from its catalogue on {work.removed_on}",
                {"removed_on": work.removed_on.isoformat()}),))
            return DecideResult(work, removed, use, purpose, org.strip(), at)
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
                kind, why = cap_on_thin_evidence(m, result.decision.kind)
                if why is not None:  # thin evidence: review, as a scan would
                    capped = dataclasses.replace(
                        result.decision, kind=kind, reasons=(why, *result.decision.reasons)
                    )
                    result = dataclasses.replace(result, decision=capped)
                row["decision"] = result.to_json()
            out.append(row)
        iscc, near = self._identify_iscc(actor, path, modality, use, purpose, org, at)
        return IdentifyResult(modality, tuple(out), iscc, near)

    def _identify_iscc(
        self,
        actor: Actor,
        path: Path,
        modality: Modality,
        use: Use | None,
        purpose: Purpose,
        org: str | None,
        at: date | None,
    ) -> tuple[str | None, tuple[dict[str, object], ...]]:
        """The file's ISCC and the works with an equal or near one (``iscc`` extra only)."""
        code = iscc_for_media([(modality, path)], title="")
        if code is None or code.content is None:
            return (code.iscc if code else None), ()
        rows: list[dict[str, object]] = []
        for m in self.find_by_iscc(actor, code.iscc):
            row = m.to_json()
            if use is not None:
                work = self.get_work(actor, m.work_id)
                result = self.decide(
                    actor, work, use=use, purpose=purpose, org=org or actor.name,
                    at=at or date.today(),
                )  # fmt: skip
                row["decision"] = result.to_json()
            rows.append(row)
        return code.iscc, tuple(rows)

    # -- catalogue search, summary and a work's history (web app, API, CLI) ---------------
    def search_works(
        self,
        actor: Actor,
        holder: str | None = None,
        query: str = "",
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> WorkPage:
        """One page of the works whose id, title, artists, ISRC or ISWC contain every word
        of ``query`` (all works when it is blank), with the total that matched."""
        if limit is not None and not 0 <= limit <= 10_000:
            raise InputError("limit is 0 to 10,000", where="limit")
        if offset < 0:
            raise InputError("offset is 0 or more", where="offset")
        if len(query) > 500:
            raise InputError("a search has at most 500 characters", where="q")
        works, total = self.registry.search_works(holder, query, limit=limit, offset=offset)
        return WorkPage(tuple(works), total, offset, limit)

    def catalogue_summary(
        self, actor: Actor, holder: str | None = None, *, on: date | None = None
    ) -> dict[str, tuple[int, int]]:
        """Current works per modality as (reserved, not reserved) on ``on`` (default
        today); see :meth:`reserved_works` for what counts as reserved."""
        holders, ids = self._reserved_on(holder, on or date.today())
        every = self.registry.modality_counts(holder)
        reserved = self.registry.modality_counts(holder, holders=holders, work_ids=ids)
        return {m.value: (reserved.get(m.value, 0),
                          every.get(m.value, 0) - reserved.get(m.value, 0)) for m in Modality}

    def reserved_works(
        self, actor: Actor, works: Iterable[WorkInfo], *, on: date | None = None
    ) -> set[str]:
        """The ids among ``works`` that a reservation in force on ``on`` (default today)
        names, itself or by its whole holder, for any use (exemptions not counted)."""
        works = list(works)
        holders, ids = self._reserved_on(None, on or date.today(),
                                         among={w.holder for w in works})
        return {w.id for w in works if w.holder in holders or w.id in ids}

    def _reserved_on(
        self, holder: str | None, day: date, *, among: set[str] | None = None
    ) -> tuple[set[str], set[str]]:
        """Holders with a holder-wide reservation in force on ``day``, and the works that
        a work reservation in force names."""
        holders: set[str] = set()
        ids: set[str] = set()
        names: list[str | None] = (
            [holder] if holder is not None else [*sorted(among)] if among is not None else [None]
        )
        for name in names:
            for r in self.registry.reservations(name):
                if r.exempt or (r.revoked_on is not None and r.revoked_on <= day):
                    continue
                if r.effective_from > day or (r.effective_until and r.effective_until < day):
                    continue
                if r.work_ids:
                    ids.update(r.work_ids)
                else:
                    holders.add(r.holder)
        return holders, ids

    def work_history(self, actor: Actor, work_id: str) -> list[dict[str, Any]]:
        """The audit entries about one work (see :meth:`Registry.work_history`): for its
        holder's write keys and admins only (they show licences)."""
        info = self.registry.get_work(work_id)
        if not self._may_see_licences(actor, info.holder):
            raise PermissionDeniedError(
                "a work's history is for its holder's keys", where="work")
        return self.registry.work_history(info.id)

    def import_media_report(
        self,
        actor: Actor,
        holder: str | None,
        files: Sequence[tuple[Modality, Path]],
        *,
        catalogue: Path,
        dry_run: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Import media files without a catalogue: one new work per file, titled from its
        tags or file name (see :mod:`~tdmguard.registry.media_catalogue`). The rows are
        written to ``catalogue`` (JSON Lines) and imported from there like any catalogue;
        every file must lie in one folder."""
        folders = {p.parent for _, p in files}
        if len(folders) > 1:
            raise InputError("the media files must lie in one folder", where="media")
        write_media_catalogue(files, catalogue)
        return self.import_catalogue_report(
            actor, holder, catalogue, dry_run=dry_run, on_progress=on_progress,
            media_root=next(iter(folders)) if folders else None)

    def declaration_facts(
        self, actor: Actor, holder: str | None, *, at: date | None = None
    ) -> DeclarationFacts:
        """What the holder's declaration bundle publishes on ``at`` (default today); see
        :func:`~tdmguard.registry.declaration_facts.declaration_facts`. For the holder's
        own keys and admins (it carries the audit head to pin)."""
        name = self._acting_holder(actor, holder)
        return declaration_facts(self.registry, name, at=at or date.today())

    # -- audit and index -------------------------------------------------------------------
    def verify(
        self, actor: Actor, *, pin: tuple[int | None, str] | None = None
    ) -> VerifyResult:
        """The audit chain, a pinned head if given, and every decision-relevant table
        against the replayed log (see :meth:`Registry.verify`); on a mirror, then every
        mirrored row and index segment against what was pulled (``snapshot/verify.py``)."""
        result = self.registry.verify(pin=pin)
        if not result.ok:
            return result
        mirror = verify_mirror(self.registry, self.index_dir)
        if mirror.problem is not None:
            return dataclasses.replace(result, ok=False, problem=mirror.problem,
                                       table=mirror.table, row=mirror.row)
        return dataclasses.replace(result, rows=result.rows + mirror.rows)

    def state_digest(self) -> str:
        """The audit head: cheap, and what per-request caches are keyed on."""
        return self.registry.state_digest()

    def content_digest(self) -> str:
        """SHA-256 over the decision-relevant tables (reads every row)."""
        return self.registry.content_digest()

    def audit_entries(
        self, actor: Actor, *, after_seq: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries after ``after_seq``, oldest first. An admin sees them all; other
        keys do not see licence and API-key entries except their own holder's (licensees,
        terms and key names are the holder's business, as in :meth:`list_licences`)."""
        if actor.scope is Scope.ADMIN:
            return self.registry.audit_entries(after_seq=after_seq, limit=limit)
        own_licences: set[int] = set()
        if actor.holder is not None:
            own_licences = {lic.id for lic in self.registry.licences(actor.holder)}

        def visible(entry: dict[str, Any]) -> bool:
            action = str(entry["action"])
            if not action.startswith(_PRIVATE_AUDIT_ACTIONS):
                return True
            payload = entry["payload"]
            if actor.holder is None or not isinstance(payload, dict):
                return False
            if action == "licence.revoke":
                return payload.get("entry") in own_licences
            return bool(payload.get("holder") == actor.holder)

        out: list[dict[str, Any]] = []
        page = max(limit or 0, 500)
        while limit is None or len(out) < limit:
            batch = self.registry.audit_entries(after_seq=after_seq, limit=page)
            out.extend(e for e in batch if visible(e))
            if len(batch) < page:
                break
            after_seq = int(batch[-1]["seq"])
        return out if limit is None else out[:limit]

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

