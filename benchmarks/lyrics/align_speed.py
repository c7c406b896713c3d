"""Cost of the word alignment: CPU seconds of one process matching background documents
against the music21 lyrics, with ``align_words`` on and off, in alternating passes.

``python -m benchmarks.lyrics.align_speed --docs 1500 --passes 3`` (about 1-2 min on a
loaded 2-core machine). Prints MB/s per pass and the median ratio (on / off).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.lyrics.data import background_docs, music21_lyrics
from benchmarks.lyrics.run import build_index
from tdmguard.fingerprint.lyrics import LyricsFingerprinter
from tdmguard.index.hash_index import HashIndex


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lyrics.align_speed")
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    docs = [d.text for d in background_docs()][: args.docs]
    mb = sum(len(t.encode()) for t in docs) / 1e6
    rates: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        engine = LyricsFingerprinter()
        build_index(engine, music21_lyrics(), Path(tmp) / "ix")
        index = HashIndex.open(Path(tmp) / "ix")
        for text in docs:  # warm-up, not timed: the encoder learns the vocabulary
            engine.match_text(text, index)
        for number in range(2 * args.passes):
            on = number % 2 == 0
            engine.settings = dataclasses.replace(engine.settings, align_words=on)
            start = time.process_time()
            matched = sum(bool(engine.match_text(t, index)) for t in docs)
            cpu = time.process_time() - start
            rates[on].append(mb / cpu)
            print(f"align {'on ' if on else 'off'}: {mb:.1f} MB in {cpu:.2f} CPU s = "
                  f"{mb / cpu:.2f} MB/s ({matched} documents matched)", flush=True)
    on_rate, off_rate = statistics.median(rates[True]), statistics.median(rates[False])
    print(f"median MB/s per core: on {on_rate:.2f}, off {off_rate:.2f}, "
          f"ratio {on_rate / off_rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
