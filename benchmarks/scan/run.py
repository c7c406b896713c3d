"""End-to-end scan benchmark (issue 12).

- text (MB/s), images (images/s), audio (x real time): ``tdmguard`` scans on 2 workers
  against the bare engine's own throughput on the same items in 2 processes (a process pool
  calling ``Matcher.identify_*``); the overhead is ``1 - scan rate / bare rate``;
- Ray Data with 2 workers against 1 (the text scan, Ray started beforehand;
  ``benchmarks/scan/ray_scaling.py``, runs alone with ``python -m benchmarks.scan.ray_scaling``);
- WebDataset, Parquet and Arrow read rates of the scan's readers against the plain
  libraries on the same shards (``benchmarks/scan/reader_rates.py``; runs alone with
  ``python -m benchmarks.scan.reader_rates``);
- memory: a text manifest of ``--rows`` rows (default 1,000,000) scanned on 2 workers, peak
  RSS of the driver and of the largest worker.

Run: ``python -m benchmarks.scan [--quick] [--rows N] [--repeat R]``. Data is generated into
``benchmarks/scan/cache/`` (git-ignored). Writes ``results.json`` and ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# rows per shard of a manifest when the scan is not told (tdmguard.scan.plan; kept here so
# this module imports nothing of tdmguard at its top)
MANIFEST_SHARD_SIZE = 256
CACHE = HERE / "cache"
ROOT = HERE.parents[1]


def _demo() -> Path:
    from tdmguard.demo import demo_data_dir

    return demo_data_dir()


def _world(folder: Path) -> tuple[Path, Path]:
    """A registry with one reserved work per modality (lyrics, image, audio) and its index."""
    from tdmguard.errors import RegistryError
    from tdmguard.fingerprint.engines import get_engine
    from tdmguard.registry.matching import append_to_index
    from tdmguard.registry.store import NewWork, Registry
    from tdmguard.vocab import Modality, Purpose, Use

    db, index = folder / "registry.db", folder / "index"
    modalities = (Modality.LYRICS, Modality.IMAGE, Modality.AUDIO)
    # made by other engine versions (their fingerprints are refused): made again
    engines = "\n".join(get_engine(m).engine for m in modalities)
    stamp = folder / "engines.txt"
    if db.exists():
        try:
            Registry.open(f"sqlite:///{db}", create=False).close()
            if stamp.exists() and stamp.read_text("utf-8") == engines:
                return db, index
        except RegistryError:  # made by an older schema: made again
            pass
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    reg = Registry.open(f"sqlite:///{db}")
    reg.add_holder("Aurora")
    demo = _demo()
    jeanie = demo / "lyrics" / "jeanie_with_the_light_brown_hair.txt"
    for modality, path in ((Modality.LYRICS, jeanie),
                           (Modality.IMAGE, demo / "image" / "caterpillar.png"),
                           (Modality.AUDIO, demo / "audio" / "ref-awakening.ogg")):
        engine = get_engine(modality)
        fp = engine.extract(path)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        info = reg.import_works("Aurora", [(NewWork(title=path.stem, external_id=path.stem),
                                            [(fp, sha)])])[0]
        append_to_index(index, engine, [(info.id, fp)])
    reg.reserve("Aurora", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                purposes=[Purpose.COMMERCIAL])
    reg.close()
    stamp.write_text(engines, "utf-8")
    return db, index


def _texts(n: int) -> list[str]:
    demo = _demo() / "lyrics"
    pool = [(demo / "jeanie_with_the_light_brown_hair.txt").read_text("utf-8"),
            (demo / "training" / "essay_without_lyrics.txt").read_text("utf-8"),
            (demo / "training" / "forum_thread_old_songs.txt").read_text("utf-8"),
            (demo / "der_lindenbaum.txt").read_text("utf-8")]
    return [f"{pool[i % len(pool)]}\n#{i}" for i in range(n)]


def _media_folder(kind: str, copies: int) -> Path:
    folder = CACHE / f"{kind}-{copies}"
    if folder.exists():
        return folder
    src = sorted((_demo() / kind).glob("*.*"))
    src = [p for p in src if p.suffix.lower() in (".png", ".jpg", ".ogg")]
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for c in range(copies):
        for p in src:
            shutil.copyfile(p, tmp / f"{c:03d}-{p.name}")
    tmp.rename(folder)
    return folder


# --- bare engine ------------------------------------------------------------------------------

_MATCHER: list[Any] = []


def _init_bare(index: str, modality: str) -> None:
    # as the scan's workers do (scan/shard.py): one library thread per worker process
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from tdmguard.registry.matching import Matcher
    from tdmguard.vocab import Modality

    _MATCHER[:] = [Matcher.open(Path(index), Modality(modality))]


def _bare_item(item: str) -> tuple[int, float]:
    """Matches found, and the CPU seconds the engine spent on the item (steady state)."""
    matcher = _MATCHER[0]
    t0 = time.process_time()
    if matcher.engine.modality.value == "lyrics":
        n = len(matcher.identify_text(item, where="bench"))
    else:
        n = len(matcher.identify_path(Path(item)))
    return n, time.process_time() - t0


def _cpu_now() -> float:
    """CPU seconds of this process and of its children that have ended (pool workers)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _bare_total(
    index: Path, modality: str, items: list[str], workers: int
) -> tuple[float, float, float]:
    """Wall and CPU seconds including the pool's start (the scan's include its own), and
    the CPU seconds spent on the items themselves (the steady state, without the start)."""
    t0, c0 = time.perf_counter(), _cpu_now()
    # spawn, as the scan's pool: fork is unsafe once the engines' OpenMP threads have run
    # (faiss, numba), so the bare pool pays the same kind of process start
    with ProcessPoolExecutor(workers, initializer=_init_bare, initargs=(str(index), modality),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        per_item = [cpu for _, cpu in pool.map(_bare_item, items, chunksize=16)]
    return time.perf_counter() - t0, _cpu_now() - c0, sum(per_item)


def bare_command(index: str, modality: str, manifest: str, workers: int) -> None:
    """The bare engine as a user's own program would run it (``python -c``, see
    :func:`bench_command`): read the manifest's texts, identify them on a spawned pool."""
    texts = [json.loads(line)["text"] for line in Path(manifest).read_text("utf-8").splitlines()]
    with ProcessPoolExecutor(workers, initializer=_init_bare, initargs=(index, modality),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_bare_item, texts, chunksize=16))
    # matches found, and the CPU seconds the engine spent on the items (measured around
    # each item, as the scan's shards measure theirs)
    print(json.dumps({"found": sum(n for n, _ in done), "items_cpu_s": sum(c for _, c in done)}))


