"""Index growth case of the audio benchmark (issue 14): recall and queries/s per core as the
index grows from ~100 h to thousands of hours.

    python -m benchmarks.audio.growth [--hours 107 320 1000 3000] [--per-track 4] [--negatives 200]
        [--compare] [--budgets 400000 ...]

Needs the 107 h index of ``python -m benchmarks.audio`` (built and cached by it). Larger
indexes are synthetic: every distractor work of that index (real music: Debian
``wesnoth-1.16-music`` + ``nexuiz-music`` tracks as 30 speed variants) is copied ``k`` times
under new ids, each copy with its 4 s blocks of time put in a random order (so a copy does
not line up with its original and random agreement is drawn afresh for every copy). The keys
of a copy are those of the original: per-key counts grow exactly with the index, which is
harsher than a real catalogue of the same size (new music brings new keys too). The segment
is written in the index's own format (``keys.npy``, ``work.npy``, ``aux.npy``, sorted by key)
in chunks, so building 10,000 h needs little memory, only disk (~1.9 GB per 1,000 h); each
level's folder is deleted before the next is built.

Queries: 10 s excerpts of the 13 registered ``singularity-music`` tracks, clean and with pink
noise at 0 dB SNR, and 10 s excerpts of never-indexed music (false positives), written as WAV
files. Each query is decoded and fingerprinted once (CPU time measured), then matched
against every level (CPU time of ``engine.match``); queries/s per core = queries / (decode +
fingerprint + match CPU seconds). A top-1 counts when its score reaches the engine's
threshold. Writes ``growth.json`` and the "Index growth" section of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from benchmarks.audio.data import CACHE, load_catalogue
from benchmarks.audio.distort import DISTORTIONS, RATE
from tdmguard.atomic import write_json_atomic
from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.fingerprint.audio.engine import NOISY_MAX_HITS
from tdmguard.index.hash_index import HashIndex

HERE = Path(__file__).resolve().parent
KINDS = ("clean 10 s", "pink 0 dB")
BLOCK = 250  # frames: 4 s blocks, shuffled in each copy
CHUNK = 4_000_000  # rows per read or write step


def _base_index() -> tuple[Path, float]:
    found = sorted(CACHE.glob("index-*/bench.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit("no 107 h index cached: run `python -m benchmarks.audio` first")
    meta = json.loads(found[-1].read_text())
    return found[-1].parent, float(meta["hours"])


def _segment(base: Path) -> tuple[Path, dict[str, Any]]:
    manifest = json.loads((base / "manifest.json").read_text())
    (seg_name,) = manifest["segments"]
    return base / seg_name, manifest


def _last_frames(seg: Path, n_works: int) -> np.ndarray:
    work = np.load(seg / "work.npy", mmap_mode="r")
    aux = np.load(seg / "aux.npy", mmap_mode="r")
    last = np.zeros(n_works, np.int64)
    for i0 in range(0, work.shape[0], CHUNK):
        w = np.asarray(work[i0 : i0 + CHUNK], np.int64)
        np.maximum.at(last, w, np.asarray(aux[i0 : i0 + CHUNK, 0], np.int64) >> 9)
    return last


def copy_hours(base: Path) -> float:
    """Hours one copy of the distractor works adds (from their last anchor frames)."""
    seg, _ = _segment(base)
    works = json.loads((seg / "works.json").read_text())
    is_d = np.array([str(w["id"]).startswith("distractor/") for w in works])
    last = _last_frames(seg, len(works))
    return float(((last + 1)[is_d]).sum()) * 128 / 8000 / 3600


def grow(base: Path, dest: Path, copies: int, seed: int) -> int:
    """Write ``dest``: ``base`` plus ``copies`` time-shuffled copies of its distractor works.
    Returns the number of works."""
    seg, manifest = _segment(base)
    keys = np.load(seg / "keys.npy", mmap_mode="r")
    work = np.load(seg / "work.npy", mmap_mode="r")
    aux = np.load(seg / "aux.npy", mmap_mode="r")
    works = json.loads((seg / "works.json").read_text())
    n_works = len(works)
    is_d = np.array([str(w["id"]).startswith("distractor/") for w in works])
    d_rank = np.cumsum(is_d) - 1
    n_d = int(is_d.sum())
    # blocks per work and the hours a copy adds (distractor works carry no duration: frames)
    blocks = _last_frames(seg, n_works) // BLOCK + 1
    rng = np.random.default_rng(seed)
    max_b = int(blocks[is_d].max()) if n_d else 1
    # perm[(copy - 1) * n_d + rank, b]: new block of block b (a permutation of the work's blocks)
    rows = max(1, copies * n_d)
    perm = np.empty((rows, max_b), np.int32)
    nb_rows = np.tile(blocks[is_d], copies) if copies else np.ones(1, np.int64)
    for lo in range(0, rows, 4096):
        hi = min(rows, lo + 4096)
        r = rng.random((hi - lo, max_b))
        r[np.arange(max_b)[None, :] >= nb_rows[lo:hi, None]] = 2.0
        perm[lo:hi] = np.argsort(r, axis=1).astype(np.int32)
    reps = np.where(is_d, 1 + copies, 1)
    total = int(reps[np.asarray(work)].sum())
    shutil.rmtree(dest, ignore_errors=True)
    out_seg = dest / "seg-000001-growth"
    out_seg.mkdir(parents=True)
    o_keys = np.lib.format.open_memmap(out_seg / "keys.npy", "w+", np.uint64, (total,))
    o_work = np.lib.format.open_memmap(out_seg / "work.npy", "w+", np.uint32, (total,))
    o_aux = np.lib.format.open_memmap(out_seg / "aux.npy", "w+", np.int32, (total, 2))
    at = 0
    # about CHUNK output rows per step, whatever the number of copies (memory stays ~0.3 GB)
    step = max(1 << 16, CHUNK // (1 + copies))
    for i0 in range(0, keys.shape[0], step):
        k = np.asarray(keys[i0 : i0 + step])
        w = np.asarray(work[i0 : i0 + step]).astype(np.int64)
        a = np.asarray(aux[i0 : i0 + step])
        r = reps[w]
        m = int(r.sum())
        src = np.repeat(np.arange(k.shape[0]), r)
        j = np.arange(m) - np.repeat(np.cumsum(r) - r, r)  # 0: the original, c: copy c
        ww = w[src]
        c0 = a[src, 0].astype(np.int64)
        frame, pitch = c0 >> 9, c0 & 511
        cp = j > 0
        prow = (j[cp] - 1) * n_d + d_rank[ww[cp]]
        b = frame[cp] // BLOCK
        frame[cp] = perm[prow, b].astype(np.int64) * BLOCK + frame[cp] % BLOCK
        new_w = ww.copy()
        new_w[cp] = n_works + prow
        o_keys[at : at + m] = k[src]
        o_work[at : at + m] = new_w
        o_aux[at : at + m, 0] = ((frame << 9) | pitch).astype(np.int32)
        o_aux[at : at + m, 1] = a[src, 1]
        at += m
    o_keys.flush()
    o_work.flush()
    o_aux.flush()
    del o_keys, o_work, o_aux
    d_ids = [str(w["id"]) for w in works if str(w["id"]).startswith("distractor/")]
    all_works = works + [
        {"id": f"{wid}#copy{c}", "meta": {}} for c in range(1, copies + 1) for wid in d_ids
    ]
    (out_seg / "works.json").write_text(json.dumps(all_works))
    write_json_atomic(dest / "manifest.json", {**manifest, "segments": [out_seg.name]})
    return len(all_works)


def _excerpt(path: Path, start_s: float, length_s: float) -> np.ndarray:
    import soxr

    with sf.SoundFile(str(path)) as fh:
        sr = fh.samplerate
        fh.seek(int(start_s * sr))
        x = fh.read(int(length_s * sr), dtype="float32", always_2d=True).mean(axis=1)
    return np.asarray(soxr.resample(x, sr, RATE), dtype=np.float32)


def make_queries(per_track: int, n_neg: int, folder: Path, seed: int) -> list[dict[str, Any]]:
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for kind in KINDS:
        _, distortion = DISTORTIONS[kind]
        for track in cat.registered:
            duration = sf.info(str(track)).duration
            for _ in range(per_track):
                start = float(rng.uniform(0, max(0.0, duration - 11)))
                clip, _ = distortion(_excerpt(track, start, 10.0), rng)
                path = folder / f"q{len(out):05d}.wav"
                sf.write(str(path), clip, RATE, subtype="FLOAT")
                truth = f"{track.parent.name}/{track.stem}"
                out.append({"kind": kind, "truth": truth, "path": str(path)})
    for i in range(n_neg):
        track = cat.negatives[i % len(cat.negatives)]
        duration = sf.info(str(track)).duration
        start = float(rng.uniform(0, max(0.0, duration - 11)))
        path = folder / f"q{len(out):05d}.wav"
        sf.write(str(path), _excerpt(track, start, 10.0), RATE, subtype="FLOAT")
        out.append({"kind": "negative", "truth": None, "path": str(path)})
    return out


def measure(
    engine: AudioFingerprinter, index: HashIndex, queries: list[dict[str, Any]], fps: list[Any]
) -> dict[str, Any]:
    threshold = AudioFingerprinter().params.align.min_score
    for fp in fps[:5]:  # warm: numba kernels, the pages the first queries touch
        engine.match(fp, index)
    match_cpu: list[float] = []
    match_wall: list[float] = []
    tops: list[tuple[str | None, float]] = []
    for fp in fps:
        c0, w0 = time.process_time(), time.perf_counter()
        found = engine.match(fp, index)
        match_cpu.append(time.process_time() - c0)
        match_wall.append(time.perf_counter() - w0)
        top = found[0] if found else None
        ok = top is not None and top.score >= threshold
        tops.append((top.work_id if ok and top else None, top.score if top else 0.0))
    extract_cpu = [q["extract_cpu"] for q in queries]
    extract_wall = [q["extract_wall"] for q in queries]
    row: dict[str, Any] = {}
    for kind in KINDS:
        idx = [i for i, q in enumerate(queries) if q["kind"] == kind]
        row[f"top1 {kind}"] = sum(tops[i][0] == queries[i]["truth"] for i in idx) / len(idx)
    neg = [i for i, q in enumerate(queries) if q["kind"] == "negative"]
    row["negatives"] = len(neg)
    row["false_positives"] = sum(tops[i][0] is not None for i in neg)
    row["negative_top_scores"] = sorted((tops[i][1] for i in neg), reverse=True)[:5]
    row["queries_per_s_per_core"] = len(fps) / (sum(extract_cpu) + sum(match_cpu))
    row["median_latency_ms"] = 1000 * statistics.median(
        e + m for e, m in zip(extract_wall, match_wall, strict=True)
    )
    row["median_match_ms"] = 1000 * statistics.median(match_wall)
    row["median_match_cpu_ms"] = 1000 * statistics.median(match_cpu)
    return row


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "### Index growth (issue 14)",
        "",
        f"{result['date']}, `python -m benchmarks.audio.growth "
        f"--hours {' '.join(str(h) for h in result['args']['hours'])} "
        f"--per-track {result['args']['per_track']} --negatives {result['args']['negatives']}`, "
        f"engine `{result['engine']}`, {result['machine']['cpus']} CPUs shared with other "
        f"jobs (load average {result['load']}). {result['queries']} queries of 10 s "
        f"({result['per_kind']} clean, {result['per_kind']} pink noise 0 dB, "
        f"{result['args']['negatives']} negatives), each decoded and fingerprinted once "
        f"(median {result['extract_ms']:.1f} ms), matched against every level. Levels above "
        "107 h add time-shuffled copies of the 107 h index's distractor works (real music, "
        "same keys: per-key counts grow with the index, harsher than new music would).",
        "",
        "| index hours | works | index bytes | queries/s per core | median latency | "
        "median match (CPU) | top-1 clean | top-1 pink 0 dB | false positives |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["levels"]:
        label = r["hours"] if "config" not in r else f"{r['hours']} ({r['config']})"
        lines.append(
            f"| {label} | {r['works']} | {r['index_bytes'] / 1e9:.2f} GB | "
            f"{r['queries_per_s_per_core']:.1f} | {r['median_latency_ms']:.0f} ms | "
            f"{r['median_match_ms']:.1f} ms ({r['median_match_cpu_ms']:.1f} ms) | "
            f"{r['top1 clean 10 s']:.1%} | "
            f"{r['top1 pink 0 dB']:.1%} | {r['false_positives']} / {r['negatives']} |"
        )
    lines.append("")
    return "\n".join(lines)


def replace_section(md_path: Path, heading: str, section: str) -> None:
    """Put ``section`` in place of the ``### heading`` section of ``md_path`` (or append)."""
    text = md_path.read_text("utf-8") if md_path.exists() else ""
    start = text.find(f"\n### {heading}")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n### ", start + 1)
        tail = "" if end < 0 else text[end:]
        text = text[: start + 1] + section.rstrip("\n") + "\n" + tail
    md_path.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.audio.growth")
    ap.add_argument("--hours", type=int, nargs="+", default=[107, 320, 1000, 3000])
    ap.add_argument("--per-track", type=int, default=4)
    ap.add_argument("--negatives", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1414)
    ap.add_argument(
        "--compare", action="store_true", help="also match without the per-query hit budget"
    )
    ap.add_argument(
        "--budgets",
        type=int,
        nargs="*",
        default=[],
        help="also match with these per-query hit budgets (the recall / speed trade-off)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the largest level's index")
    ap.add_argument(
        "--noisy-budget",
        choices=("default", "on", "off", "both"),
        default="default",
        help="the noisy-query budget (AudioParams.noisy_max_hits): the engine's default, on, "
        "off, or both (an A/B: off and on in turn, same queries, same process)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="match every configuration this many times per level, in turn (interleaved); "
        "the summary gives each one's median queries/s per core",
    )
    args = ap.parse_args(argv)
    base, base_hours = _base_index()
    engine = AudioFingerprinter()
    off = replace(engine.params, noisy_max_hits=None)
    on = replace(engine.params, noisy_max_hits=NOISY_MAX_HITS)
    configs: list[tuple[str | None, AudioFingerprinter]] = {
        "default": [(None, engine)],
        "on": [("noisy budget on", AudioFingerprinter(on))],
        "off": [("noisy budget off", AudioFingerprinter(off))],
        "both": [("noisy budget off", AudioFingerprinter(off)),
                 ("noisy budget on", AudioFingerprinter(on))],
    }[args.noisy_budget]
    if args.compare:
        unbudgeted = replace(engine.params, max_hits=None)
        configs.append(("no hit budget", AudioFingerprinter(unbudgeted)))
    for budget in args.budgets:
        budgeted = replace(engine.params, max_hits=budget)
        configs.append((f"hit budget {budget:,}", AudioFingerprinter(budgeted)))
    levels: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tdmguard-growth-q-") as tmp:
        queries = make_queries(args.per_track, args.negatives, Path(tmp), args.seed)
        fps = []
        engine.extract(Path(queries[0]["path"]))  # imports, once
        for q in queries:
            c0, w0 = time.process_time(), time.perf_counter()
            fps.append(engine.extract(Path(q["path"])))
            q["extract_cpu"] = time.process_time() - c0
            q["extract_wall"] = time.perf_counter() - w0
    extract_ms = 1000 * statistics.median(q["extract_wall"] for q in queries)
    print(f"{len(queries)} queries fingerprinted (median {extract_ms:.1f} ms)", flush=True)
    grown = CACHE / "growth"
    per_copy = copy_hours(base)
    for hours in args.hours:
        copies = max(0, round((hours - base_hours) / per_copy))
        folder = base
        n_works = None
        kept = CACHE / f"growth-{hours}"  # a level kept by `benchmarks.audio.profile`
        if copies and args.seed == 1414 and (kept / "manifest.json").exists():
            folder = kept  # the same level (same copies, same seed): not built again
        elif copies:
            t0 = time.perf_counter()
            n_works = grow(base, grown, copies, args.seed)
            print(f"  built {copies} copies in {time.perf_counter() - t0:.0f} s", flush=True)
            folder = grown
        index = HashIndex.open(folder)
        real_hours = base_hours + copies * per_copy
        for round_no, (name, eng) in enumerate(configs * args.rounds):
            row = measure(eng, index, queries, fps)
            if args.rounds > 1:
                row["round"] = round_no // len(configs) + 1
            row.update(
                hours=round(real_hours),
                copies=copies,
                works=n_works or len(index.work_ids),
                index_bytes=index.size_bytes(),
            )
            if name:
                row["config"] = name
            levels.append(row)
            print(json.dumps(row), flush=True)
        del index
    if not args.keep:
        shutil.rmtree(grown, ignore_errors=True)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load": f"{os.getloadavg()[0]:.1f}",
        "engine": engine.engine,
        "params": repr(engine.params),
        "args": vars(args),
        "queries": len(queries),
        "per_kind": sum(q["kind"] == KINDS[0] for q in queries),
        "extract_ms": extract_ms,
        "levels": levels,
    }
    (HERE / "growth.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    if args.rounds > 1:
        for hours in sorted({r["hours"] for r in levels}):
            for name, _ in configs:
                qps = [r["queries_per_s_per_core"] for r in levels
                       if r["hours"] == hours and r.get("config") == name]
                runs = ", ".join(f"{q:.1f}" for q in qps)
                print(f"{hours} h, {name or 'default'}: queries/s per core, median of "
                      f"{len(qps)}: {statistics.median(qps):.1f} ({runs})")
    section = _markdown(result)
    replace_section(HERE / "RESULTS.md", "Index growth", section)
    print(section)


if __name__ == "__main__":
    main()
