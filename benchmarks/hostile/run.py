"""Hostile-input bounds (issue #18): how long the worst cases of the probe take now.

- catalogue validation at 5,000 to 40,000 rows (linear: the time per row stays flat; the
  old duplicate check, ``ids.count`` per id, is timed beside it up to 10,000 rows),
- a valid 714 KB tdmrep.json parsed whole,
- a 96 KB WAV declaring 1 Hz refused before decoding (was 29 s and 5.2 GB),
- ``check`` of a URL whose robots.txt has 5,000 ``License:`` lines (was 5,004 requests).

``python -m benchmarks.hostile`` writes ``results.json`` and ``RESULTS.md`` here and prints
the table. Medians of 3 runs; the machine is shared, so compare ratios, not seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tdmguard import __version__

HERE = Path(__file__).resolve().parent


def _median_s(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _catalogue(folder: Path, rows: int) -> Path:
    path = folder / f"cat{rows}.csv"
    body = "".join(f"W{i},Title {i},Artist {i % 97},GBAAA{i:07d}\n" for i in range(rows))
    path.write_text("id,title,artists,isrc\n" + body)
    return path


def _old_duplicate_check(ids: list[str]) -> list[str]:
    return sorted({i for i in ids if ids.count(i) > 1})  # the code before the fix


def catalogue_rows(folder: Path) -> list[dict[str, object]]:
    from tdmguard.registry.catalogue import read_catalogue

    out = []
    for rows in (5_000, 10_000, 20_000, 40_000):
        path = _catalogue(folder, rows)
        new_s = _median_s(lambda p=path: read_catalogue(p))  # type: ignore[misc]
        ids = [f"W{i}" for i in range(rows)]
        old_s = (
            _median_s(lambda i=ids: _old_duplicate_check(i), runs=1)  # type: ignore[misc]
            if rows <= 10_000
            else None
        )
        out.append(
            {
                "rows": rows,
                "validate_s": round(new_s, 3),
                "us_per_row": round(new_s / rows * 1e6, 1),
                "old_duplicate_check_s": None if old_s is None else round(old_s, 2),
            }
        )
    return out


def tdmrep_714kb() -> dict[str, object]:
    from tdmguard.signals.tdmrep import parse_tdmrep_json

    rules = [{"location": "/", "tdm-reservation": 1}]
    rules += [{"location": f"/other/{i}/", "tdm-reservation": 0} for i in range(13_600)]
    body = json.dumps(rules).encode()
    parsed = parse_tdmrep_json(body)
    rule = parsed.lookup("/music/a")
    return {
        "bytes": len(body),
        "rules": len(parsed.rules),
        "first_rule_reserves": bool(rule and rule.reservation == 1),
        "parse_s": round(_median_s(lambda: parse_tdmrep_json(body)), 3),
    }


def wav_1hz(folder: Path) -> dict[str, object]:
    from tdmguard.errors import MediaError
    from tdmguard.fingerprint.audio.decode import decode_mono

    data = b"\x00\x10" * 48_000
    fmt = struct.pack("<HHIIHH", 1, 1, 1, 2, 2, 16)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data))
    path = folder / "1hz.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data)

    def attempt() -> str:
        try:
            decode_mono(path, rate_hz=8000, max_duration_s=3600)
        except MediaError as exc:
            return exc.message
        return "decoded"

    return {"bytes": path.stat().st_size, "outcome": attempt()[:60],
            "seconds": round(_median_s(attempt), 4)}  # fmt: skip


def licence_lines() -> dict[str, object]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from tdmguard.signals.check import check_urls_async
    from tdmguard.vocab import Use

    robots = ("User-agent: *\n" + "".join(f"License: /l/{i}.xml\n" for i in range(5000))).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = robots if self.path == "/robots.txt" else b"x"
            self.send_response(200 if self.path in ("/robots.txt", "/a") else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/a"
    try:
        start = time.perf_counter()
        run = asyncio.run(check_urls_async([url]))
        seconds = time.perf_counter() - start
    finally:
        server.shutdown()
        server.server_close()
    return {"license_lines": 5000, "requests": run.requests, "seconds": round(seconds, 2),
            "ai_train": run.results[0].stances[Use.AI_TRAIN].value}  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
                "load_1min": os.getloadavg()[0],
            },
            "tdmguard_version": __version__,
            "catalogue": catalogue_rows(folder),
            "tdmrep_714kb": tdmrep_714kb(),
            "wav_1hz": wav_1hz(folder),
            "licence_lines": licence_lines(),
        }
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "## hostile input bounds (issue #18)",
        "",
        f"`python -m benchmarks.hostile`, {results['date']}, {os.cpu_count()} CPUs shared with"
        f" other jobs (1-min load {results['machine']['load_1min']:.1f}): medians of 3 runs.",
        "",
        "| catalogue rows | validation (s) | µs per row | old duplicate check alone (s) |",
        "|---:|---:|---:|---:|",
    ]
    for row in results["catalogue"]:  # type: ignore[union-attr]
        old = row["old_duplicate_check_s"]
        lines.append(
            f"| {row['rows']:,} | {row['validate_s']} | {row['us_per_row']} |"
            f" {'-' if old is None else old} |"
        )
    t, w, lic = results["tdmrep_714kb"], results["wav_1hz"], results["licence_lines"]
    lines += [
        "",
        "Before: 40,000 rows took 79 s (quadratic duplicate check).",
        "",
        "| case | before (issue #18) | now |",
        "|---|---|---|",
        f"| valid tdmrep.json of {t['bytes']:,} bytes, first rule reserves / |"  # type: ignore[index]
        f" dropped at 500 KiB, read as unknown | {t['rules']:,} rules read, reserves:"  # type: ignore[index]
        f" {t['first_rule_reserves']}, {t['parse_s']} s |",  # type: ignore[index]
        f"| 96 KB WAV declaring 1 Hz | 29 s, 5.2 GB | refused in {w['seconds']} s |",  # type: ignore[index]
        f"| robots.txt with 5,000 License: lines | 5,004 requests |"
        f" {lic['requests']} requests, {lic['seconds']} s |",  # type: ignore[index]
        "",
    ]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