# --- scan ------------------------------------------------------------------------------------


def _job(db: Path, index: Path, source: Path | str, out: Path, check: str, **kw: Any) -> Any:
    from tdmguard.registry.store import Registry
    from tdmguard.scan.decide import DecisionSettings
    from tdmguard.scan.job import ScanJob, registry_view
    from tdmguard.vocab import Purpose, Use

    reg = Registry.open(f"sqlite:///{db}", create=False)
    view = registry_view(reg)
    reg.close()
    decision = DecisionSettings(Use.AI_TRAIN, Purpose.COMMERCIAL, "BenchAI", date(2026, 1, 1))
    return ScanJob(source=source, out_dir=out, index_dir=index, decision=decision, view=view,
                   checks=(check,), **kw)


def _scan_time(job: Any) -> tuple[float, dict[str, Any]]:
    from tdmguard.scan.runner import run_scan

    shutil.rmtree(job.out_dir, ignore_errors=True)
    t0 = time.perf_counter()
    report = run_scan(job)
    return time.perf_counter() - t0, report


def _report_cpu(out: Path) -> float:
    """CPU seconds the scan's driver spends on report.html (facts and charts), measured by
    writing it again for the finished scan."""
    from tdmguard.scan.report_facts import collect_facts
    from tdmguard.scan.report_html import write_report_html

    t0 = time.process_time()
    write_report_html(collect_facts([out]), out / "report-again.html")
    return time.process_time() - t0


