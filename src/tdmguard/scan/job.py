"""What a scan is asked to do, as one picklable value shipped to every worker."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from tdmguard.registry.snapshot.sources import mirror_sources_json
from tdmguard.registry.store import Registry
from tdmguard.scan.decide import DecisionSettings, RegistryView, WorkRef

__all__ = ["Executor", "ScanJob", "registry_view"]


class Executor(enum.StrEnum):
    """Where shards run (``scan/executors.py``); the outputs are the same for each."""

    LOCAL = "local"  # a process pool on this machine (inline with one worker)
    RAY = "ray"  # a Ray cluster (RAY_ADDRESS, else a local Ray instance); extra `ray`


@dataclass(frozen=True, slots=True)
class ScanJob:
    source: Path
    out_dir: Path
    index_dir: Path
    decision: DecisionSettings
    view: RegistryView
    checks: tuple[str, ...]  # names in CHECK_FACTORIES or "module:function" plug-ins
    check_options: dict[str, str] = field(default_factory=dict)
    shard_size: int = 64
    workers: int = 1
    executor: Executor = Executor.LOCAL

    @property
    def shards_dir(self) -> Path:
        return self.out_dir / "shards"


def registry_view(registry: Registry) -> RegistryView:
    """Load what a scan needs of the registry once, in the parent process."""
    works = {w.id: WorkRef(w.holder, w.title) for w in registry.list_works()}
    return RegistryView(works=works, facts=registry.facts(), digest=registry.state_digest(),
                        sources=tuple(mirror_sources_json(registry)))
