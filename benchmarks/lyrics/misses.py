"""Read the issue-14 quotation misses: every query of the chosen sets that the shipped engine
does not find confidently, with its excerpt, the shipped match (if any) and the best chain
the engine forms with its floors off (words, lyric lines touched and matched, n-grams,
rarity, density), and every unrelated document matched.

``python -m benchmarks.lyrics.misses --part calib --sets two-lines-subst10,negative``
(about 10-40 s). Read the calibration half to choose; the held-out half only to report.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.lyrics.data import music21_lyrics
from benchmarks.lyrics.extra_cases import PARTS, _index, quote_cases
from tdmguard.fingerprint.lyrics import LyricsFingerprinter
from tdmguard.fingerprint.lyrics.engine import MatchSettings
from tdmguard.vocab import Match


def _line(found: Match) -> str:
    d = found.detail
    return (f"words {d.get('words')} lines {d.get('lines')} matched {d.get('lines_matched')} "
            f"ngrams {d.get('ngrams')} rarity {d.get('rarity')} score {found.score:.2f} "
            f"{d.get('confidence')}: {str(d.get('quote', ''))[:90]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lyrics.misses")
    parser.add_argument("--part", choices=sorted(PARTS), default="calib")
    parser.add_argument("--sets", default="two-lines-subst10,negative",
                        help="query sets (and 'negative'), comma-separated")
    args = parser.parse_args(argv)
    case = quote_cases(music21_lyrics(), 300, args.part, robustness=True)
    shipped = LyricsFingerprinter()
    loose = LyricsFingerprinter()
    loose.settings = MatchSettings(min_ngrams=1, min_weight=0.0, aligned_min_ngrams=1,
                                   min_words=0.0, min_lines=0)
    with tempfile.TemporaryDirectory() as tmp:
        index = _index(shipped, case["works"], Path(tmp) / "ix")
        for name in args.sets.split(","):
            if name == "negative":
                matched = 0
                for number, text in enumerate(case["negatives"]):
                    found = shipped.match_text(text, index)
                    matched += bool(found)
                    for m in found:
                        print(f"negative #{number} {m.work_id}: {_line(m)}")
                print(f"== negative: {matched} of {len(case['negatives'])} matched\n")
                continue
            review = missed = 0
            for (work, text), excerpt in zip(case["queries"][name], case["excerpts"][name],
                                             strict=True):
                found = [m for m in shipped.match_text(text, index) if m.work_id == work]
                if any(m.detail.get("confidence") == "confident" for m in found):
                    continue
                review += bool(found)
                missed += not found
                print(f"--- {name} {work} {'review' if found else 'missed'}: {excerpt!r}")
                for m in found:
                    print(f"  shipped: {_line(m)}")
                for m in loose.match_text(text, index):
                    if m.work_id == work:
                        print(f"  floors off: {_line(m)}")
            print(f"== {name}: {review} review, {missed} missed of "
                  f"{len(case['queries'][name])}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