def bench_engines(
    db: Path, index: Path, repeat: int, quick: bool, text_items: int = 0,
    cases: tuple[str, ...] = ("text", "images", "audio"),
) -> list[dict[str, Any]]:
    import soundfile

    rows: list[dict[str, Any]] = []
    # Sizes: a scan at scale runs for minutes; here each case is 20-40 CPU s of engine work
    # (10-20 s of wall time on two free cores for the bare engine), so that the whole run,
    # process and pool start included, is dominated by the per-item work as it is at scale,
    # and three interleaved repeats of the three cases still take about five minutes.
    n_text = text_items or (600 if quick else 24000)
    texts = _texts(n_text)
    manifest = CACHE / f"text-{n_text}.jsonl"
    if not manifest.exists():
        manifest.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n"
                                    for i, t in enumerate(texts)), "utf-8")
    mb = sum(len(t.encode()) for t in texts) / 1e6
    # (400 copies of the 7 demo images: about 19 CPU s of engine work; 90 copies of the 7
    # demo recordings: about 20 CPU s)
    images = _media_folder("image", 4 if quick else 400)
    audio = _media_folder("audio", 1 if quick else 90)
    seconds = sum(soundfile.info(str(p)).duration for p in audio.iterdir())
    table = [
        # each case at the scan's default shard size for its kind (scan/plan.py)
        ("text", "lyrics", "lyrics-match", manifest, texts, mb, "MB/s", MANIFEST_SHARD_SIZE),
        ("images", "image", "image-match", images,
         [str(p) for p in sorted(images.iterdir())], len(list(images.iterdir())), "images/s", 16),
        ("audio", "audio", "audio-match", audio,
         [str(p) for p in sorted(audio.iterdir())], seconds, "x real time", 4),
    ]
    for name, modality, check, source, items, amount, unit, shard in [
        c for c in table if c[0] in cases
    ]:
        bare_s, scan_s, bare_cpu, scan_cpu, report_cpu = [], [], [], [], []
        bare_items_cpu, scan_items_cpu = [], []
        for _ in range(repeat):
            secs, cpu, items_cpu = _bare_total(index, modality, items, 2)
            bare_s.append(secs)
            bare_cpu.append(cpu)
            bare_items_cpu.append(items_cpu)
            job = _job(db, index, source, CACHE / f"out-{name}", check, workers=2,
                       shard_size=shard)
            c0 = _cpu_now()
            secs, report = _scan_time(job)
            scan_cpu.append(_cpu_now() - c0)
            report_cpu.append(_report_cpu(job.out_dir))
            scan_s.append(secs)
            # CPU of the workers inside their shards: read, check, decide, write, commit
            scan_items_cpu.append(float(report["worker_cpu_seconds"]))
            assert report["counts"]["errors"] == 0, report["counts"]
        bare, scan = statistics.median(bare_s), statistics.median(scan_s)
        bcpu, scpu = statistics.median(bare_cpu), statistics.median(scan_cpu)
        rcpu = statistics.median(report_cpu)
        bitem, sitem = statistics.median(bare_items_cpu), statistics.median(scan_items_cpu)
        rows.append({"case": name, "items": len(items), "unit": unit,
                     # steady state: CPU per item, engine alone vs the scan's shards
                     "bare_item_cpu_ms": round(1000 * bitem / len(items), 3),
                     "scan_item_cpu_ms": round(1000 * sitem / len(items), 3),
                     "steady_cpu_overhead": round(sitem / bitem - 1, 3),
                     "bare_rate": round(amount / bare, 2), "scan_rate": round(amount / scan, 2),
                     "overhead": round(1 - bare / scan, 3),
                     "bare_cpu_s": round(bcpu, 2), "scan_cpu_s": round(scpu, 2),
                     "cpu_overhead": round(scpu / bcpu - 1, 3),
                     # the report page (facts and charts) is a fixed cost per scan
                     "report_cpu_s": round(rcpu, 2),
                     "cpu_overhead_without_report": round((scpu - rcpu) / bcpu - 1, 3),
                     "bare_s": [round(x, 2) for x in bare_s],
                     "scan_s": [round(x, 2) for x in scan_s],
                     "bare_cpu_runs_s": [round(x, 2) for x in bare_cpu],
                     "scan_cpu_runs_s": [round(x, 2) for x in scan_cpu]})
        print(f"{name:7s} steady state {1000 * bitem / len(items):.3f} vs "
              f"{1000 * sitem / len(items):.3f} CPU ms/item ({sitem / bitem - 1:+.1%})",
              flush=True)
        print(f"{name:7s} bare {amount / bare:8.2f} {unit:12s} scan {amount / scan:8.2f}"
              f"  overhead {1 - bare / scan:+.1%}  CPU s {bcpu:.1f} vs {scpu:.1f}"
              f" ({scpu / bcpu - 1:+.1%}; report page {rcpu:.1f} s, without it"
              f" {(scpu - rcpu) / bcpu - 1:+.1%})", flush=True)
    return rows


