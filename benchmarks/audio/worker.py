"""One scan worker: open the index, fingerprint and match every query file, report per query.

Run in its own process so that its peak resident memory is what one worker of a scan needs.
``python -m benchmarks.audio.worker INDEX_DIR QUERIES.json OUT.json``
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

from tdmguard.fingerprint.audio import AudioFingerprinter, AudioParams
from tdmguard.index.hash_index import HashIndex


def main() -> None:
    index_dir, queries_path, out_path = (Path(a) for a in sys.argv[1:4])
    t0 = time.perf_counter()
    index = HashIndex.open(index_dir)
    open_s = time.perf_counter() - t0
    # a permissive threshold, so that the report can show the score distribution of the
    # negatives; run.py applies the engine's own ``min_score`` to every top-1
    params = AudioParams()
    engine = AudioFingerprinter(replace(params, align=replace(params.align, min_score=3)))
    queries = json.loads(queries_path.read_text())
    # one-time start-up of a worker (numba loads its compiled vote kernels): paid once per
    # process, not per query, so it is measured and reported on its own
    w0 = time.perf_counter()
    if queries:
        engine.match(engine.extract(Path(queries[0]["path"])), index)
    startup_s = time.perf_counter() - w0
    results = []
    for q in queries:
        c0 = time.process_time()
        w0 = time.perf_counter()
        fp = engine.extract(Path(q["path"]))
        w1 = time.perf_counter()
        matches = engine.match(fp, index)
        w2 = time.perf_counter()
        top = matches[0] if matches else None
        results.append(
            {
                "id": q["id"],
                "top": top.work_id if top else None,
                "score": top.score if top else 0.0,
                "time_factor": top.time_factor if top else None,
                "pitch_factor": top.pitch_factor if top else None,
                "ref_start": top.ref_start if top else None,
                "extract_s": w1 - w0,
                "match_s": w2 - w1,
                "cpu_s": time.process_time() - c0,
            }
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out_path.write_text(
        json.dumps(
            {"open_s": open_s, "startup_s": startup_s, "peak_rss_mb": rss_mb, "results": results}
        )
    )


if __name__ == "__main__":
    main()
