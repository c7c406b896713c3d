"""Build the shipped background table (``src/tdmguard/fingerprint/melody/background.npz``).

Counts, for every interval/rhythm n-gram, the number of music21-corpus works holding it.
Only the *registered* half of the benchmark split is counted (``corpus.split``), so the
benchmark's held-out works never shape the weights they are scored with.

    python -m benchmarks.melody.build_background [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import tdmguard.fingerprint.melody as melody_pkg
from benchmarks.melody.corpus import FULL_COLLECTIONS, QUICK_COLLECTIONS, load_works, split
from tdmguard.fingerprint.melody.background import PACKAGE_FILE, BackgroundTable
from tdmguard.fingerprint.melody.encoding import encode_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Essen folk songs only")
    parser.add_argument("--out", type=Path, default=Path(melody_pkg.__file__).parent / PACKAGE_FILE)
    args = parser.parse_args()
    collections = QUICK_COLLECTIONS if args.quick else FULL_COLLECTIONS
    started = time.monotonic()
    registered, _ = split(load_works(collections))
    table = BackgroundTable.build(
        (encode_lines(list(w.lines), max_keys=100_000).keys for w in registered),
        source=f"music21 {'+'.join(collections)} (registered half, {len(registered)} works)",
    )
    blob = table.to_bytes()
    args.out.write_bytes(blob)
    print(f"{table.keys.shape[0]} keys with df >= 2 from {table.works} works, "
          f"{len(blob) / 1024:.0f} KiB -> {args.out} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
