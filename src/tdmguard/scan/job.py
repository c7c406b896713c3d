"""What a scan is asked to do, as one picklable value shipped to every worker."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tdmguard.scan.decide import DecisionSettings, RegistryView, WorkRef
from tdmguard.scan.readers import ReadOptions
from tdmguard.vocab import Modality

if TYPE_CHECKING:
    from tdmguard.registry.store import Registry

__all__ = ["Executor", "ScanJob", "registry_view"]


class Executor(enum.StrEnum):
    """Where shards run (``scan/executors.py``); the outputs are the same for each."""

    LOCAL = "local"  # a process pool on this machine (inline with one worker)
    RAY = "ray"  # Ray Data (RAY_ADDRESS, else a local Ray instance); extra `ray`


@dataclass(frozen=True, slots=True)
class ScanJob:
    """``source`` is a local path or a URL (``s3://...``), a brace pattern or a glob."""

    source: Path | str
    out_dir: Path
    index_dir: Path
    decision: DecisionSettings
    view: RegistryView
    checks: tuple[str, ...]  # names in CHECK_FACTORIES or "module:function" plug-ins
    check_options: dict[str, str] = field(default_factory=dict)
    # items per shard; None: 256 rows of a JSON Lines or CSV manifest, else 64
    # (scan/plan.py, SHARD_SIZE and MANIFEST_SHARD_SIZE)
    shard_size: int | None = None
    workers: int = 1
    executor: Executor = Executor.LOCAL
    read: ReadOptions = field(default_factory=ReadOptions)
    write_kept: bool = False  # also write kept items in the input's own format (out/kept/)
    item_timeout_s: float = 0.0  # per-item wall-clock budget in workers (0: none)
    item_memory_mb: int = 0  # per-worker address-space limit (0: none)

    @property
    def shards_dir(self) -> Path:
        return self.out_dir / "shards"

    @property
    def source_text(self) -> str:
        return str(self.source)


def registry_view(registry: Registry) -> RegistryView:
    """Load what a scan needs of the registry once, in the parent process. (The registry
    modules are imported here, not at the top: every worker process imports this module for
    :class:`ScanJob`, and SQLAlchemy and Alembic cost it about a second of start-up.)"""
    works = {w.id: WorkRef(w.holder, w.title) for w in registry.list_works()}
    counts = {m.value: registry.count_fingerprints(m) for m in Modality}
    return RegistryView(
        works=works,
        facts=registry.facts(),
        digest=registry.state_digest(),
        content_digest=registry.content_digest(),
        sources=tuple(_mirror_sources(registry)),
        fingerprinted={k: v for k, v in counts.items() if v},
    )


def _mirror_sources(registry: Registry) -> list[dict[str, object]]:
    """The registry's mirror sources for report.json. Most registries mirror nothing: a
    count tells, so the snapshot package (its key parser, HTTP client and the index it
    applies to: 0.4 CPU s of imports) loads only for a registry that does mirror."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from sqlalchemy.orm import Session

    from tdmguard.registry.tables import SnapshotSource

    try:
        with Session(registry.engine) as session:
            if not session.execute(select(func.count()).select_from(SnapshotSource)).scalar():
                return []
    except (OperationalError, ProgrammingError):  # a registry older than the snapshot tables
        return []
    from tdmguard.registry.snapshot.sources import mirror_sources_json

    return mirror_sources_json(registry)
