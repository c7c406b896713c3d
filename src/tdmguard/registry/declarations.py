"""Import reservations declared elsewhere (TDM·AI declarations bound to ISCC codes) into the
registry: each becomes a reservation of the declaring holder on the work with that ISCC,
with its source recorded in the reservation's ``declared_at``.

The caller verifies the declaration (signature against a pinned key) first; this module
takes plain values, so it does not depend on the declaration format (``declare`` and
``registry`` are siblings). A holder or work that does not exist yet is created (the work
with the declared title, kind and ISCC: no fingerprints, so it is found by ISCC only).
Importing the same declaration twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tdmguard.errors import ConflictError, NotFoundError
from tdmguard.registry.store import NewWork, Registry
from tdmguard.registry.values import CLI_ACTOR, Actor, ReservationInfo, WorkInfo
from tdmguard.vocab import Purpose, Use, WorkKind

__all__ = ["DeclaredReservation", "ImportResult", "import_declared_reservations"]


@dataclass(frozen=True, slots=True)
class DeclaredReservation:
    iscc: str
    uses: frozenset[Use]
    effective_from: date
    source: str  # recorded as the reservation's declared_at
    purposes: frozenset[Purpose] = frozenset()
    effective_until: date | None = None
    work_id: str = ""
    title: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class ImportResult:
    holder: str
    works_added: tuple[str, ...]
    reservations: tuple[ReservationInfo, ...]
    already_present: int

    def to_json(self) -> dict[str, object]:
        return {
            "holder": self.holder,
            "works_added": list(self.works_added),
            "reservations": [r.to_json() for r in self.reservations],
            "already_present": self.already_present,
        }


def _work_for(
    reg: Registry,
    holder: str,
    item: DeclaredReservation,
    by_iscc: dict[str, WorkInfo],
    actor: Actor,
) -> tuple[WorkInfo, bool]:
    found = by_iscc.get(item.iscc)
    if found is not None:
        return found, False
    try:
        kind = WorkKind(item.kind) if item.kind else WorkKind.RECORDING
    except ValueError:
        kind = WorkKind.RECORDING
    new = NewWork(
        title=item.title or item.iscc,
        kind=kind,
        iscc=item.iscc,
        external_id=item.work_id or None,
        where="declaration",
    )
    try:
        info = reg.add_work(holder, new, actor=actor)
    except ConflictError:  # the id is taken: keep the work, let the registry number it
        new = NewWork(title=new.title, kind=kind, iscc=item.iscc, where="declaration")
        info = reg.add_work(holder, new, actor=actor)
    by_iscc[item.iscc] = info
    return info, True


def import_declared_reservations(
    reg: Registry,
    holder: str,
    items: Sequence[DeclaredReservation],
    *,
    contact: str | None = None,
    actor: Actor = CLI_ACTOR,
) -> ImportResult:
    """Record ``items`` as reservations of ``holder`` (created if missing); the service
    layer (``RegistryService.import_declarations``) checks who may."""
    try:
        reg.get_holder(holder)
    except NotFoundError:
        reg.add_holder(holder, contact=contact, actor=actor)
    by_iscc = {w.iscc: w for w in reg.list_works(holder) if w.iscc}
    existing = {(r.declared_at, r.work_ids) for r in reg.reservations(holder)}
    added: list[str] = []
    out: list[ReservationInfo] = []
    present = 0
    for item in items:
        work, created = _work_for(reg, holder, item, by_iscc, actor)
        if created:
            added.append(work.id)
        if (item.source, (work.id,)) in existing:
            present += 1
            continue
        info = reg.reserve(
            holder,
            uses=item.uses,
            effective_from=item.effective_from,
            effective_until=item.effective_until,
            work_ids=[work.id],
            purposes=item.purposes,
            declared_at=item.source,
            actor=actor,
        )
        out.append(info)
    return ImportResult(holder, tuple(added), tuple(out), present)