def _paired_bare(matcher: Any, records: list[Any]) -> float:
    t0 = time.process_time()
    for r in records:
        if r.text is not None:
            matcher.identify_text(r.text, where="bench")
        else:
            matcher.identify_path(r.path)
    return time.process_time() - t0


def _paired_scan(job: Any, worker: Any, shard: int, spec: Any) -> float:
    from tdmguard.scan.shard import run_shard

    t0 = time.process_time()
    run_shard(job, worker, shard, spec)
    return time.process_time() - t0


def bench_paired(
    db: Path, index: Path, cases: tuple[str, ...], quick: bool
) -> list[dict[str, Any]]:
    """Steady state measured so that other jobs' load cancels out: in ONE process, shard
    after shard, the bare engine on the shard's items and the scan's ``run_shard`` on the same
    shard, alternating which goes first; CPU seconds of each, summed (and the median of the
    per-shard ratios). The engine and the scan share the process's caches and its load at
    that moment, so their ratio moves far less than two pools run a minute apart."""
    from tdmguard.scan.plan import plan_source
    from tdmguard.scan.readers import read_shard
    from tdmguard.scan.shard import build_checks

    # the text manifest in shards of the scan's default size for a manifest (scan/plan.py)
    table = {"text": ("lyrics-match", CACHE / f"text-{600 if quick else 6000}.jsonl",
                      MANIFEST_SHARD_SIZE),
             "images": ("image-match", _media_folder("image", 4 if quick else 100), 16),
             "audio": ("audio-match", _media_folder("audio", 1 if quick else 30), 4)}
    if not table["text"][1].exists():
        n = 600 if quick else 6000
        table["text"][1].write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n"
                                            for i, t in enumerate(_texts(n))), "utf-8")
    rows: list[dict[str, Any]] = []
    for case in cases:
        check, source, size = table[case]
        out = CACHE / f"out-paired-{case}"
        shutil.rmtree(out, ignore_errors=True)
        (out / "shards").mkdir(parents=True)
        job = _job(db, index, source, out, check, workers=1, shard_size=size)
        worker = build_checks(job)
        matcher = worker.checks[0].matcher  # type: ignore[attr-defined]
        specs = list(plan_source(str(source), size))
        bare_s = scan_s = 0.0
        ratios: list[float] = []
        items = 0
        for i, spec in enumerate(specs):
            records = list(read_shard(spec, job.read))
            if i % 2:
                s = _paired_scan(job, worker, i, spec)
                b = _paired_bare(matcher, records)
            else:
                b = _paired_bare(matcher, records)
                s = _paired_scan(job, worker, i, spec)
            if i < 2:  # first calls (caches, lazy imports) are no steady state
                continue
            bare_s, scan_s, items = bare_s + b, scan_s + s, items + len(records)
            ratios.append(s / b - 1)
        shutil.rmtree(out, ignore_errors=True)
        rows.append({"case": case, "items": items, "shard_size": size,
                     "bare_item_cpu_ms": round(1000 * bare_s / items, 3),
                     "scan_item_cpu_ms": round(1000 * scan_s / items, 3),
                     "overhead": round(scan_s / bare_s - 1, 3),
                     "median_shard_overhead": round(statistics.median(ratios), 3)})
        print(f"paired  {case:7s} {items} items: bare {1000 * bare_s / items:.3f}, scan "
              f"{1000 * scan_s / items:.3f} CPU ms/item: {scan_s / bare_s - 1:+.1%} (median "
              f"shard {statistics.median(ratios):+.1%})", flush=True)
    return rows


