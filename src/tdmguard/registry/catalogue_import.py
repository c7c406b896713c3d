"""Re-importing a catalogue: which rows add a work, which update one, which change nothing,
and (in ``sync`` mode) which registered works are gone from the file.

Pure planning over parsed rows and the holder's current works; the service layer
(:meth:`~tdmguard.registry.service.RegistryService.import_catalogue_report`) fingerprints only
the rows that need it and applies the plan in one transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tdmguard.registry.catalogue import CatalogueRow, RowProblem, sha256_file
from tdmguard.registry.values import WorkInfo

__all__ = ["ImportMode", "ImportReport", "RowAction", "RowOutcome", "metadata_changes",
           "plan_import"]


class ImportMode(enum.StrEnum):
    ADD = "add"  # every row is a new work; an existing id fails the import
    UPSERT = "upsert"  # new rows added, changed rows updated, unchanged rows skipped
    SYNC = "sync"  # upsert, and works gone from the file are removed


class RowAction(enum.StrEnum):
    ADD = "add"
    UPDATE = "update"
    SKIP = "skip"  # unchanged
    REMOVE = "remove"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What an import does (or, in a dry run, would do) with one row or one work."""

    action: RowAction
    id: str | None
    line: int | None = None
    changes: tuple[str, ...] = ()
    reason: str | None = None
    field: str | None = None
    conflict: bool = False  # refused because the id is registered already (exit 5, not 3)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"action": self.action.value, "id": self.id, "line": self.line}
        if self.changes:
            out["changes"] = list(self.changes)
        if self.reason:
            out["reason"] = self.reason
        if self.field:
            out["field"] = self.field
        return out


@dataclass(slots=True)
class ImportReport:
    """Every row's outcome (and each removed work's), the works written, and the reader's
    warnings. ``applied`` is False for a dry run or a refused import."""

    catalogue: str
    mode: ImportMode
    outcomes: list[RowOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False
    works: list[WorkInfo] = field(default_factory=list)  # added and updated, when applied

    def count(self, action: RowAction) -> int:
        return sum(1 for o in self.outcomes if o.action is action)

    def to_json(self) -> dict[str, object]:
        return {
            "catalogue": self.catalogue,
            "mode": self.mode.value,
            "applied": self.applied,
            "counts": {a.value: self.count(a) for a in RowAction},
            "rows": [o.to_json() for o in self.outcomes],
            "warnings": list(self.warnings),
        }


def metadata_changes(row: CatalogueRow, current: WorkInfo) -> list[str]:
    """The fields a row would change on a registered work (a removed work is restored)."""
    w = row.work
    pairs = {
        "title": (w.title, current.title),
        "kind": (w.kind, current.kind),
        "artists": (tuple(w.artists), current.artists),
        "isrc": (w.isrc, current.isrc),
        "iswc": (w.iswc, current.iswc),
        "upc": (w.upc, current.upc),
        # no ISCC in the row keeps the one computed from the media at registration
        "iscc": (w.iscc or current.iscc, current.iscc),
        "extra": (tuple(sorted(w.extra.items())), current.extra),
    }
    changed = [name for name, (new, old) in pairs.items() if new != old]
    if current.removed_on is not None:
        changed.append("restored")
    return changed


def media_changes(row: CatalogueRow, digests: Mapping[str, str]) -> list[str]:
    """The modalities whose media file differs from the one the work was fingerprinted from
    (a digest of the file, no fingerprinting)."""
    return [f"media.{m.value}" for m, path in row.media
            if digests.get(m.value) != sha256_file(path)]


def plan_import(
    rows: Sequence[CatalogueRow],
    problems: Sequence[RowProblem],
    mode: ImportMode,
    current: Mapping[str, WorkInfo],
    digests: Mapping[str, Mapping[str, str]],
) -> tuple[list[RowOutcome], list[CatalogueRow], list[CatalogueRow]]:
    """Outcomes in file order (then removals), the rows to add and the rows to update.

    ``current``: the holder's works by id, removed ones included; ``digests``: work id ->
    modality -> SHA-256 of the media its fingerprint came from. A row of another holder's
    work id is refused (ids are unique across the registry)."""
    outcomes: list[RowOutcome] = [
        RowOutcome(RowAction.REFUSE, p.id, p.line, reason=p.message, field=p.field)
        for p in problems
    ]
    to_add: list[CatalogueRow] = []
    to_update: list[CatalogueRow] = []
    for row in rows:
        ext = row.work.external_id
        existing = current.get(ext) if ext is not None else None
        if mode is not ImportMode.ADD and ext is None:
            outcomes.append(RowOutcome(
                RowAction.REFUSE, None, row.line, field="id",
                reason=f"{mode.value} matches rows by id: this row has none"))
            continue
        if existing is None:
            outcomes.append(RowOutcome(RowAction.ADD, ext, row.line))
            to_add.append(row)
            continue
        if mode is ImportMode.ADD:
            hint = "upsert to restore it" if existing.removed_on else "upsert to update works"
            outcomes.append(RowOutcome(
                RowAction.REFUSE, ext, row.line, field="id", conflict=True,
                reason=f"work id {ext!r} exists already (use --mode {hint})"))
            continue
        assert ext is not None
        changes = metadata_changes(row, existing) + media_changes(row, digests.get(ext, {}))
        if changes:
            outcomes.append(RowOutcome(RowAction.UPDATE, ext, row.line, tuple(changes)))
            to_update.append(row)
        else:
            outcomes.append(RowOutcome(RowAction.SKIP, ext, row.line))
    if mode is ImportMode.SYNC:
        in_file = {r.work.external_id for r in rows} | {p.id for p in problems}
        outcomes.extend(
            RowOutcome(RowAction.REMOVE, work_id, reason="not in the catalogue file")
            for work_id, info in current.items()
            if work_id not in in_file and info.removed_on is None
        )
    outcomes.sort(key=lambda o: (o.line is None, o.line or 0))
    return outcomes, to_add, to_update
