"""The plug-in shape of a scan check (DESIGN.md, conventions 3).

A check is a small class with a ``name`` and a pure ``evaluate(record) -> CheckOutcome``;
the step around it (``scan/steps.py``) does batching, stats, timing and error capture.
Checks are built once per worker by a factory that gets a :class:`CheckContext`, so heavy
state (an index, an engine) is opened once and shared by every record of the shard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import Match, Use, Verdict

__all__ = ["Check", "CheckContext", "CheckFactory", "CheckOutcome"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check found: stances from signals (``verdicts``) and content ``matches``
    against registered works. ``problems`` are non-fatal notes (a malformed tag, ...)."""

    verdicts: tuple[Verdict, ...] = ()
    matches: tuple[Match, ...] = ()
    problems: tuple[str, ...] = ()


EMPTY = CheckOutcome()


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check factory may use: the index folder, the use being judged, the date,
    the actor, and free-form options (``--check-opt key=value``)."""

    index_dir: Path
    use: Use
    at: date
    actor: str
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Registered fingerprints per modality value: a content check whose index is missing
    # while works of its modality are registered refuses to start (IndexStoreError).
    fingerprinted: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # A folder the workers of one scan share (its output folder): caches live there.
    cache_dir: Path | None = None


class Check(Protocol):
    name: str
    media: frozenset[MediaKind]  # the record kinds this check looks at

    def evaluate(self, record: Record) -> CheckOutcome: ...


CheckFactory = Callable[[CheckContext], "Check | None"]
"""Builds a check for a scan, or returns None when it has nothing to do (no index for its
modality, an extra not installed and the check optional...)."""
