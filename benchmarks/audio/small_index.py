"""Small-catalogue case of the audio benchmark (issue 14): query time must not depend on how
sparse the coarse vote table is.

    python -m benchmarks.audio.small_index [--per-track 4]

Registers only the catalogue (Debian ``singularity-music``, ~1 h: a label's first import)
and matches 10 s excerpts (clean, pink noise at 0 dB SNR) twice: with the shipped coarse
stage (each work's best cell counted exactly, ``coarse_vote.best_cells_per_work``) and with
the one before issue 14 (a hashed 2^18-slot vote table, ``np.argpartition`` over all of it),
counts the queries whose matches differ, and reports match time per query and queries/s per
core (match only: the fingerprints are made beforehand,
so the two selections are compared on the same work). Writes
``benchmarks/audio/small_index.json``; the figures go into ``RESULTS.md`` by hand.
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

from benchmarks.audio.data import tracks
from benchmarks.audio.distort import DISTORTIONS, RATE
from tdmguard.fingerprint.audio import AudioFingerprinter, coarse_vote
from tdmguard.index.hash_index import HashIndex, SegmentWriter

HERE = Path(__file__).resolve().parent
KINDS = ("clean 10 s", "pink 0 dB")


def previous_top_cells(
    work: Any, qc: Any, rt: Any, factors: Any, bin_width: float, shift: float, n_top: int
) -> tuple[Any, Any, int, int]:
    """The selection before issue 14: np.argpartition over the whole vote table."""
    votes, _, lo, span = coarse_vote._votes(work, qc, rt, factors, float(bin_width),
                                            float(shift))
    table = votes.shape[0]
    n_top = min(n_top, table)
    best = np.argpartition(votes, table - n_top)[table - n_top :]
    best = best[votes[best] > 0]
    mark = np.zeros(table, dtype=np.uint8)
    mark[best] = 1
    total = int(votes[best].sum())
    keys = coarse_vote._members(work, qc, rt, factors, float(bin_width), float(shift), lo,
                                span, mark, total)
    cells, counts = np.unique(keys, return_counts=True)
    return cells, counts.astype(np.int64), int(lo), int(span)


def hashed_stage(select: Callable[..., Any]) -> Callable[..., Any]:
    """The coarse stage before the per-work one: the ``4 * candidates`` best cells of a
    hashed vote table per bin grid (``select``), then each work's best of them."""

    def stage(work: Any, qc: Any, rt: Any, factors: Any, bin_width: float,
              min_votes: int, min_hits: int = 0, n_best: int = 0
              ) -> tuple[Any, Any, Any, Any]:
        # min_hits, n_best: pruning hints of the shipped stage (same answer); not used here
        n_f, n_top = factors.shape[0], 32
        best: dict[int, tuple[int, int, float]] = {}
        for shift in (0.0, 0.5):
            cells, counts, omin, span = select(work, qc, rt, factors, bin_width, shift, n_top)
            strong = counts >= min_votes
            cells, counts = cells[strong], counts[strong]
            for j in np.argsort(-counts, kind="stable")[:n_top]:
                w, rest = divmod(int(cells[j]), n_f * span)
                fi, ob = divmod(rest, span)
                if w not in best or counts[j] > best[w][0]:
                    best[w] = (int(counts[j]), fi, omin + ob + 0.5 - shift)
        ws = np.array(sorted(best), np.int64)
        return (ws, np.array([best[w][0] for w in ws], np.int64),
                np.array([best[w][1] for w in ws], np.int64),
                np.array([best[w][2] for w in ws], np.float64))

    return stage


def _clip(path: Path, start_s: float, length_s: float, rate: int) -> np.ndarray:
    with sf.SoundFile(str(path)) as fh:
        sr = fh.samplerate
        fh.seek(int(start_s * sr))
        x = fh.read(int(length_s * sr), dtype="float32", always_2d=True).mean(axis=1)
    return np.asarray(soxr.resample(x, sr, rate), dtype=np.float32)


def _timed(engine: AudioFingerprinter, index: Any, fps: list[Any],
           select: Callable[..., Any]) -> tuple[list[list[dict[str, object]]], list[float]]:
    coarse_vote.best_cells_per_work = select  # alignment imports it at call time
    engine.match(fps[0], index)  # warm
    out, times = [], []
    for fp in fps:
        t = time.process_time()
        found = engine.match(fp, index)
        times.append(time.process_time() - t)
        out.append([m.to_json() for m in found])
    return out, times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.audio.small_index")
    ap.add_argument("--per-track", type=int, default=4)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args(argv)
    engine = AudioFingerprinter()
    rate = engine.params.peaks.rate_hz
    catalogue = tracks("singularity-music")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ix"
        HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
        writer = SegmentWriter(engine.aux_width)
        hours = 0.0
        for path in catalogue:
            fp = engine.extract(path)
            hours += float(fp.meta["duration_s"]) / 3600
            writer.add(f"{path.stem}", fp.keys, fp.aux, fp.meta)
        HashIndex.append_segment(folder, writer)
        index = HashIndex.open(folder)
        queries: list[tuple[str, str, Any]] = []
        for kind in KINDS:
            _, distortion = DISTORTIONS[kind]
            for path in catalogue:
                duration = sf.info(str(path)).duration
                for _ in range(args.per_track):
                    start = float(rng.uniform(0, max(0.0, duration - 11)))
                    x48 = _clip(path, start, 10.0, RATE)
                    noisy, _ = distortion(x48, rng)
                    x = np.asarray(soxr.resample(noisy, RATE, rate), dtype=np.float32)
                    queries.append((kind, path.stem, engine.extract_samples(x)))
        fps = [q[2] for q in queries]
        shipped = coarse_vote.best_cells_per_work
        try:
            new, new_t = _timed(engine, index, fps, shipped)
            old, old_t = _timed(engine, index, fps, hashed_stage(previous_top_cells))
        finally:
            coarse_vote.best_cells_per_work = shipped
    per_kind = {}
    for kind in KINDS:
        rows = [i for i, q in enumerate(queries) if q[0] == kind]
        per_kind[kind] = {
            "queries": len(rows),
            "top1": round(sum(bool(new[i]) and new[i][0]["work_id"] == queries[i][1]
                              for i in rows) / len(rows), 4),
        }
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "engine": engine.engine,
        "catalogue": {"tracks": len(catalogue), "hours": round(hours, 2)},
        "queries": len(queries),
        "identical_matches": new == old,
        "differing_queries": sum(a != b for a, b in zip(new, old, strict=True)),
        "shipped": {"match_ms_median": round(1000 * statistics.median(new_t), 2),
                    "queries_per_s_core": round(len(new_t) / sum(new_t), 1)},
        "previous": {"match_ms_median": round(1000 * statistics.median(old_t), 2),
                     "queries_per_s_core": round(len(old_t) / sum(old_t), 1)},
        "per_kind": per_kind,
    }
    (HERE / "small_index.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
