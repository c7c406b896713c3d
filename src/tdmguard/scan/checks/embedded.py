"""The ``embedded-signals`` check: reservations a file carries itself (XMP, C2PA/CAWG,
tdmguard's audio tags), so a scan excludes a stamped file even when its content is not
registered. Options (``--check-opt``): ``c2pa=0`` skips C2PA (faster; the C2PA library
opens every file)."""

from __future__ import annotations

from dataclasses import dataclass

from tdmguard.scan.checks.base import CheckContext, CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.signals.metadata import read_embedded

__all__ = ["EmbeddedSignalsCheck", "make_check"]


@dataclass(frozen=True, slots=True)
class EmbeddedSignalsCheck:
    name: str = "embedded-signals"
    media: frozenset[MediaKind] = frozenset({MediaKind.AUDIO, MediaKind.IMAGE})
    c2pa: bool = True

    def evaluate(self, record: Record) -> CheckOutcome:
        if record.path is None or record.media not in self.media:
            return CheckOutcome()
        reading = read_embedded(record.path, c2pa=self.c2pa)
        return CheckOutcome(verdicts=reading.verdicts, problems=reading.problems)


def make_check(context: CheckContext) -> EmbeddedSignalsCheck | None:
    flag = context.options.get("c2pa", "1").strip().lower()
    return EmbeddedSignalsCheck(c2pa=flag not in {"0", "false", "no", "off"})
