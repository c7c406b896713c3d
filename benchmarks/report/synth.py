"""Scan outputs of any size for the report benchmark and the slow 1,000,000-item test.

Running a real scan of a million items does not fit this machine, so the four JSON Lines
files and report.json are written from templates that are real output lines (the committed
fixed scans of ``tests/scan/data/fixed-scans``), with ids, URLs, sizes and scores varied. The
report code reads them exactly as it reads a scan's own outputs.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXED = ROOT / "tests" / "scan" / "data" / "fixed-scans"
OUTPUTS = {"kept": "keep", "excluded": "exclude", "review": "review", "errors": "error"}


def _templates() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in OUTPUTS}
    for scan in ("media", "web"):
        for name in OUTPUTS:
            for line in (FIXED / scan / f"{name}.jsonl").read_text("utf-8").splitlines():
                out[name].append(json.loads(line))
    out["review"].append(out["kept"][0] | {"decision": "review"})  # no review in the fixtures
    return out


def write_outputs(folder: Path, n: int, *, excluded: float = 0.1, review: float = 0.02,
                  errors: float = 0.005, domains: int = 20_000, seed: int = 7) -> dict[str, Any]:
    """Write a scan folder of ``n`` items; returns its report.json (also written)."""
    rng = random.Random(seed)
    templates = _templates()
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: (folder / f"{name}.jsonl").open("w", encoding="utf-8") for name in OUTPUTS}
    counts: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    by_media: Counter[str] = Counter()
    size_total = 0
    try:
        for i in range(n):
            r = rng.random()
            name = ("errors" if r < errors else "excluded" if r < errors + excluded
                    else "review" if r < errors + excluded + review else "kept")
            line = dict(rng.choice(templates[name]))
            line["id"] = f"item/{i:07d}"
            line["url"] = f"https://site{int(rng.paretovariate(1.2)) % domains}.example/p/{i}"
            size = int(rng.lognormvariate(9, 1.5))
            line["size_bytes"] = size
            size_total += size
            if line.get("matches"):
                line["matches"] = [m | {"score": round(m["score"] * rng.uniform(0.8, 1.2), 4)}
                                   for m in line["matches"]]
            files[name].write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            counts[name] += 1
            by_media[line["media"]] += 1
            for reason in line.get("reasons", []):
                by_reason[reason["code"]] += 1
    finally:
        for fh in files.values():
            fh.close()
    report = json.loads((FIXED / "media" / "report.json").read_text("utf-8"))
    report.pop("content", None)  # computed from the outputs by the report code
    report["inputs"]["records"] = n
    report["inputs"]["source"] = f"synthetic-{n}"
    report["counts"] = {k: counts[k] for k in OUTPUTS}
    report["by_decision"] = {OUTPUTS[k]: v for k, v in counts.items() if k != "errors"}
    report["by_reason"] = dict(sorted(by_reason.items()))
    report["by_media"] = dict(sorted(by_media.items()))
    report["bytes"] = size_total
    report["timeline"] = [
        {"minute": f"2026-01-01T{h:02d}:{m:02d}",
         **{OUTPUTS[k]: v // 120 for k, v in counts.items()}}
        for h in range(2) for m in range(60)
    ]
    (folder / "report.json").write_text(json.dumps(report, indent=2), "utf-8")
    return report
