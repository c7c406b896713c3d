"""Noise case of the audio benchmark (issue 14, fifth wave): why a query with pink noise at
0 dB SNR loses its recording, and what the noisy-query hit budget buys.

    python -m benchmarks.audio.noise [--hours 107 1000] [--per-track 2] [--negatives 100]

Queries: ``--per-track`` random 10 s excerpts of each of the 13 registered ``singularity-music``
tracks under every distortion of the benchmark's grid plus pink noise at -5 and +5 dB SNR;
``--negatives`` never-indexed excerpts, clean and with pink noise at 0 dB (noisy negatives
are the false positives the larger budget could add). Seed 1414 by default: the noise
threshold and budget were chosen on other excerpts (seed 777), so these are report figures.

For each query: its noise flatness (``peaks.noise_flatness``, what the engine reads), and,
for the noise conditions, how many of the clean excerpt's peaks survive in the noisy one
(within 1 frame and 0.5 semitone): as local maxima at all (what any choice among the query's
local maxima could reach) and as chosen peaks; and how many of the clean excerpt's keys the
noisy query looks up. Then each query is matched against every level twice: with the
shipped engine (noisy queries get ``noisy_max_hits``) and with ``noisy_max_hits=None`` (the
engine before this wave: same fingerprints, plain budget). Levels: 107 h (the benchmark's
index) and the 1,050 h level that ``benchmarks.audio.profile`` keeps in the cache (built
when missing). Writes ``noise.json`` and the "Noise" section of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from benchmarks.audio.data import load_catalogue
from benchmarks.audio.distort import DISTORTIONS, RATE, _noise
from benchmarks.audio.growth import _base_index, _excerpt, copy_hours, replace_section
from benchmarks.audio.profile import _index
from tdmguard.fingerprint.audio import AudioFingerprinter, AudioParams
from tdmguard.fingerprint.audio import peaks as pk
from tdmguard.fingerprint.audio.engine import NOISY_MAX_HITS, _unpack_aux
from tdmguard.fingerprint.audio.triplets import expand_keys
from tdmguard.index.hash_index import HashIndex

HERE = Path(__file__).resolve().parent
NOISE = {
    "pink -5 dB": _noise(-5, pink=True),
    "pink 0 dB": DISTORTIONS["pink 0 dB"][1],
    "pink +5 dB": _noise(5, pink=True),
    "pink 10 dB": DISTORTIONS["pink 10 dB"][1],
    "white 0 dB": DISTORTIONS["white 0 dB"][1],
    "white 10 dB": DISTORTIONS["white 10 dB"][1],
}


def _conditions() -> dict[str, tuple[float, Any]]:
    out = {k: v for k, v in DISTORTIONS.items() if k not in NOISE}
    out.update({k: (10.0, f) for k, f in NOISE.items()})
    return out


def _survival(clean: np.ndarray, noisy: np.ndarray, p: pk.PeakParams) -> tuple[float, float]:
    """Shares of the clean excerpt's peaks found among the noisy one's local maxima and among
    its chosen peaks (within 1 frame and 0.5 semitone)."""
    ref = pk.find_peaks(clean, p)
    chosen = pk.find_peaks(noisy, p)
    n_frames = 1 + (noisy.shape[0] - p.n_fft) // p.hop
    lo, hi = pk._band(p)
    floor = pk._power_floor(float(np.log((p.n_fft / 4) ** 2 * 10 ** (p.floor_db / 10))))
    power = pk._power(noisy, 0, n_frames, p, lo, hi)
    ti, fi = pk._local_maxima(power, floor, p.time_radius, p.freq_radius, 1, n_frames - 1)
    f = 12.0 * np.log2((fi + lo) * (p.rate_hz / p.n_fft) / p.fmin_hz)
    order = np.argsort(ti, kind="stable")
    maxima = (ti[order].astype(np.float64), f[order])

    def share(t: np.ndarray, ff: np.ndarray) -> float:
        found = 0
        for t0, f0 in zip(ref.t, ref.f, strict=True):
            i0, i1 = np.searchsorted(t, [t0 - 1.0, t0 + 1.0])
            found += bool(np.any(np.abs(ff[i0:i1] - f0) <= 0.5))
        return found / max(1, len(ref))

    return share(*maxima), share(chosen.t, chosen.f)


def _key_share(engine: AudioFingerprinter, clean: np.ndarray, noisy: np.ndarray) -> float:
    """Share of the clean excerpt's keys among the noisy query's looked-up (expanded) keys."""
    ref = engine.extract_samples(clean)
    query = engine.extract_samples(noisy)
    _, _, code, _ = _unpack_aux(query.aux)
    keys, _ = expand_keys(query.keys, code, engine.params.triplets)
    return float(np.isin(ref.keys, keys).mean()) if len(ref) else 0.0


def make_queries(per_track: int, n_neg: int, folder: Path, seed: int) -> list[dict[str, Any]]:
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    engine = AudioFingerprinter()
    p = engine.params.peaks
    for kind, (length, distortion) in _conditions().items():
        for track in cat.registered:
            duration = sf.info(str(track)).duration
            for _ in range(per_track):
                start = float(rng.uniform(0, max(0.0, duration - 1.1 * length - 1)))
                cut = 1.1 * length if kind.startswith(("speed", "tempo")) else length
                clean = _excerpt(track, start, cut)
                blob, ext = distortion(clean, rng)
                path = folder / f"q{len(out):05d}.{ext}"
                y = clean
                if ext == "wav":
                    y = blob[: int(length * RATE)]
                    sf.write(str(path), y, RATE, subtype="FLOAT")
                else:
                    path.write_bytes(blob.tobytes())
                row: dict[str, Any] = {
                    "kind": kind,
                    "truth": f"{track.parent.name}/{track.stem}",
                    "path": str(path),
                }
                if kind in NOISE:
                    c8 = soxr.resample(clean, RATE, p.rate_hz).astype(np.float32)
                    n8 = soxr.resample(y, RATE, p.rate_hz).astype(np.float32)
                    row["maxima"], row["chosen"] = _survival(c8, n8, p)
                    row["keys"] = _key_share(engine, c8, n8)
                out.append(row)
    pink = DISTORTIONS["pink 0 dB"][1]
    for kind in ("negative", "negative pink 0 dB"):
        for i in range(n_neg):
            track = cat.negatives[i % len(cat.negatives)]
            duration = sf.info(str(track)).duration
            start = float(rng.uniform(0, max(0.0, duration - 11)))
            x = _excerpt(track, start, 10.0)
            if kind != "negative":
                x, _ = pink(x, rng)
            path = folder / f"q{len(out):05d}.wav"
            sf.write(str(path), x, RATE, subtype="FLOAT")
            out.append({"kind": kind, "truth": None, "path": str(path)})
    return out


def main(argv: list[str] | None = None) -> None:
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m benchmarks.audio.noise")
    ap.add_argument("--hours", type=int, nargs="+", default=[107, 1000])
    ap.add_argument("--per-track", type=int, default=2)
    ap.add_argument("--negatives", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1414)
    args = ap.parse_args(argv)
    # the noisy budget (AudioParams.noisy_max_hits, on by default since the sixth wave):
    # measured on and off
    shipped = AudioFingerprinter(AudioParams(noisy_max_hits=NOISY_MAX_HITS))
    before = AudioFingerprinter(replace(shipped.params, noisy_max_hits=None))
    threshold = shipped.params.align.min_score
    with tempfile.TemporaryDirectory(prefix="tdmguard-noise-") as tmp:
        t0 = time.perf_counter()
        queries = make_queries(args.per_track, args.negatives, Path(tmp), args.seed)
        fps = []
        for q in queries:
            c0 = time.process_time()
            fps.append(shipped.extract(Path(q["path"])))
            q["extract_cpu"] = time.process_time() - c0
            q["flatness"] = float(fps[-1].meta["flatness"])
            q["noisy"] = shipped.hit_budget(fps[-1]) != shipped.params.max_hits
    print(f"{len(queries)} queries made and fingerprinted in {time.perf_counter() - t0:.0f} s")
    base, base_hours = _base_index()
    levels: list[dict[str, Any]] = []
    for hours in args.hours:
        folder = base if hours <= base_hours else _index(hours)
        index = HashIndex.open(folder)
        for fp in fps[:5]:
            shipped.match(fp, index)
        rows: dict[str, dict[str, Any]] = {}
        for q, fp in zip(queries, fps, strict=True):
            row = rows.setdefault(
                q["kind"],
                {"queries": 0, "noisy": 0, "same": 0, "before": 0, "shipped": 0, "cpu": {}},
            )
            row["queries"] += 1
            row["noisy"] += q["noisy"]
            answers = {}
            for name, eng in (("before", before), ("shipped", shipped)):
                c0 = time.process_time()
                found = eng.match(fp, index)
                row["cpu"].setdefault(name, []).append(time.process_time() - c0)
                top = found[0] if found and found[0].score >= threshold else None
                answers[name] = None if top is None else (top.work_id, top.score, top.ref_start)
                row[name] += (top.work_id if top else None) == q["truth"]
            row["same"] += answers["before"] == answers["shipped"]
        for row in rows.values():
            row["cpu_ms"] = {k: 1000 * statistics.mean(v) for k, v in row.pop("cpu").items()}
        n = len(queries)
        cpu = {
            name: sum(q["extract_cpu"] for q in queries)
            + sum(r["cpu_ms"][name] * r["queries"] / 1000 for r in rows.values())
            for name in ("before", "shipped")
        }
        copies = max(0, round((hours - base_hours) / copy_hours(base)))
        levels.append(
            {
                "hours": round(base_hours + copies * copy_hours(base)),
                "rows": rows,
                "queries_per_s_per_core": {k: n / v for k, v in cpu.items()},
            }
        )
        print(json.dumps(levels[-1]), flush=True)
        del index
    diag = {}
    for kind in NOISE:
        sel = [q for q in queries if q["kind"] == kind]
        diag[kind] = {k: statistics.mean(q[k] for q in sel) for k in ("maxima", "chosen", "keys")}
        diag[kind]["flatness_median"] = statistics.median(q["flatness"] for q in sel)
    flat = {
        kind: {
            "median": statistics.median(q["flatness"] for q in queries if q["kind"] == kind),
            "max": max(q["flatness"] for q in queries if q["kind"] == kind),
        }
        for kind in dict.fromkeys(q["kind"] for q in queries)
    }
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load": f"{os.getloadavg()[0]:.1f}",
        "engine": shipped.engine,
        "params": repr(shipped.params),
        "args": vars(args),
        "diagnosis": diag,
        "flatness": flat,
        "levels": levels,
    }
    (HERE / "noise.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    section = _markdown(result)
    replace_section(HERE / "RESULTS.md", "Noise (issue 14)", section)
    print(section)


def _markdown(result: dict[str, Any]) -> str:
    args = result["args"]
    p = AudioFingerprinter().params
    lines = [
        "### Noise (issue 14)",
        "",
        f"{result['date']}, `python -m benchmarks.audio.noise --hours "
        f"{' '.join(str(h) for h in args['hours'])} --per-track {args['per_track']} "
        f"--negatives {args['negatives']}` (seed {args['seed']}), engine `{result['engine']}`, "
        f"{result['machine']['cpus']} CPUs shared with other jobs (load average "
        f"{result['load']}). Noisy queries (flatness >= {p.noisy_flatness}) get a budget of "
        f"{p.noisy_max_hits:,} hits instead of {p.max_hits:,}; 'before' is the same engine "
        "with `noisy_max_hits=None` (this wave's start: same fingerprints, plain budget).",
        "",
        "Why noise loses the recording (share of the clean excerpt's peaks found in the noisy "
        "one; keys: share of the clean excerpt's keys the noisy query looks up):",
        "",
        "| condition | flatness (median) | peaks still local maxima | peaks chosen | keys |",
        "|---|---|---|---|---|",
    ]
    for kind, d in result["diagnosis"].items():
        lines.append(
            f"| {kind} | {d['flatness_median']:.3f} | {d['maxima']:.1%} | {d['chosen']:.1%} | "
            f"{d['keys']:.1%} |"
        )
    lines += [
        "",
        "| condition | queries | flagged noisy | max flatness | "
        + " | ".join(
            f"{lv['hours']} h before | {lv['hours']} h shipped | {lv['hours']} h match CPU ms"
            for lv in result["levels"]
        )
        + " |",
        "|---|---|---|---|" + "---|---|---|" * len(result["levels"]),
    ]
    first = result["levels"][0]["rows"]
    for kind, row in first.items():
        cells = []
        for lv in result["levels"]:
            r = lv["rows"][kind]
            if kind.startswith("negative"):
                b, s = r["queries"] - r["before"], r["queries"] - r["shipped"]
                cells.append(f"{b} FP | {s} FP")
            else:
                cells.append(f"{r['before']} | {r['shipped']}")
            cells.append(f"{r['cpu_ms']['before']:.1f} -> {r['cpu_ms']['shipped']:.1f}")
        lines.append(
            f"| {kind} | {row['queries']} | {row['noisy']} | "
            f"{result['flatness'][kind]['max']:.3f} | " + " | ".join(cells) + " |"
        )
    lines.append("")
    for lv in result["levels"]:
        qps = lv["queries_per_s_per_core"]
        lines.append(
            f"- {lv['hours']} h, this mix of queries: {qps['before']:.1f} -> "
            f"{qps['shipped']:.1f} queries/s per core (decode, fingerprint and match CPU)."
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
