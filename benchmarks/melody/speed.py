"""CPU per 16-note excerpt for several engine settings, side by side on the same queries.

One index of the registered half of Essen, O'Neill's and Ryan's (as ``fp.py``); excerpts
of registered and held-out works at 0-2 edits; each variant fingerprints and ranks every
query in turn (interleaved, so load changes on a shared machine hit all variants alike);
``time.process_time`` per query, mean and median per variant, and the works aligned.

    python -m benchmarks.melody.speed [--queries 300] [--passes 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.melody.corpus import build_index, load_works, split
from benchmarks.melody.fp import COLLECTIONS, draw
from benchmarks.melody.run import in_part
from tdmguard.fingerprint.melody import MelodyFingerprinter
from tdmguard.fingerprint.melody.engine import MelodySettings

HERE = Path(__file__).parent
VARIANTS = {
    "candidates 12 (before)": replace(MelodySettings(), more_candidates=0, candidates=12),
    "candidates 24": replace(MelodySettings(), more_candidates=0, candidates=24),
    "12 + 12 where none reported": replace(MelodySettings(), candidates=12,
                                           more_candidates=12),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=300, help="per side (registered, "
                        "held out), spread over 0-2 edits")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    registered, held_out = split(load_works(COLLECTIONS))
    engines = {name: MelodyFingerprinter(s) for name, s in VARIANTS.items()}
    base = next(iter(engines.values()))
    rng = np.random.default_rng(args.seed)
    reg = [w for w in registered if in_part(w, "report") or w.collection != "essenFolksong"]
    held = [w for w in held_out if in_part(w, "report") or w.collection != "essenFolksong"]
    lines = [line for works in (reg, held) for k in (0, 1, 2)
             for _, line in draw(works, args.queries // 3, rng, k)]
    cpu: dict[str, list[float]] = {name: [] for name in engines}
    aligned: dict[str, list[int]] = {name: [] for name in engines}
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(base, registered, Path(tmp))
        for _ in range(args.passes):
            for line in lines:
                for name, engine in engines.items():
                    c0 = time.process_time()
                    ranked = engine.rank(engine.fingerprint_lines([line]), index)
                    cpu[name].append(time.process_time() - c0)
                    aligned[name].append(len(ranked))
    out = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
           "load_average": os.getloadavg(), "queries": len(lines), "passes": args.passes,
           "variants": {name: {"cpu_ms_mean": round(1000 * float(np.mean(v)), 2),
                               "cpu_ms_median": round(1000 * float(np.median(v)), 2),
                               "queries_per_cpu_s": round(1 / float(np.mean(v)), 1),
                               "works_aligned_mean": round(float(np.mean(aligned[name])), 2)}
                        for name, v in cpu.items()}}
    print(json.dumps(out, indent=1))
    (HERE / "speed-results.json").write_text(json.dumps(out, indent=1) + "\n",
                                             encoding="utf-8")


if __name__ == "__main__":
    main()
