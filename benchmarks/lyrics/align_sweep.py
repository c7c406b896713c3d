"""Compare word-alignment settings on ONE half of the issue-14 cases (choose on ``calib``;
``held`` only to report the chosen one): recall of every quotation set (any level /
confident), unrelated documents matched, and the Song ci cases.

``python -m benchmarks.lyrics.align_sweep --part calib --variants off,0,0.5,1`` (about
1-2 min a variant on a loaded 2-core machine). A variant is ``off`` (no word alignment)
the alignment's ``align_min_score``, or ``field=value[+field=value]`` of
:class:`MatchSettings` (``confident_rarity=0``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from benchmarks.lyrics.data import music21_lyrics
from benchmarks.lyrics.extra_cases import PARTS, run_cjk, run_quotes
from tdmguard.fingerprint.lyrics.engine import MatchSettings


def _settings(variant: str) -> MatchSettings:
    base = MatchSettings()
    if variant == "off":
        return dataclasses.replace(base, align_words=False)
    if "=" in variant:  # field=value[+field=value...]
        changes = dict(part.split("=", 1) for part in variant.split("+"))
        values: dict[str, Any] = {k: float(v) for k, v in changes.items()}
        return dataclasses.replace(base, **values)
    return dataclasses.replace(base, align_words=True, align_min_score=float(variant))


def _row(name: str, result: dict[str, Any]) -> str:
    shipped = result["shipped"]
    sets = " ".join(f"{k} {v:.3f}/{shipped['recall_confident'][k]:.3f}"
                    for k, v in shipped["recall"].items())
    return (f"{name}: {sets} | unrelated {shipped['fp_docs']}/{shipped['negatives']} any, "
            f"{shipped['fp_confident_docs']} confident")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lyrics.align_sweep")
    parser.add_argument("--part", choices=sorted(PARTS), default="calib")
    parser.add_argument("--variants", default="off,0")
    parser.add_argument("--no-cjk", action="store_true")
    args = parser.parse_args(argv)
    lyrics = music21_lyrics()
    for variant in args.variants.split(","):
        wall, cpu = time.time(), time.process_time()
        settings = _settings(variant)
        print(_row(f"[{variant}] quotations", run_quotes(
            lyrics, 300, part=args.part, robustness=True, settings=settings)), flush=True)
        if not args.no_cjk:
            print(_row(f"[{variant}] Song ci", run_cjk(1000, 300, part=args.part,
                                                       settings=settings)), flush=True)
        print(f"[{variant}] {time.time() - wall:.0f} s wall, "
              f"{time.process_time() - cpu:.0f} s CPU", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
