"""Concatenate each area's ``RESULTS.md`` into ``benchmarks/RESULTS.md``.

Each benchmark writes its own ``benchmarks/<area>/RESULTS.md`` (the latest table and how to
reproduce it) and ``results.json`` (date, machine, version, numbers); run this afterwards:
``python -m benchmarks.collect``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
AREAS = ("audio", "lyrics", "melody", "image", "check_urls", "report", "hostile", "catalogue",
         "server", "snapshots", "scan")

HEADER = """# Benchmark results

The latest figures of every benchmark, side by side with the peer named in its issue,
measured in the same run. Machines are shared and noisy: tables report medians and ratios.
Each section says how to reproduce it; raw numbers with date, machine and version are in
`benchmarks/<area>/results.json`. This file is assembled by `python -m benchmarks.collect`.

| area | benchmark | peer |
|---|---|---|
| audio | `python -m benchmarks.audio` | Chromaprint (`fpcalc`, Debian) |
| lyrics | `python -m benchmarks.lyrics` | datasketch MinHash LSH |
| melody | `python -m benchmarks.melody.run` | plain n-gram baseline |
| melody (false matches) | `python -m benchmarks.melody.fp` | (issue 14 targets) |
| melody (settings) | `python -m benchmarks.melody.harmonisations` | (issue 14 targets) |
| image | `python benchmarks/image/run.py` | imagehash pHash |
| check_urls | `python -m benchmarks.check_urls` | datadiligence 0.1.7 |
| report | `python -m benchmarks.report` | none (sizes and times up to 1,000,000 items) |
| hostile | `python -m benchmarks.hostile` | the figures of the issue #18 probe |
| catalogue | `python -m benchmarks.catalogue` | none (10,000-row import; audio on 1 and 2 cores) |
| server | `python -m benchmarks.server` | the CLI doing the same work |
| snapshots | `python -m benchmarks.snapshots` | (targets of issue 11) |
| scan | `python -m benchmarks.scan` | the bare engines; webdataset, pyarrow |

"""


def main() -> None:
    parts = [HEADER]
    for area in AREAS:
        path = HERE / area / "RESULTS.md"
        if path.is_file():
            text = path.read_text("utf-8").strip()
            if not text.startswith("#"):
                text = f"## {area}\n\n{text}"
            parts.append(text.replace("\n# ", "\n## ") + "\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts), "utf-8")


if __name__ == "__main__":
    main()