def _child_cpu() -> float:
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def bench_command(db: Path, index: Path, repeat: int, n_text: int) -> dict[str, Any]:
    """The text case as a user runs it, each in a fresh process, interleaved: ``tdmguard
    scan`` (the command's own start, CLI and registry imports, included) against the bare
    engine run by ``python -c`` (interpreter, imports, reading the manifest, a spawned pool).
    CPU: every process of each run, workers included."""
    manifest = CACHE / f"text-{n_text}.jsonl"
    out = CACHE / "out-command"
    env = os.environ | {"TDMGUARD_DB": f"sqlite:///{db}", "TDMGUARD_INDEX": str(index),
                        "PYTHONPATH": str(ROOT)}
    bare_cmd = [sys.executable, "-c",
                "import sys; from benchmarks.scan.run import bare_command; "
                "bare_command(sys.argv[1], 'lyrics', sys.argv[2], 2)", str(index), str(manifest)]
    tdmguard = str(Path(sys.executable).with_name("tdmguard"))
    scan_cmd = [tdmguard, "scan", str(manifest), "--out", str(out), "--check", "lyrics-match",
                "--actor", "BenchAI", "--at", "2026-01-01", "--workers", "2", "--json"]
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "scan": []}
    # CPU spent on the items themselves: the engine's time around each item (bare), the
    # workers' CPU inside their shards (scan: read, check, decide, write, commit); the rest
    # of each run's CPU is fixed cost (interpreter, imports, pool start, plan, report)
    items_cpu: dict[str, list[float]] = {"bare": [], "scan": []}
    for i in range(repeat):
        order = (("bare", bare_cmd), ("scan", scan_cmd))
        for name, cmd in order if i % 2 == 0 else order[::-1]:
            shutil.rmtree(out, ignore_errors=True)
            t0, c0 = time.perf_counter(), _child_cpu()
            done = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
            runs[name].append((time.perf_counter() - t0, _child_cpu() - c0))
            if name == "bare":
                last = done.stdout.decode().strip().splitlines()[-1]
                items_cpu[name].append(float(json.loads(last)["items_cpu_s"]))
            else:
                report = json.loads((out / "report.json").read_text("utf-8"))
                items_cpu[name].append(float(report["worker_cpu_seconds"]))
    bare = statistics.median(w for w, _ in runs["bare"])
    scan = statistics.median(w for w, _ in runs["scan"])
    bcpu = statistics.median(c for _, c in runs["bare"])
    scpu = statistics.median(c for _, c in runs["scan"])
    result = {"case": "text", "items": n_text, "repeat": repeat,
              "bare_s": round(bare, 2), "scan_s": round(scan, 2),
              "overhead": round(1 - bare / scan, 3),
              "bare_cpu_s": round(bcpu, 2), "scan_cpu_s": round(scpu, 2),
              "cpu_overhead": round(scpu / bcpu - 1, 3),
              "bare_items_cpu_s": round(statistics.median(items_cpu["bare"]), 2),
              "scan_items_cpu_s": round(statistics.median(items_cpu["scan"]), 2),
              "load_avg": [round(x, 2) for x in os.getloadavg()],
              "bare_runs": [[round(w, 2), round(c, 2)] for w, c in runs["bare"]],
              "scan_runs": [[round(w, 2), round(c, 2)] for w, c in runs["scan"]],
              # CPU on the items per run, in run order: their spread is the figure's
              "bare_items_runs": [round(c, 2) for c in items_cpu["bare"]],
              "scan_items_runs": [round(c, 2) for c in items_cpu["scan"]]}
    bi, si = statistics.median(items_cpu["bare"]), statistics.median(items_cpu["scan"])
    print(f"command text {n_text}: bare {bare:.1f} s ({bcpu:.1f} CPU s), tdmguard scan "
          f"{scan:.1f} s ({scpu:.1f} CPU s): overhead {1 - bare / scan:+.1%} wall, "
          f"{scpu / bcpu - 1:+.1%} CPU; on the items {bi:.1f} vs {si:.1f} CPU s "
          f"({si / bi - 1:+.1%}), fixed {bcpu - bi:.1f} vs {scpu - si:.1f} CPU s", flush=True)
    return result


