"""Audio recording matching benchmark (issue 5), tdmguard vs Chromaprint, in one run.

    python -m benchmarks.audio            # quick: 1 excerpt per track and distortion, 300 negatives
    python -m benchmarks.audio --full     # 4 excerpts per track and distortion, 1000 negatives

Catalogue: the 14 tracks of Debian ``singularity-music`` (CC-BY-SA-3.0), registered.
Negatives (never indexed): ``fretsonfire-songs-muldjord`` and ``drascula-music``.
Distractors: ``wesnoth-1.16-music`` and ``nexuiz-music`` tracks, each indexed as 30 speed
variants (x0.76..x1.34, resampled) registered as distinct works, so the index holds >= 100 h of
real-music hashes; the index is cached under ``$TDMGUARD_CACHE/bench-audio/`` by engine version.
Queries are cut and distorted here (``distort.py``), written as files, and matched by a
separate worker process (``worker.py``) that opens the 100 h index, decodes, fingerprints and
matches each file; its wall time per query and peak RSS are what a scan worker pays.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from benchmarks.audio.data import CACHE, load_catalogue
from benchmarks.audio.distort import DISTORTIONS, RATE
from tdmguard import __version__
from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.fingerprint.audio.decode import decode_mono
from tdmguard.index.hash_index import HashIndex, SegmentWriter

HERE = Path(__file__).resolve().parent
SPEED_VARIANTS = np.geomspace(0.76, 1.34, 30)


def _ensure_librosa() -> None:
    try:
        import librosa  # noqa: F401
    except ModuleNotFoundError:
        uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
        cmd = [uv, "pip", "install", "--python", sys.executable, "librosa"]
        if not Path(uv).exists():
            cmd = [sys.executable, "-m", "pip", "install", "librosa"]
        subprocess.run(cmd, check=True)


def _work_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _excerpt(path: Path, start_s: float, length_s: float) -> np.ndarray:
    """Mono float32 at 48 kHz, ``length_s`` seconds from ``start_s``."""
    with sf.SoundFile(str(path)) as fh:
        sr = fh.samplerate
        fh.seek(int(start_s * sr))
        x = fh.read(int(length_s * sr), dtype="float32", always_2d=True).mean(axis=1)
    if sr != RATE:
        x = soxr.resample(x, sr, RATE)
    return np.asarray(x, dtype=np.float32)


def _write_query(folder: Path, qid: int, clip: np.ndarray, ext: str) -> Path:
    path = folder / f"q{qid:05d}.{ext}"
    if ext == "wav":
        sf.write(str(path), clip, RATE, subtype="FLOAT")
    else:
        path.write_bytes(clip.tobytes())
    return path


def make_queries(
    cat_tracks: list[Path],
    negatives: list[Path],
    per_track: int,
    n_negatives: int,
    folder: Path,
    seed: int,
) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    queries: list[dict[str, object]] = []
    for name, (length, distortion) in DISTORTIONS.items():
        for track in cat_tracks:
            duration = sf.info(str(track)).duration
            for _ in range(per_track):
                stretch = name.startswith(("speed", "tempo"))
                cut = length * 1.12 if stretch else length  # room for a speed-up
                start = float(rng.uniform(0, max(0.0, duration - cut - 1)))
                clip, ext = distortion(_excerpt(track, start, cut), rng)
                if stretch:
                    clip = clip[: int(length * RATE)]
                qid = len(queries)
                queries.append(
                    {
                        "id": qid,
                        "kind": name,
                        "truth": _work_id(track),
                        "start_s": start,
                        "path": str(_write_query(folder, qid, clip, ext)),
                    }
                )
    for i in range(n_negatives):
        track = negatives[i % len(negatives)]
        duration = sf.info(str(track)).duration
        start = float(rng.uniform(0, max(0.0, duration - 11)))
        clip = _excerpt(track, start, 10.0)
        qid = len(queries)
        queries.append(
            {
                "id": qid,
                "kind": "negative 10 s",
                "truth": None,
                "start_s": start,
                "path": str(_write_query(folder, qid, clip, "wav")),
            }
        )
    return queries


def _register(paths: list[Path]) -> tuple[list[tuple[str, object]], float, float]:
    """Fingerprint files (decoding included): fingerprints, audio seconds, CPU seconds."""
    engine = AudioFingerprinter()
    out = []
    audio_s = cpu_s = 0.0
    # one untimed run on the first file: the imports of scipy.fft, soundfile and soxr are a
    # one-time cost of the process (~2 % of the 61 min catalogue), not of fingerprinting
    if paths:
        engine.extract(paths[0])
    for path in paths:
        c0 = time.process_time()
        fp = engine.extract(path)
        cpu_s += time.process_time() - c0
        audio_s += float(fp.meta["duration_s"])
        out.append((_work_id(path), fp))
    return out, audio_s, cpu_s


def _distractor_variants(path: str) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], float]:
    engine = AudioFingerprinter()
    rate = engine.params.peaks.rate_hz
    x = decode_mono(Path(path), rate_hz=rate, max_duration_s=3 * 3600).samples
    out = []
    hours = 0.0
    for factor in SPEED_VARIANTS:
        y = soxr.resample(x, rate * factor, rate).astype(np.float32)
        fp = engine.extract_samples(y)
        out.append((f"distractor/{Path(path).stem}@{factor:.3f}", fp.keys, fp.aux))
        hours += y.shape[0] / rate / 3600
    return out, hours


def build_big_index(
    catalogue_fps: list[tuple[str, object]], distractors: list[Path], workers: int
) -> tuple[Path, float]:
    engine = AudioFingerprinter()
    # extraction settings only: matching settings do not change what the index holds
    digest = hashlib.sha256(
        (
            engine.engine
            + repr(engine.params.peaks)
            + repr(engine.params.triplets)
            + repr(list(SPEED_VARIANTS))
            + "".join(sorted(p.name for p in distractors))
        ).encode()
    ).hexdigest()[:12]
    folder = CACHE / f"index-{digest}"
    meta_path = folder / "bench.json"
    if meta_path.exists():
        return folder, float(json.loads(meta_path.read_text())["hours"])
    shutil.rmtree(folder, ignore_errors=True)
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = SegmentWriter(engine.aux_width)
    hours = 0.0
    for work_id, fp in catalogue_fps:
        writer.add(work_id, fp.keys, fp.aux, fp.meta)  # type: ignore[attr-defined]
        hours += float(fp.meta["duration_s"]) / 3600  # type: ignore[attr-defined]
    t0 = time.time()
    with ProcessPoolExecutor(workers) as pool:
        for i, (variants, h) in enumerate(pool.map(_distractor_variants, map(str, distractors))):
            for work_id, keys, aux in variants:
                writer.add(work_id, keys, aux)
            hours += h
            print(
                f"  distractors {i + 1}/{len(distractors)}: {hours:.1f} h "
                f"({time.time() - t0:.0f} s)",
                flush=True,
            )
    HashIndex.append_segment(folder, writer)
    meta_path.write_text(json.dumps({"hours": hours, "works": len(writer)}))
    return folder, hours


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--full", action="store_true", help="4 excerpts per track and distortion, 1000 negatives"
    )
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2, help="processes for the 100 h index build")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    per_track, n_neg = (4, 1000) if args.full else (1, 300)
    _ensure_librosa()
    cat = load_catalogue()
    print(
        f"catalogue {len(cat.registered)} tracks, negatives {len(cat.negatives)}, "
        f"distractors {len(cat.distractors)}",
        flush=True,
    )

    # 1. register the catalogue: speed x real time per core, decoding included
    fps, audio_s, cpu_s = _register(cat.registered)
    print(f"fingerprinting: {audio_s / cpu_s:.0f}x real time per core", flush=True)

    # 2. the >= 100 h index (cached)
    big, hours = build_big_index(fps, cat.distractors, args.workers)
    t0 = time.perf_counter()
    opened = HashIndex.open(big)
    open_s = time.perf_counter() - t0
    size = opened.size_bytes()
    print(f"index {hours:.1f} h, {size / 1e6:.1f} MB = {size / hours / 1e6:.2f} MB/h", flush=True)

    # 3. queries
    tmp = Path(tempfile.mkdtemp(prefix="tdmguard-bench-audio-"))
    try:
        queries = make_queries(cat.registered, cat.negatives, per_track, n_neg, tmp, args.seed)
        (tmp / "queries.json").write_text(json.dumps(queries))
        print(f"{len(queries)} queries written", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.audio.worker",
                str(big),
                str(tmp / "queries.json"),
                str(tmp / "ours.json"),
            ],
            check=True,
            cwd=HERE.parent.parent,
        )
        ours = json.loads((tmp / "ours.json").read_text())

        peer_rows: dict[int, tuple[str | None, float, float]] = {}
        peer_info: dict[str, object] = {}
        if not args.no_peer:
            try:
                from benchmarks.audio.peer import Chromaprint

                peer = Chromaprint()
                c0 = time.perf_counter()
                for track in cat.registered:
                    peer.add(_work_id(track), track)
                peer_fp_s = time.perf_counter() - c0
                peer_info = {
                    "name": peer.name,
                    "x_real_time": audio_s / peer_fp_s,
                    "bytes_per_hour": peer.size_bytes() / (audio_s / 3600),
                    "index_hours": audio_s / 3600,
                }
                for q in queries:
                    w0 = time.perf_counter()
                    top, ber = peer.match(Path(str(q["path"])))
                    peer_rows[int(q["id"])] = (top, ber, time.perf_counter() - w0)  # type: ignore[arg-type]
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                peer_info = {"name": "chromaprint", "error": str(exc)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # 4. tables: a top-1 counts when its score reaches the engine's threshold
    threshold = AudioFingerprinter().params.align.min_score
    for r in ours["results"]:
        if r["score"] < threshold:
            r["top"] = None
    by_id = {r["id"]: r for r in ours["results"]}
    neg_scores = sorted(
        (r["score"] for r in ours["results"] if queries[r["id"]]["truth"] is None), reverse=True
    )
    kinds = [*DISTORTIONS, "negative 10 s"]
    table = []
    for kind in kinds:
        qs = [q for q in queries if q["kind"] == kind]
        row: dict[str, object] = {"distortion": kind, "queries": len(qs)}
        if kind.startswith("negative"):
            row["ours_fp"] = sum(by_id[q["id"]]["top"] is not None for q in qs) / len(qs)
            if peer_rows:
                row["peer_fp"] = sum(peer_rows[q["id"]][0] is not None for q in qs) / len(qs)
        else:
            row["ours_top1"] = sum(by_id[q["id"]]["top"] == q["truth"] for q in qs) / len(qs)
            row["ours_wrong"] = sum(by_id[q["id"]]["top"] not in (None, q["truth"]) for q in qs)
            if peer_rows:
                row["peer_top1"] = sum(peer_rows[q["id"]][0] == q["truth"] for q in qs) / len(qs)
        table.append(row)
    lat = np.array([r["extract_s"] + r["match_s"] for r in ours["results"]])
    match_lat = np.array([r["match_s"] for r in ours["results"]])
    cpu = np.array([r["cpu_s"] for r in ours["results"]])
    summary = {
        "fingerprint_x_real_time_per_core": audio_s / cpu_s,
        "index_hours": hours,
        "index_bytes": size,
        "index_bytes_per_hour": size / hours,
        "index_open_s": open_s,
        "queries_per_s_per_core": len(cpu) / float(cpu.sum()),
        "median_latency_ms": float(np.median(lat) * 1000),
        "median_match_only_ms": float(np.median(match_lat) * 1000),
        "worker_peak_rss_mb": ours["peak_rss_mb"],
        "worker_startup_s": ours.get("startup_s", 0.0),
        "min_score": threshold,
        "negative_top_scores": neg_scores[:10],
        "bench_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if peer_rows:
        summary["peer_median_latency_ms"] = float(
            np.median([v[2] for v in peer_rows.values()]) * 1000
        )
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "tdmguard": __version__,
        "engine": AudioFingerprinter().engine,
        "params": asdict(AudioFingerprinter().params),
        "mode": "full" if args.full else "quick",
        "summary": summary,
        "peer": peer_info,
        "table": table,
        # every query's outcome, for error analysis: kind, truth, top work, its score
        "queries": [
            [q["kind"], q["truth"], by_id[q["id"]]["top"], by_id[q["id"]]["score"]] for q in queries
        ],
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=1))
    md = _markdown(result)
    # the sections of the other audio benchmarks (small index, growth) follow the main table
    previous = (HERE / "RESULTS.md").read_text() if (HERE / "RESULTS.md").exists() else ""
    cut = previous.find("\n### ")
    (HERE / "RESULTS.md").write_text(md + (previous[cut:] if cut >= 0 else ""))
    print(md)


def _markdown(result: dict[str, object]) -> str:
    s = result["summary"]
    peer = result["peer"]
    assert isinstance(s, dict) and isinstance(peer, dict)
    lines = [
        "## Audio recording matching (issue 5)",
        "",
        f"{result['date']}, {result['mode']} mode, engine `{result['engine']}`, "
        f"{result['machine']['platform']}, {result['machine']['cpus']} CPUs "  # type: ignore[index]
        "(shared with other jobs: timings are noisy).",
        "Reproduce: `make venv && .venv/bin/python -m benchmarks.audio"
        + (" --full`" if result["mode"] == "full" else "`"),
        "",
        "Setup: catalogue = the 13 tracks >= 30 s of Debian `singularity-music` (61 min), "
        "registered; the index also holds `wesnoth-1.16-music` + `nexuiz-music` tracks, each "
        "as 30 resampled speed variants (x0.76-x1.34) registered as distinct works, for "
        f"{s['index_hours']:.0f} h in all. Queries are cut at random offsets and distorted "
        "by the benchmark (tempo/pitch: librosa phase vocoder; codecs: libsndfile at 64 kb/s); "
        "negatives are 10 s excerpts of `fretsonfire-songs-muldjord` and `drascula-music`, "
        "never indexed. tdmguard answers against the whole index (one worker process, "
        "decoding included); the peer, which has no excerpt index, is searched by brute force "
        "over the 61 min catalogue only (a smaller, easier search).",
        "",
        "| distortion | queries | tdmguard top-1 | wrong work | peer top-1 |",
        "|---|---|---|---|---|",
    ]
    for row in result["table"]:  # type: ignore[attr-defined]
        if "ours_fp" in row:
            lines.append(
                f"| {row['distortion']} (false positives) | {row['queries']} | "
                f"{row['ours_fp']:.1%} | | {row.get('peer_fp', float('nan')):.1%} |"
            )
        else:
            lines.append(
                f"| {row['distortion']} | {row['queries']} | {row['ours_top1']:.1%} | "
                f"{row['ours_wrong']} | {row.get('peer_top1', float('nan')):.1%} |"
            )
    lines += [
        "",
        "| measure | tdmguard | peer |",
        "|---|---|---|",
        f"| fingerprinting, x real time per core (decoding included) | "
        f"{s['fingerprint_x_real_time_per_core']:.0f} | "
        f"{peer.get('x_real_time', float('nan')):.0f} |",
        f"| index size | {s['index_hours']:.1f} h | "
        f"{peer.get('index_hours', 0):.1f} h (brute force) |",
        f"| index bytes per hour | {s['index_bytes_per_hour'] / 1e6:.2f} MB | "
        f"{peer.get('bytes_per_hour', float('nan')) / 1e6:.3f} MB |",
        f"| queries/s per core (decode + fingerprint + match, 10 s clips) | "
        f"{s['queries_per_s_per_core']:.1f} | |",
        f"| median latency per query | {s['median_latency_ms']:.0f} ms "
        f"(match only {s['median_match_only_ms']:.0f} ms) | "
        f"{s.get('peer_median_latency_ms', float('nan')):.0f} ms |",
        f"| index open | {s['index_open_s'] * 1000:.0f} ms | |",
        f"| worker start-up (first query, numba kernels loaded) | "
        f"{s.get('worker_startup_s', 0.0) * 1000:.0f} ms | |",
        f"| worker peak RSS | {s['worker_peak_rss_mb']:.0f} MB | |",
        f"| match threshold; 10 best negative scores | {s['min_score']}; "
        f"{', '.join(str(int(v)) for v in s['negative_top_scores'])} | |",
        "",
        f"Peer: {peer.get('name')}{' — ' + str(peer['error']) if 'error' in peer else ''}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
