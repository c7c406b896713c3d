"""Catalogue import at a label's scale (issue 16).

1. A 10,000-row catalogue (metadata, identifiers with check digits, extra columns) is read,
   imported into a fresh SQLite registry, re-imported unchanged (``--mode upsert``: every row
   skipped) and planned as a sync dry run; each in its own process so that peak RSS is that
   step's alone.
2. Registration of compressed audio as labels deliver it (Ogg Vorbis: the repo's real
   recordings, copied under new names to make a catalogue): fingerprinting
   speed in times real time with 1 worker and with every core.

Run: ``python -m benchmarks.catalogue`` (writes ``results.json`` and ``RESULTS.md`` here).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AUDIO = [ROOT / "src/tdmguard/demo/data/audio" / n for n in
         ("ref-awakening.ogg", "ref-nebula.ogg", "ref-chaos-god.ogg",
          "unregistered-armygeddon.ogg")] + [
    ROOT / "tests/fingerprint/audio/data" / n for n in ("aberrations-12s.ogg",
                                                        "coherence-12s.ogg")]


def _isrc(i: int) -> str:
    return f"GB-AYE-25-{i:05d}"


def _upc(i: int) -> str:
    from stdnum import ean

    body = f"{i:011d}"
    return body + ean.calc_check_digit(body)


def write_catalogue(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["ID", "Title", "Artist", "ISRC", "UPC", "Label", "Release Date", "Genre"])
        for i in range(rows):
            out.writerow([f"AUR-{i:06d}", f"Track {i} – “Live”", f"Artist {i % 997}",
                          _isrc(i), _upc(i), "Aurora Records",
                          f"20{10 + i % 15}-0{1 + i % 9}-1{i % 9}", ("Jazz", "Pop")[i % 2]])


STEP = r"""
import json, resource, sys, time
from pathlib import Path
from tdmguard.config import Settings
from tdmguard.registry.catalogue import parse_catalogue
from tdmguard.registry.catalogue_import import ImportMode
from tdmguard.registry.service import RegistryService
from tdmguard.registry.values import CLI_ACTOR
step, db, cat = sys.argv[1], sys.argv[2], Path(sys.argv[3])
t = time.perf_counter()
if step == "parse":
    n = len(parse_catalogue(cat).rows)
else:
    svc = RegistryService.open(Settings.load(db=db), create=True)
    if step == "import":
        svc.add_holder(CLI_ACTOR, "Aurora Records")
    mode = {"import": ImportMode.ADD, "upsert": ImportMode.UPSERT, "sync": ImportMode.SYNC}[step]
    rep = svc.import_catalogue_report(CLI_ACTOR, "Aurora Records", cat, mode=mode,
                                      dry_run=step == "sync")
    n = len(rep.outcomes)
print(json.dumps({"rows": n, "seconds": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def catalogue_steps(rows: int, work: Path) -> dict[str, dict[str, float]]:
    cat = work / "catalogue.csv"
    write_catalogue(cat, rows)
    db = str(work / "registry.db")
    out = {}
    for step in ("parse", "import", "upsert", "sync"):
        res = subprocess.run([sys.executable, "-c", STEP, step, db, str(cat)], check=True,
                             capture_output=True, text=True)
        out[step] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def audio_speed(copies: int, work: Path) -> dict[str, float]:
    import soundfile

    from tdmguard.registry.catalogue import CatalogueRow, fingerprint_rows
    from tdmguard.registry.store import NewWork
    from tdmguard.vocab import Modality

    folder = work / "audio"
    folder.mkdir()
    rows = []
    seconds = 0.0
    durations = {p: _duration_s(p, soundfile) for p in AUDIO}
    for i in range(copies):
        src = AUDIO[i % len(AUDIO)]
        dst = folder / f"{i:03d}{src.suffix}"
        shutil.copy(src, dst)
        seconds += durations[src]
        rows.append(CatalogueRow(f"bench:{i}", NewWork(title=f"t{i}", external_id=f"A{i}"),
                                 ((Modality.AUDIO, dst),), i))
    out: dict[str, float] = {"audio_hours": seconds / 3600, "files": copies}
    for workers in (1, os.cpu_count() or 1):
        t = time.perf_counter()
        results = fingerprint_rows(rows, workers=workers)
        elapsed = time.perf_counter() - t
        assert all(r.error is None for r in results), [r.error for r in results if r.error]
        out[f"x_real_time_{workers}_workers"] = seconds / elapsed
    return out


def _duration_s(path: Path, soundfile: object) -> float:
    try:
        return float(soundfile.info(str(path)).duration)  # type: ignore[attr-defined]
    except Exception:  # MP3/M4A without libsndfile support: ask PyAV
        import av

        with av.open(str(path)) as container:
            return float(container.duration or 0) / 1_000_000


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "10000"))
    copies = int(os.environ.get("BENCH_AUDIO_FILES", "60"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        steps = catalogue_steps(rows, work)
        audio = audio_speed(copies, work)
    load = os.getloadavg()
    from tdmguard import __version__

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {load[0]:.1f}",
        "python": platform.python_version(),
        "version": __version__,
        "catalogue_rows": rows,
        "steps": steps,
        "audio": audio,
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    workers = os.cpu_count() or 1
    table = [
        "## catalogue",
        "",
        f"Measured {results['date']} on {results['machine']}, tdmguard {__version__}. "
        "Reproduce: `python -m benchmarks.catalogue` (`BENCH_ROWS`, `BENCH_AUDIO_FILES`).",
        "",
        f"| step ({rows:,} rows, `;`-separated CSV with extra columns) | seconds | rows/s "
        "| peak RSS |",
        "|---|---|---|---|",
    ]
    names = {"parse": "read and validate (check digits, duplicates)",
             "import": "import into a new SQLite registry (`--mode add`)",
             "upsert": "re-import unchanged (`--mode upsert`: all skipped)",
             "sync": "plan a sync (`--mode sync --dry-run`)"}
    for step, res in steps.items():
        table.append(f"| {names[step]} | {res['seconds']:.2f} | {rows / res['seconds']:,.0f} "
                     f"| {res['peak_rss_mb']:.0f} MB |")
    table += [
        "",
        f"| audio registration ({audio['files']:.0f} compressed files, "
        f"{audio['audio_hours']:.2f} h) | times real time |",
        "|---|---|",
        f"| 1 worker | {audio['x_real_time_1_workers']:.0f}x |",
        f"| {workers} workers (every core) | {audio[f'x_real_time_{workers}_workers']:.0f}x |",
        "",
        "Load is the 1-minute load average when the run ended; on a shared machine absolute "
        "speeds are pessimistic. The two audio rows compare one fingerprinting process with "
        "one per core (explicit `workers`); one process already keeps 2 cores busy, which is "
        "why `work import` starts workers only for 64 MiB of media or more.",
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(table), "utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
