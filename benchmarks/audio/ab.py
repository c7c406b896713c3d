"""Interleaved A/B of the audio engine against an earlier commit, in one process (issue 14).

    python -m benchmarks.audio.ab [--ref d9cf879] [--hours 1000] [--passes 3]
        [--noisy-budget default|on|off]

CPU time on a shared virtual machine moves by a third between runs of the same code, so a
speed change is measured here as a ratio: the package at ``--ref`` (``git archive``, imported
as ``tdmguard_ref``) and the working tree's run one after the other on every query, same
index, same process, each pass in turn; the last pass is reported. Also checks that both
give identical fingerprints and identical matches (work, score, spans, time factor), per kind of
query, and counts each side's correct top-1 answers (at the engine's threshold). The
queries and the index level are those of ``benchmarks.audio.profile`` (72 queries of 10 s;
the level is grown and kept in the cache when missing). Prints a table; writes
``benchmarks/audio/ab.json``. About 1.5 min with the level cached.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.audio.growth import make_queries
from benchmarks.audio.profile import _index
from tdmguard.fingerprint.audio import AudioFingerprinter, AudioParams
from tdmguard.fingerprint.audio.engine import NOISY_MAX_HITS
from tdmguard.index.hash_index import HashIndex

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _ref_package(ref: str, dest: Path) -> None:
    """``src/tdmguard`` of commit ``ref`` as package ``tdmguard_ref`` under ``dest``."""
    blob = subprocess.run(
        ["git", "archive", ref, "src/tdmguard"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest / "x", filter="data")
    (dest / "x" / "src" / "tdmguard").rename(dest / "tdmguard_ref")
    pattern = re.compile(r"\btdmguard(?=[.\s])")
    for path in (dest / "tdmguard_ref").rglob("*.py"):
        text = path.read_text("utf-8")
        path.write_text(pattern.sub("tdmguard_ref", text), "utf-8")


def _summary(matches: list[Any]) -> list[tuple[str, float, float, float, float]]:
    return [
        (m.work_id, m.score, m.query_start, m.ref_start, round(m.time_factor, 9))
        for m in matches
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.audio.ab")
    ap.add_argument("--ref", default="d9cf879", help="the commit to compare with")
    ap.add_argument("--hours", type=int, default=1000)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument(
        "--noisy-budget",
        choices=("default", "on", "off"),
        default="default",
        help="this tree's side: the noisy-query budget (AudioParams.noisy_max_hits) as by "
        "default (on since the sixth wave), on or off",
    )
    args = ap.parse_args(argv)
    folder = _index(args.hours)
    params = {
        "default": AudioParams(),
        "on": AudioParams(noisy_max_hits=NOISY_MAX_HITS),
        "off": AudioParams(noisy_max_hits=None),
    }[args.noisy_budget]
    with tempfile.TemporaryDirectory(prefix="tdmguard-ab-") as tmp:
        _ref_package(args.ref, Path(tmp))
        sys.path.insert(0, tmp)
        ref_audio = importlib.import_module("tdmguard_ref.fingerprint.audio")
        ref_index = importlib.import_module("tdmguard_ref.index.hash_index")
        queries = make_queries(2, 20, Path(tmp), 1414)
        paths = [Path(q["path"]) for q in queries]
        sides: dict[str, tuple[Any, Any]] = {
            "ref": (ref_audio.AudioFingerprinter(), ref_index.HashIndex.open(folder)),
            "new": (AudioFingerprinter(params), HashIndex.open(folder)),
        }
        fps = {name: [eng.extract(p) for p in paths] for name, (eng, _) in sides.items()}
        same_fp = all(
            np.array_equal(a.keys, b.keys) and np.array_equal(a.aux, b.aux)
            for a, b in zip(fps["ref"], fps["new"], strict=True)
        )
        times: dict[str, list[float]] = {}
        same = 0
        threshold = AudioFingerprinter().params.align.min_score
        kinds = sorted({str(q["kind"]) for q in queries})
        per_kind: dict[str, dict[str, int]] = {}
        for _ in range(args.passes):
            times = {f"{n} {s}": [] for n in sides for s in ("extract", "match")}
            same = 0
            per_kind = {
                k: {"queries": 0, "identical": 0, "ref top-1": 0, "new top-1": 0} for k in kinds
            }
            for i, path in enumerate(paths):
                found = {}
                for name, (eng, index) in sides.items():
                    c0 = time.process_time()
                    eng.extract(path)
                    times[f"{name} extract"].append(time.process_time() - c0)
                    c0 = time.process_time()
                    found[name] = _summary(eng.match(fps[name][i], index))
                    times[f"{name} match"].append(time.process_time() - c0)
                same += found["ref"] == found["new"]
                row = per_kind[str(queries[i]["kind"])]
                row["queries"] += 1
                row["identical"] += found["ref"] == found["new"]
                for name in sides:
                    top = found[name][0] if found[name] else None
                    # a negative counts when nothing reaches the threshold
                    answer = top[0] if top is not None and top[1] >= threshold else None
                    row[f"{name} top-1"] += answer == queries[i]["truth"]
    mean = {k: 1000 * statistics.mean(v) for k, v in times.items()}
    total = {n: mean[f"{n} extract"] + mean[f"{n} match"] for n in sides}
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load": f"{os.getloadavg()[0]:.1f}",
        "args": vars(args),
        "queries": len(paths),
        "fingerprints_identical": same_fp,
        "matches_identical": same,
        "per_kind": per_kind,
        "mean_cpu_ms": mean,
        "total_ms": total,
        "ratio_total": total["new"] / total["ref"],
        "ratio_match": mean["new match"] / mean["ref match"],
        "ratio_extract": mean["new extract"] / mean["ref extract"],
    }
    (HERE / "ab.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(
        f"{len(paths)} queries of 10 s at {args.hours} h, ref {args.ref}, noisy budget "
        f"{'off' if params.noisy_max_hits is None else 'on'} (new side), load average "
        f"{result['load']}; fingerprints identical: {same_fp}; matches identical: "
        f"{same} / {len(paths)}"
    )
    print("| kind | queries | matches identical | ref correct | new correct |")
    print("|---|---|---|---|---|")
    for kind, row in per_kind.items():
        print(
            f"| {kind} | {row['queries']} | {row['identical']} | {row['ref top-1']} | "
            f"{row['new top-1']} |"
        )
    print("| CPU ms per query (mean) | ref | new | new / ref |\n|---|---|---|---|")
    for stage in ("extract", "match"):
        r, n = mean[f"ref {stage}"], mean[f"new {stage}"]
        print(f"| {stage} | {r:.2f} | {n:.2f} | {n / r:.3f} |")
    print(f"| total | {total['ref']:.2f} | {total['new']:.2f} | {result['ratio_total']:.3f} |")


if __name__ == "__main__":
    main()
