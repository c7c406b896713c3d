"""A test plug-in check (loaded by module path, like a user's own check): a text record
"matches" the registered work whose id it names on its first line, and each record can be
slowed down so a scan can be killed mid-way."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tdmguard.scan.checks.base import CheckContext, CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import Match, Modality


@dataclass
class NamesWorkCheck:
    delay_s: float
    name: str = "names-work"
    media: frozenset[MediaKind] = frozenset({MediaKind.TEXT})

    def evaluate(self, record: Record) -> CheckOutcome:
        time.sleep(self.delay_s)
        if record.text is not None:
            first = (record.text.splitlines() or [""])[0].strip()
        else:
            assert record.path is not None
            first = record.path.read_text().splitlines()[0].strip()
        if first.startswith("work:"):
            return CheckOutcome(matches=(Match(first[5:], Modality.LYRICS, 0.9, 0, 10, 1, 2),))
        if first == "boom":
            raise RuntimeError("plug-in bug")
        return CheckOutcome()


def make(ctx: CheckContext) -> NamesWorkCheck:
    return NamesWorkCheck(float(ctx.options.get("delay_s", "0")))
