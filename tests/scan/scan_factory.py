"""Real scans for the report and summary tests: a real registry (SQLite), real files, the
real runner, with the test plug-in check of ``plugin_checks.py`` standing in for a content
engine (a text file "matches" the work it names on its first line)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tdmguard.registry.store import NewWork, Registry
from tdmguard.scan.decide import DecisionSettings
from tdmguard.scan.job import ScanJob, registry_view
from tdmguard.scan.runner import run_scan
from tdmguard.vocab import DecisionKind, Purpose, Use

HERE = Path(__file__).resolve().parent
FIXED_SCANS = HERE / "data" / "fixed-scans"
PLUGIN = "tests.scan.plugin_checks:make"
#: Bodies a document may have, and what the scan decides for it: AUR-0/AUR-1 are reserved
#: (exclude), AUR-2 is reserved but licensed to the actor (keep), MEA-0 has no reservation
#: (keep), "plain" has no signal (the --unknown policy), "boom" makes the check fail (error).
BODIES = ("work:AUR-0", "work:AUR-1", "work:AUR-2", "work:MEA-0", "plain text", "boom")


def make_registry(db: Path) -> Registry:
    reg = Registry.open(f"sqlite:///{db}")
    reg.add_holder("Aurora")
    reg.add_holder("Meadow")
    reg.add_works("Aurora", [NewWork(title=f"Song {i}", external_id=f"AUR-{i}") for i in range(3)])
    reg.add_works("Meadow", [NewWork(title="Hymn", external_id="MEA-0")])
    reg.reserve("Aurora", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                purposes=[Purpose.COMMERCIAL])
    reg.grant_licence("Aurora", licensee="LicensedAI", uses=[Use.AI_TRAIN],
                      valid_from=date(2025, 1, 1), work_ids=["AUR-2"])
    return reg


def plugin_scan(
    tmp: Path,
    bodies: Sequence[str],
    *,
    name: str = "scan",
    unknown: DecisionKind = DecisionKind.REVIEW,
    shard_size: int = 64,
) -> tuple[Path, dict[str, Any]]:
    """Scan a folder of ``len(bodies)`` text files; returns the scan folder and report."""
    work = tmp / name
    work.mkdir(parents=True)
    reg = make_registry(work / "r.db")
    ds = work / "ds"
    ds.mkdir()
    for i, body in enumerate(bodies):
        (ds / f"doc{i:05d}.txt").write_text(body + "\nmore\n")
    decision = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor="LicensedAI",
                                at=date(2026, 1, 1), unknown=unknown)
    job = ScanJob(source=ds, out_dir=work / "out", index_dir=work / "index", decision=decision,
                  view=registry_view(reg), checks=(PLUGIN,), shard_size=shard_size)
    reg.close()
    report = run_scan(job)
    return work / "out", report


def fixed_scans(tmp: Path) -> list[Path]:
    """A copy of the committed fixed scans (the demo's media scan and a web-text scan with
    URLs, languages and dates), safe to write next to."""
    out = []
    for name in ("media", "web"):
        shutil.copytree(FIXED_SCANS / name, tmp / name)
        out.append(tmp / name)
    return out
