"""Where a 10 s query's CPU time goes (issue 14), stage by stage, at a chosen index size.

    python -m benchmarks.audio.profile [--hours 1000] [--per-track 2] [--negatives 20]

Needs the 107 h index of ``python -m benchmarks.audio``; a larger level is grown as in
``benchmarks.audio.growth`` (time-shuffled copies of the distractor works) into
``<cache>/growth-<hours>`` and kept there for the next run (delete it by hand: ~2 GB per
1,000 h). The queries are those of the growth case (10 s, clean and pink noise 0 dB, plus
never-indexed negatives), written as 48 kHz float WAV. Each stage is the engine's own
function, called in the engine's order and timed with ``time.process_time`` (CPU time of
this process); every query runs twice and the second pass is reported (median and mean per
query), so the index pages a query touches are mapped. Prints a table; writes
``benchmarks/audio/profile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from benchmarks.audio.data import CACHE
from benchmarks.audio.growth import _base_index, copy_hours, grow, make_queries
from tdmguard.fingerprint.audio import AudioFingerprinter, alignment, coarse_vote, engine
from tdmguard.fingerprint.audio.peaks import find_peaks
from tdmguard.fingerprint.audio.triplets import expand_keys, make_triplets, quantise
from tdmguard.index.hash_index import HashIndex

HERE = Path(__file__).resolve().parent
STAGES = (
    "read (soundfile, mono)",
    "resample to 8 kHz (soxr)",
    "STFT + peaks",
    "triplet hashes",
    "expand query keys",
    "index look-up (key ranges)",
    "hit filter (select)",
    "coarse vote (per work)",
    "verify (fine vote, line fit)",
)


def _index(hours: int) -> Path:
    base, base_hours = _base_index()
    copies = max(0, round((hours - base_hours) / copy_hours(base)))
    if not copies:
        return base
    folder = CACHE / f"growth-{hours}"
    if not (folder / "manifest.json").exists():
        grow(base, folder, copies, seed=1414)
    return folder


def profile(index: HashIndex, paths: list[Path]) -> dict[str, list[float]]:
    eng = AudioFingerprinter()
    p = eng.params
    max_pitch, lr_range = alignment.hit_filter(p.align)
    layout = (engine._PITCH_BITS, float(engine._PITCH_UNITS), engine._CODE_BITS,
              float(engine._SPAN_UNITS))
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    vote = coarse_vote.best_cells_per_work
    vote_cpu: list[float] = []

    def timed_vote(*args: Any, **kw: Any) -> Any:
        c0 = time.process_time()
        out = vote(*args, **kw)
        vote_cpu.append(time.process_time() - c0)
        return out

    def clock(stage: str, fn: Callable[[], Any]) -> Any:
        c0 = time.process_time()
        out = fn()
        times[stage].append(time.process_time() - c0)
        return out

    coarse_vote.best_cells_per_work = timed_vote  # type: ignore[assignment]
    try:
        for rep in range(2):
            if rep == 1:
                times = {s: [] for s in STAGES}
                vote_cpu.clear()
            for path in paths:
                def read(path: Path = path) -> tuple[np.ndarray, int]:
                    with sf.SoundFile(str(path)) as fh:
                        x = fh.read(dtype="float32", always_2d=True)
                        return x.mean(axis=1) if x.shape[1] > 1 else x[:, 0], fh.samplerate

                x, rate = clock(STAGES[0], read)

                def resample(x: np.ndarray = x, rate: int = rate) -> np.ndarray:
                    stream = soxr.ResampleStream(rate, p.peaks.rate_hz, 1, dtype="float32",
                                                 quality="LQ")
                    y = stream.resample_chunk(x)
                    tail = stream.resample_chunk(np.zeros(0, np.float32), last=True)
                    return np.concatenate([y, tail])

                y = clock(STAGES[1], resample)
                peaks = clock(STAGES[2], lambda y=y: find_peaks(y, p.peaks))

                def hashes(peaks: Any = peaks) -> tuple[Any, Any]:
                    trip = make_triplets(peaks, p.triplets)
                    keys, codes = quantise(trip, p.triplets)
                    return keys, engine._pack_aux(trip, codes, p.triplets)

                keys, aux = clock(STAGES[3], hashes)
                q_t, q_f, q_code, q_span = engine._unpack_aux(aux)
                ex_keys, source = clock(
                    STAGES[4], lambda k=keys, c=q_code: expand_keys(k, c, p.triplets)
                )
                # the engine's budget: larger for a noisy query (AudioFingerprinter.hit_budget)
                budget = eng.budget_at(peaks.flatness)  # the engine's own rule
                ranges = clock(STAGES[5], lambda k=ex_keys, b=budget: index.key_ranges(
                    k, max_per_key=p.max_hits_per_key, max_hits=b))
                sel = clock(STAGES[6], lambda r=ranges, s=source, a=(q_t, q_f, q_span):
                            coarse_vote.select_ranges(
                                [(g.lo, g.count, g.work, g.aux, g.base) for g in r], s,
                                np.zeros(0, np.bool_), *a, layout=layout,
                                max_pitch=max_pitch, lr_range=lr_range))
                clock(STAGES[8], lambda sel=sel: alignment.align_hits(*sel, p.align))
            # the vote ran inside align_hits: move its time out of "verify"
            times[STAGES[7]] = list(vote_cpu)
            times[STAGES[8]] = [a - v for a, v in zip(times[STAGES[8]], vote_cpu, strict=True)]
    finally:
        coarse_vote.best_cells_per_work = vote  # type: ignore[assignment]
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.audio.profile")
    ap.add_argument("--hours", type=int, default=1000)
    ap.add_argument("--per-track", type=int, default=2)
    ap.add_argument("--negatives", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1414)
    args = ap.parse_args(argv)
    folder = _index(args.hours)
    index = HashIndex.open(folder)
    with tempfile.TemporaryDirectory(prefix="tdmguard-profile-") as tmp:
        queries = make_queries(args.per_track, args.negatives, Path(tmp), args.seed)
        AudioFingerprinter().extract(Path(queries[0]["path"]))  # imports, kernels
        times = profile(index, [Path(q["path"]) for q in queries])
    # decode_mono does read + resample in one streaming pass; the split above is for the table
    rows = []
    total = 0.0
    for stage in STAGES:
        v = times[stage]
        total += statistics.mean(v)
        rows.append({"stage": stage, "median_ms": 1000 * statistics.median(v),
                     "mean_ms": 1000 * statistics.mean(v)})
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load": f"{os.getloadavg()[0]:.1f}",
        "engine": AudioFingerprinter.engine,
        "args": vars(args),
        "index_hashes": len(index),
        "index_bytes": index.size_bytes(),
        "queries": len(queries),
        "stages": rows,
        "total_mean_ms": 1000 * total,
        "queries_per_s_per_core": 1.0 / total,
    }
    (HERE / "profile.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(f"{len(queries)} queries of 10 s, index {args.hours} h ({len(index):,} hashes), "
          f"load average {result['load']}")
    print("| stage | median CPU ms | mean CPU ms |\n|---|---|---|")
    for r in rows:
        print(f"| {r['stage']} | {r['median_ms']:.2f} | {r['mean_ms']:.2f} |")
    print(f"| total (sum of means) | | {1000 * total:.2f} |")
    print(f"queries/s per core: {1.0 / total:.1f}")


if __name__ == "__main__":
    main()