def bench_ray(db: Path, index: Path, quick: bool, repeat: int) -> dict[str, Any]:
    """Ray Data, 2 workers against 1: ``benchmarks/scan/ray_scaling.py``."""
    from benchmarks.scan.ray_scaling import DEFAULT_ITEMS, QUICK_ITEMS
    from benchmarks.scan.ray_scaling import bench_ray as ray_scaling

    return ray_scaling(db, index, CACHE, items=QUICK_ITEMS if quick else DEFAULT_ITEMS,
                       repeat=repeat)


def bench_readers(quick: bool) -> list[dict[str, Any]]:
    from benchmarks.scan.reader_rates import bench_readers as rates

    return rates(CACHE, quick)


def bench_memory(db: Path, index: Path, rows: int) -> dict[str, Any]:
    """In a fresh process: scan a ``rows``-row text manifest on 2 workers."""
    manifest = CACHE / f"rows-{rows}.jsonl"
    if not manifest.exists():
        tmp = manifest.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for i in range(rows):
                fh.write(json.dumps({"id": f"m{i}", "text": f"row {i} of a forum, short words",
                                     "src": "bench"}) + "\n")
        tmp.rename(manifest)
    code = (
        "import json, resource, sys, time\n"
        "from benchmarks.scan.run import _job, _scan_time\n"
        "from pathlib import Path\n"
        f"job = _job(Path({str(db)!r}), Path({str(index)!r}), Path({str(manifest)!r}),"
        f" Path({str(CACHE / 'out-memory')!r}), 'lyrics-match', workers=2, shard_size=2048)\n"
        "secs, report = _scan_time(job)\n"
        "me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': secs, 'driver_mb': me, 'largest_worker_mb': kids,"
        " 'records': sum(report['counts'].values())}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result = {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}
    result["rows"] = rows
    result["manifest_mb"] = round(manifest.stat().st_size / 1e6, 1)
    print(f"memory  {rows:,} rows in {result['seconds']:.0f} s: driver peak "
          f"{result['driver_mb']:.0f} MB, largest worker {result['largest_worker_mb']:.0f} MB",
          flush=True)
    shutil.rmtree(CACHE / "out-memory", ignore_errors=True)
    return result


SECTIONS = ("engines", "paired", "command", "readers", "ray", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan")
    parser.add_argument("--quick", action="store_true", help="small data (a smoke run)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000, help="memory test rows (0: skip)")
    parser.add_argument("--text-items", type=int, default=0,
                        help="texts in the text case (default 24000, --quick 600)")
    parser.add_argument("--cases", default="text,images,audio", help="engine cases to run")
    parser.add_argument("--skip", action="append", default=[],
                        help="engines, paired, command, ray, readers or memory (repeat)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this section (repeat): the others are skipped")
    parser.add_argument("--command-items", default="",
                        help="texts in the command section, comma-separated sizes (default: "
                        "the text case's; e.g. 24000,100000 for a scan at scale too)")
    args = parser.parse_args(argv)
    if args.only:
        args.skip = [s for s in SECTIONS if s not in args.only]
    # one library thread (faiss's OpenMP, OpenBLAS) in this process too, as in the scan's
    # and the bare pool's workers: the paired section runs the engines here
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    CACHE.mkdir(parents=True, exist_ok=True)
    _compile_bytecode()
    db, index = _world(CACHE / "world")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "version": _version(),
        "quick": args.quick,
    }
    if "engines" not in args.skip:
        results["engines"] = bench_engines(db, index, args.repeat, args.quick,
                                           args.text_items, tuple(args.cases.split(",")))
    if "paired" not in args.skip:
        results["paired"] = bench_paired(db, index, tuple(args.cases.split(",")), args.quick)
    if "command" not in args.skip:
        sizes = [int(x) for x in args.command_items.split(",") if x.strip()] or [
            args.text_items or (600 if args.quick else 24000)]
        results["command"] = []
        for n_text in sizes:
            if not (CACHE / f"text-{n_text}.jsonl").exists():
                (CACHE / f"text-{n_text}.jsonl").write_text(
                    "".join(json.dumps({"id": f"t{i}", "text": t}) + "\n"
                            for i, t in enumerate(_texts(n_text))), "utf-8")
            results["command"].append(bench_command(db, index, args.repeat, n_text))
    if "readers" not in args.skip:
        results["readers"] = bench_readers(args.quick)
    if "ray" not in args.skip:
        results["ray"] = bench_ray(db, index, args.quick, args.repeat)
    if "memory" not in args.skip and args.rows:
        results["memory"] = bench_memory(db, index, args.rows)
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # Sections skipped in this run keep their last figures (each section says its date).
    previous = HERE / "results.json"
    if previous.exists():
        old = json.loads(previous.read_text("utf-8"))
        if "engines" in results and "engines" in old:  # a run of some cases: keep the others
            ran = {e["case"] for e in results["engines"]}
            results["engines"] += [e | {"measured": e.get("measured", old["date"])}
                                   for e in old["engines"] if e["case"] not in ran]
            results["engines"].sort(key=lambda e: (["text", "images", "audio"].index(e["case"]),
                                                   e["items"]))
        if "command" in results and isinstance(old.get("command"), list):
            ran = {c["items"] for c in results["command"]}  # a run of some sizes: keep others
            results["command"] += [c for c in old["command"] if c["items"] not in ran]
            results["command"].sort(key=lambda c: c["items"])
        for section in ("engines", "paired", "command", "readers", "ray", "memory"):
            if section not in results and section in old:
                results[section] = old[section]
                results.setdefault("kept_from_earlier_runs", {})[section] = old.get(
                    "sections_measured", {}).get(section, old["date"])
    results["sections_measured"] = {
        k: (results.get("kept_from_earlier_runs", {}).get(k) or results["date"])
        for k in ("engines", "paired", "command", "readers", "ray", "memory")
        if k in results}
    results.pop("kept_from_earlier_runs", None)
    (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    (HERE / "RESULTS.md").write_text(_markdown(results), "utf-8")
    return 0


def _compile_bytecode() -> None:
    """Bytecode for tdmguard and this benchmark, as an installed package has it (pip and
    ``uv --compile-bytecode`` compile at install). Where PYTHONDONTWRITEBYTECODE is set and
    a source changed since its ``.pyc`` was written (a checkout, a merge), every process
    compiles that module again on import: measured 0.4 CPU s in the scan's driver and 0.15 s
    in each worker, against less in the bare program, which imports fewer modules."""
    import compileall

    import tdmguard

    for folder in (Path(tdmguard.__file__).parent, HERE):
        compileall.compile_dir(str(folder), quiet=1)


def _version() -> str:
    from tdmguard import __version__

    return __version__


def _markdown(r: dict[str, Any]) -> str:
    lines = ["# scan", "",
             "`python -m benchmarks.scan` (2 workers; the machine is shared with other jobs, "
             f"load average {r['machine']['load_avg_at_start']} at start: medians of "
             "repeated runs, read the ratios rather than the absolute rates). "
             f"{r['date']}, {r['machine']['platform']}, {r['machine']['cpus']} CPUs.", ""]
    measured = r.get("sections_measured", {})
    if any(d != r["date"] for d in measured.values()):
        lines += ["Sections not rerun keep their figures: " + ", ".join(
            f"{k} measured {d}" for k, d in measured.items()) + ".", ""]
    if "engines" in r:
        lines += ["End to end against the bare engine (the same items through "
                  "`Matcher.identify_*` on a 2-process pool, started by spawn as the scan's "
                  "are: fork is unsafe once the engines' OpenMP threads have run; medians of "
                  "interleaved runs). "
                  "*Steady state*: CPU ms per item, the engine's own time on each item in "
                  "the bare pool against the scan workers' CPU inside their shards (read, "
                  "check, decide, write, commit). *Whole run*, process and pool start "
                  "included: wall-clock overhead `1 - scan rate / bare rate`; CPU overhead "
                  "`scan CPU s / bare CPU s - 1`, CPU of the driver and its worker "
                  "processes; the report page's CPU (facts and charts) is part of the "
                  "scan's and also shown apart:",
                  "", "| case | items | steady state: CPU ms/item bare / scan | overhead | "
                  "whole run: bare engine | scan | overhead (wall) | CPU s bare / scan | "
                  "overhead (CPU) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for e in r["engines"]:
            steady = (f"{e['bare_item_cpu_ms']} / {e['scan_item_cpu_ms']} | "
                      f"{e['steady_cpu_overhead']:+.1%}" if "steady_cpu_overhead" in e
                      else "- | -")
            cpu = (f"{e['bare_cpu_s']} / {e['scan_cpu_s']} | {e['cpu_overhead']:+.1%}"
                   if "cpu_overhead" in e else "- | -")
            if "cpu_overhead_without_report" in e:
                cpu += f" (report page {e['report_cpu_s']} s)"
            case = e["case"] + (f" (run of {e['measured'][:16]})" if "measured" in e else "")
            lines.append(f"| {case} | {e['items']} | {steady} | {e['bare_rate']} "
                         f"{e['unit']} | {e['scan_rate']} {e['unit']} | {e['overhead']:+.1%} "
                         f"| {cpu} |")
        lines.append("")
    if "paired" in r:
        lines += ["Steady state, paired (one process, shard after shard: the bare engine on the "
                  "shard's items, then the scan's `run_shard` on the same shard, or the other "
                  "way round, alternating; CPU seconds summed over the shards after the first "
                  "two; other jobs' load falls on both alike):", "",
                  "| case | items | shard size | CPU ms/item bare / scan | overhead | median "
                  "over shards |", "|---|---|---|---|---|---|"]
        for x in r["paired"]:
            lines.append(f"| {x['case']} | {x['items']} | {x['shard_size']} | "
                         f"{x['bare_item_cpu_ms']} / {x['scan_item_cpu_ms']} | "
                         f"{x['overhead']:+.1%} | {x['median_shard_overhead']:+.1%} |")
        lines.append("")
    for x in [r["command"]] if isinstance(r.get("command"), dict) else r.get("command", []):
        lines += [f"As a user runs it (the text case, {x['items']} texts, each run a fresh "
                  "process; medians of "
                  f"{x['repeat']} interleaved runs): `tdmguard scan --workers 2` against the "
                  "bare engine run by `python -c` (interpreter, imports, reading the manifest, "
                  "a spawned 2-process pool), CPU of every process of the run: bare "
                  f"{x['bare_s']} s / {x['bare_cpu_s']} CPU s, scan {x['scan_s']} s / "
                  f"{x['scan_cpu_s']} CPU s: **{x['overhead']:+.1%} wall, "
                  f"{x['cpu_overhead']:+.1%} CPU**."
                  + (f" Of which on the items (the engine's CPU around each item; the scan "
                     f"workers' CPU inside their shards): {x['bare_items_cpu_s']} / "
                     f"{x['scan_items_cpu_s']} CPU s "
                     f"({x['scan_items_cpu_s'] / x['bare_items_cpu_s'] - 1:+.1%}); fixed "
                     f"costs (interpreter, imports, pool start, plan, report): "
                     f"{x['bare_cpu_s'] - x['bare_items_cpu_s']:.1f} / "
                     f"{x['scan_cpu_s'] - x['scan_items_cpu_s']:.1f} CPU s; load average "
                     f"{x['load_avg']} at the end." if "bare_items_cpu_s" in x else ""), ""]
    if "readers" in r:
        from benchmarks.scan.reader_rates import markdown as reader_markdown

        lines += reader_markdown(r["readers"])
    if "ray" in r:
        from benchmarks.scan.ray_scaling import markdown as ray_markdown

        lines += ray_markdown(r["ray"])
    if "memory" in r:
        x = r["memory"]
        lines += [f"Memory: a {x['rows']:,}-row text manifest ({x['manifest_mb']} MB) scanned "
                  f"on 2 workers in {x['seconds']} s: peak RSS {x['driver_mb']} MB (driver), "
                  f"{x['largest_worker_mb']} MB (largest worker).", ""]
    notes = HERE / "NOTES.md"  # the reading of the figures, written by hand after a run
    if notes.exists():
        lines += [notes.read_text("utf-8").rstrip(), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
