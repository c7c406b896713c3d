"""``tdmguard demo``: the main job end to end on the embedded sample data.

Builds a demo registry (two holders, works with fingerprints, a holder-wide commercial
reservation, a per-work reservation, one licence) in a temporary folder, scans a small
sample dataset as an AI developer would, and prints what was kept, excluded and why.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tdmguard.cli.output import console, print_json, print_table
from tdmguard.cli.scan_cmd import scan_dataset
from tdmguard.config import Settings
from tdmguard.demo import demo_data_dir
from tdmguard.errors import InputError
from tdmguard.fingerprint.engines import get_engine
from tdmguard.registry.catalogue import fingerprint_media, read_catalogue
from tdmguard.registry.matching import append_to_index
from tdmguard.registry.store import Registry
from tdmguard.scan.decide import DecisionSettings
from tdmguard.vocab import DecisionKind, Purpose, Use

__all__ = ["register", "run_demo"]

AURORA = "Aurora Records"
MEADOW = "Meadow Music Publishing"
ACTOR = "Demo AI Lab"
LICENSEE = "Licensed Lab"


def _import(reg: Registry, settings: Settings, catalogue: Path, holder: str) -> int:
    rows = read_catalogue(catalogue)
    items = [(row.work, fingerprint_media(row.media, where=row.where)) for row in rows]
    infos = reg.import_works(holder, items)
    for info, (_, fps) in zip(infos, items, strict=True):
        for fp, _sha in fps:
            append_to_index(settings.index_dir, get_engine(fp.modality), [(info.id, fp)])
    return len(infos)


def build_demo_registry(workdir: Path) -> Settings:
    """Registry and index for the demo, in ``workdir``."""
    data = demo_data_dir()
    settings = Settings(db_url=f"sqlite:///{workdir / 'demo.db'}",
                        index_dir=workdir / "demo.index")
    reg = Registry.open(settings.db_url)
    reg.add_holder(AURORA, contact="licensing@aurora.example")
    reg.add_holder(MEADOW, contact="rights@meadow.example")
    _import(reg, settings, data / "catalogue" / "aurora.csv", AURORA)
    _import(reg, settings, data / "catalogue" / "meadow.csv", MEADOW)
    # Aurora reserves all TDM for commercial purposes, catalogue-wide (the label's notice).
    reg.reserve(AURORA, uses=[Use.TDM], purposes=[Purpose.COMMERCIAL],
                effective_from=date(2024, 5, 16), declared_at="https://aurora.example/ai-notice")
    # Meadow reserves AI training for one work only.
    meadow_works = [w.id for w in reg.list_works(MEADOW)]
    if meadow_works:
        reg.reserve(MEADOW, uses=[Use.AI_TRAIN], work_ids=meadow_works[:1],
                    effective_from=date(2025, 1, 1))
    # One licence: Aurora licenses one work for AI training to a lab that is not us.
    aurora_works = [w.id for w in reg.list_works(AURORA)]
    if aurora_works:
        reg.grant_licence(AURORA, licensee=LICENSEE, uses=[Use.AI_TRAIN],
                          work_ids=aurora_works[:1], valid_from=date(2025, 6, 1))
    reg.close()
    return settings


def run_demo(workdir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    data = demo_data_dir()
    settings = build_demo_registry(workdir)
    dataset = workdir / "dataset"
    shutil.copytree(data / "dataset", dataset)
    decision = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor=ACTOR,
                                at=date.today(), unknown=DecisionKind.KEEP)
    report = scan_dataset(settings, dataset, workdir / "scan", decision=decision, workers=2,
                          shard_size=4, show_progress=show_progress)
    rows = []
    for name in ("kept", "excluded", "review", "errors"):
        for line in (workdir / "scan" / f"{name}.jsonl").read_text("utf-8").splitlines():
            rec = json.loads(line)
            why = rec.get("error") or "; ".join(
                r["code"] + (f" ({r['work']})" if "work" in r else "")
                for r in rec.get("reasons", []))
            rows.append({"item": rec["id"], "media": rec["media"],
                         "decision": rec.get("decision", "error"), "why": why})
    return {"workdir": str(workdir), "report": str(workdir / "scan" / "report.json"),
            "counts": report["counts"], "items": rows}


def demo(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the demo (default: a new "
                                             "temporary folder).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the main job on the embedded sample data and show what it decides."""
    workdir = out if out is not None else Path(tempfile.mkdtemp(prefix="tdmguard-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise InputError("demo folder is not empty", where=str(workdir))
    if not json_out:
        console.rule("tdmguard demo")
        console.print(f"registry: {AURORA} reserves TDM for commercial use (catalogue-wide), "
                      f"{MEADOW} reserves AI training for one work; {AURORA} licenses one "
                      f"work to {LICENSEE}. We scan as {ACTOR} for commercial ai-train.")
    summary = run_demo(workdir, show_progress=not json_out)
    if json_out:
        print_json(summary)
        return
    print_table("what the scan decided", ["item", "media", "decision", "why"], summary["items"])
    print_table("totals", ["kept", "excluded", "review", "errors"], [summary["counts"]])
    console.print(f"report: {summary['report']}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
