"""``tdmguard demo``: the main job end to end on the embedded sample data.

1. A rights holder's side: a registry with two holders, works registered from real sample
   media (recordings, artwork, lyrics, melodies: fingerprints only), a holder-wide commercial
   reservation, a per-work reservation and one licence; the publishing kit writes the
   declaration bundle and stamps two files.
   The holder exports its registry as a signed snapshot; the AI developer pulls it into its
   own mirror (signature and digests checked) and scans against the mirror.
2. An AI developer's side: a scan of a sample dataset (distorted copies of registered works,
   stamped files, unregistered items), then a scan of a JSONL text manifest, scans of
   WebDataset shards and of a Hugging Face ``save_to_disk`` dataset (written with the real
   libraries from the demo's media) filtered into the same formats (``--write-kept``), and a
   check of a demo web site's opt-out signals served on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tdmguard.cli.output import console, print_json, print_table
from tdmguard.config import Settings
from tdmguard.errors import InputError, MissingExtraError
from tdmguard.vocab import DecisionKind, Purpose, Use

if TYPE_CHECKING:
    from tdmguard.registry.store import Registry
    from tdmguard.scan.decide import DecisionSettings

# The registry, engines, scan, snapshots and signals are imported inside the functions that
# run the demo: other commands (and `tdmguard --help`) never load them.

__all__ = ["register", "run_demo"]

AURORA = "Aurora Records"
MEADOW = "Meadow Music Publishing"
ACTOR = "Demo AI Lab"

# Dataset items copied from the sample folders: (area, file) -> where in the dataset.
DATASET = {
    ("audio", "query-awakening-speed105-noise15db.ogg"): "audio",
    ("audio", "query-nebula-pitch-up-2st.ogg"): "audio",
    ("audio", "query-chaos-god-tempo94.ogg"): "audio",
    ("audio", "unregistered-armygeddon.ogg"): "audio",
    ("image", "query-frog-resized.jpg"): "images",
    ("image", "query-penguin-mirrored.jpg"): "images",
    ("image", "query-caterpillar-cropped.png"): "images",
    ("image", "armadillo-unregistered.png"): "images",
    ("lyrics/training", "forum_thread_old_songs.txt"): "text",
    ("lyrics/training", "essay_without_lyrics.txt"): "text",
    ("melody", "query-jeanie-excerpt.mid"): "scores",
    ("melody", "unregistered-essen-boehme10-12.mid"): "scores",
}


def _import(reg: Registry, settings: Settings, catalogue: Path, holder: str) -> int:
    from tdmguard.fingerprint.engines import get_engine
    from tdmguard.registry.catalogue import fingerprint_media, read_catalogue
    from tdmguard.registry.matching import append_to_index

    # The demo's catalogues name media in sibling folders of the package's own data.
    rows = read_catalogue(catalogue, allow_outside_paths=True)
    items = [(row.work, fingerprint_media(row.media, where=row.where)) for row in rows]
    infos = reg.import_works(holder, items)
    for info, (_, fps) in zip(infos, items, strict=True):
        for fp, _sha in fps:
            append_to_index(settings.index_dir, get_engine(fp.modality), [(info.id, fp)])
    return len(infos)


def build_demo_registry(workdir: Path) -> tuple[Settings, Registry]:
    """Registry and index for the demo, in ``workdir``."""
    from tdmguard.demo import demo_data_dir
    from tdmguard.registry.store import Registry

    catalogues = demo_data_dir() / "catalogue"
    settings = Settings(
        db_url=f"sqlite:///{workdir / 'demo.db'}", index_dir=workdir / "demo.index"
    )
    reg = Registry.open(settings.db_url)
    reg.add_holder(AURORA, contact="licensing@aurora.example")
    reg.add_holder(MEADOW, contact="rights@meadow.example")
    _import(reg, settings, catalogues / "aurora.csv", AURORA)
    _import(reg, settings, catalogues / "meadow.csv", MEADOW)
    # Aurora reserves all TDM for commercial purposes, catalogue-wide (the label's notice).
    reg.reserve(AURORA, uses=[Use.TDM], purposes=[Purpose.COMMERCIAL],
                effective_from=date(2024, 5, 16), declared_at="https://aurora.example/ai-notice")
    # Meadow reserves AI training for two of its works only.
    reg.reserve(MEADOW, uses=[Use.AI_TRAIN], work_ids=["MEA-001", "MEA-002"],
                effective_from=date(2025, 1, 1), declared_at="https://meadow.example/tdm")
    # One licence: Aurora licenses its penguin artwork to us for AI training.
    reg.grant_licence(AURORA, licensee=ACTOR, uses=[Use.AI_TRAIN], work_ids=["AUR-ART-02"],
                      valid_from=date(2025, 6, 1))
    return settings, reg


def _rows(scan_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for name in ("kept", "excluded", "review", "errors"):
        for line in (scan_dir / f"{name}.jsonl").read_text("utf-8").splitlines():
            rec = json.loads(line)
            reasons = rec.get("reasons", [])
            codes = list(dict.fromkeys(r["code"] for r in reasons))
            works = list(dict.fromkeys(r["work"] for r in reasons if "work" in r))
            why = rec.get("error") or ", ".join(codes)
            rows.append({"item": rec["id"], "media": rec["media"],
                         "decision": rec.get("decision", "error"), "why": why,
                         "work": ", ".join(works)})
    return sorted(rows, key=lambda r: str(r["item"]))


def _scan_training_sets(
    settings: Settings, workdir: Path, decision: DecisionSettings
) -> dict[str, Any]:
    """Scan the demo's WebDataset shards and Hugging Face dataset with ``--write-kept`` and
    read the kept outputs back with the libraries a training pipeline uses."""
    from tdmguard.cli.scan_cmd import scan_dataset
    from tdmguard.demo.training_sets import write_hf_songs, write_webdataset
    from tdmguard.scan.readers import ReadOptions

    try:
        import datasets
        import webdataset as wds
    except ModuleNotFoundError as exc:
        raise MissingExtraError(exc.name or "datasets", "datasets") from exc

    datasets.disable_progress_bars()
    pattern = write_webdataset(workdir / "webdataset")
    hf = write_hf_songs(workdir / "hf-songs")
    # One worker: the scans run in this process, whose engines are already loaded.
    wds_report = scan_dataset(settings, pattern, workdir / "scan-wds", decision=decision,
                              workers=1, show_progress=False, write_kept=True)
    hf_report = scan_dataset(settings, hf, workdir / "scan-hf", decision=decision, workers=1,
                             show_progress=False, write_kept=True,
                             read=ReadOptions(text_column="lyrics"))
    kept_shards = sorted((workdir / "scan-wds" / "kept").glob("*.tar"))
    kept_keys = [s["__key__"] for s in wds.WebDataset([str(p) for p in kept_shards],
                                                      shardshuffle=False)]
    kept_ds = datasets.load_from_disk(str(workdir / "scan-hf" / "kept"))
    return {
        "scan_webdataset": {"source": pattern, "report": str(workdir / "scan-wds" / "report.json"),
                            "counts": wds_report["counts"], "items": _rows(workdir / "scan-wds"),
                            "kept_shards": [str(p) for p in kept_shards],
                            "kept_keys": kept_keys},
        "scan_hugging_face": {"source": str(hf), "report": str(workdir / "scan-hf" / "report.json"),
                              "counts": hf_report["counts"], "items": _rows(workdir / "scan-hf"),
                              "kept_dataset": str(workdir / "scan-hf" / "kept"),
                              "kept_ids": list(kept_ds["id"]),
                              "kept_columns": list(kept_ds.column_names)},
    }


def run_demo(workdir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    from tdmguard.cli.check_cmd import DEMO_PATHS, serve_demo_site
    from tdmguard.cli.declare_cmd import publish_demo
    from tdmguard.cli.scan_cmd import scan_dataset
    from tdmguard.demo import demo_data_dir
    from tdmguard.registry.snapshot import FolderReader, export_snapshot, pull_snapshot
    from tdmguard.registry.store import Registry
    from tdmguard.scan.decide import DecisionSettings
    from tdmguard.scan.summary import write_summary
    from tdmguard.signals.check import check_urls
    from tdmguard.signing import generate_signing_key

    data = demo_data_dir()
    holder_settings, reg = build_demo_registry(workdir)
    # The rights holder publishes: declaration bundle + two stamped files.
    published = publish_demo(reg, AURORA, workdir, base_url="https://aurora.example")
    works = [w.to_json() for w in reg.list_works()]
    # ... and exports a signed snapshot; the AI lab pulls it into its own mirror.
    key = generate_signing_key()
    snapshot = export_snapshot(reg, workdir / "snapshot", key)
    reg.close()
    settings = Settings(db_url=f"sqlite:///{workdir / 'lab-mirror.db'}",
                        index_dir=workdir / "lab-mirror.index")
    mirror = Registry.open(settings.db_url)
    pulled = pull_snapshot(mirror, settings.index_dir, FolderReader(snapshot.folder), key.public)
    mirror.close()

    # The AI developer scans a dataset.
    dataset = workdir / "dataset"
    for (area, name), sub in DATASET.items():
        (dataset / sub).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / area / name, dataset / sub / name)
    shutil.copytree(workdir / "stamped", dataset / "stamped")
    decision = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor=ACTOR,
                                at=date.today(), unknown=DecisionKind.KEEP)
    report = scan_dataset(settings, dataset, workdir / "scan", decision=decision, workers=2,
                          shard_size=4, show_progress=show_progress)
    # Text fields of a JSONL manifest go through the same pipeline.
    manifest = workdir / "posts.jsonl"
    shutil.copyfile(data / "lyrics" / "training" / "records.jsonl", manifest)
    text_report = scan_dataset(settings, manifest, workdir / "scan-posts", decision=decision,
                               workers=1, show_progress=False)

    # Training sets where ML teams keep them: WebDataset shards and a Hugging Face dataset,
    # scanned in place and filtered into the same formats for the next pipeline step.
    training = _scan_training_sets(settings, workdir, decision)

    # What the developer hands on: the HTML report (written by the scan) and a draft of
    # the EU AI Act training-content summary with the removal manifest.
    scans = [workdir / "scan", workdir / "scan-posts", workdir / "scan-wds", workdir / "scan-hf"]
    summary = write_summary(scans, workdir / "summary")

    # Before crawling: the web signals of a demo site served on 127.0.0.1.
    base, stop = serve_demo_site(data / "web")
    web: list[dict[str, Any]] = []
    try:
        for agent in ("*", "GPTBot", "Google-Extended"):
            for result in check_urls([base + p for p in DEMO_PATHS], agent=agent):
                line = result.to_json()
                line["url"] = str(line["url"]).removeprefix(base)
                web.append({"agent": agent, **line})
    finally:
        stop()

    return {
        "workdir": str(workdir),
        "registry": {"db": holder_settings.db_url, "index": str(holder_settings.index_dir),
                     "works": works},
        "declaration": published,
        "exchange": {"snapshot": snapshot.to_json(), "public_key": key.public.text,
                     "pulled": pulled.to_json(), "mirror": settings.db_url},
        "scan": {"report": str(workdir / "scan" / "report.json"),
                 "report_html": str(workdir / "scan" / "report.html"),
                 "counts": report["counts"],
                 "items": _rows(workdir / "scan")},
        "scan_text_manifest": {"report": str(workdir / "scan-posts" / "report.json"),
                               "counts": text_report["counts"],
                               "items": _rows(workdir / "scan-posts")},
        **training,
        "web": web,
        "summary": {"markdown": str(summary.markdown), "html": str(summary.html),
                    "json": str(summary.json), "removal_manifest": str(summary.manifest),
                    "open_questions": len(summary.summary["open_questions"])},
    }


def _print(summary: dict[str, Any]) -> None:
    works = summary["registry"]["works"]
    print_table("1. registered works (fingerprints only)", ["id", "holder", "title", "kind",
                                                          "fingerprints"],
                [w | {"fingerprints": ", ".join(w["fingerprints"])} for w in works])
    names = [f["path"] for f in summary["declaration"]["bundle"]["files"]]
    console.print(f"2. {AURORA} publishes its reservation in {len(names)} files under "
                  f"{summary['workdir']}/declaration and stamps "
                  f"{len(summary['declaration']['stamped'])} media files.")
    pulled = summary["exchange"]["pulled"]
    console.print(f"   The registry is exported as signed snapshot {pulled['snapshot']} "
                  f"(audit entries 1..{pulled['seq']}); {ACTOR} pulls it into its mirror "
                  f"{summary['exchange']['mirror']} (signature and every digest checked).")
    print_table(f"3. scan of a dataset as {ACTOR} (ai-train, commercial), on its mirror",
                ["item", "media", "decision", "why", "work"], summary["scan"]["items"])
    print_table("   totals", ["kept", "excluded", "review", "errors"],
                [summary["scan"]["counts"]])
    print_table("4. scan of a JSONL manifest's text fields", ["item", "decision", "why", "work"],
                summary["scan_text_manifest"]["items"])
    root = Path(summary["workdir"])
    wds_scan = summary["scan_webdataset"]
    print_table("5. WebDataset shards (audio, image, text, MIDI members), filtered",
                ["item", "media", "decision", "why", "work"], wds_scan["items"])
    shards = [str(Path(p).relative_to(root)) for p in wds_scan["kept_shards"]]
    console.print(f"   kept: {', '.join(shards)} hold {', '.join(wds_scan['kept_keys'])} "
                  "(read back with webdataset)")
    hf_scan = summary["scan_hugging_face"]
    print_table("6. Hugging Face dataset (save_to_disk; Audio, Image, lyrics), filtered",
                ["item", "media", "decision", "why", "work"], hf_scan["items"])
    console.print(f"   kept: {Path(hf_scan['kept_dataset']).relative_to(root)} holds "
                  f"{', '.join(hf_scan['kept_ids'])} (datasets.load_from_disk; columns "
                  f"{', '.join(hf_scan['kept_columns'])})")
    print_table("7. web signals of a demo site (tdmguard check)",
                ["agent", "url", "tdm", "ai-train", "genai-train", "ai-input", "search"],
                [{"agent": w["agent"], "url": w["url"], **w["stances"]} for w in summary["web"]])
    console.print(f"scan report: {summary['scan']['report']}")
    console.print(f"report page (open in a browser): {summary['scan']['report_html']}")
    console.print(f"training-content summary (draft, {summary['summary']['open_questions']} "
                  f"open questions): {summary['summary']['markdown']} and "
                  f"{summary['summary']['html']}")
    console.print(f"removal manifest: {summary['summary']['removal_manifest']}")


def demo(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the demo (default: a new "
                                             "temporary folder).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the main job on the embedded sample data and show what it decides."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()):
            raise InputError("demo folder is not empty", where=str(out))
        _run(out, json_out=json_out)
        return
    # Without --out everything goes to a temporary folder that is removed afterwards.
    with tempfile.TemporaryDirectory(prefix="tdmguard-demo-") as tmp:
        _run(Path(tmp), json_out=json_out)
    if not json_out:
        console.print("(the demo's temporary folder was removed: `tdmguard demo --out DIR` "
                      "keeps the registry, the declaration and the scan outputs)")


def _run(workdir: Path, *, json_out: bool) -> None:
    if not json_out:
        console.rule("tdmguard demo")
        console.print(f"{AURORA} reserves all TDM for commercial use, catalogue-wide, and "
                      f"licenses one artwork to {ACTOR}; {MEADOW} reserves AI training for "
                      f"two works. {ACTOR} scans a dataset for commercial AI training.")
    summary = run_demo(workdir, show_progress=not json_out)
    if json_out:
        print_json(summary)
    else:
        _print(summary)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
