"""The music21 corpus as melody works, parsed once and cached outside the repository.

Each corpus file is parsed with music21 (an ABC opus such as an Essen collection holds many
works; every score in it becomes one work) through tdmguard's own reader
(:func:`tdmguard.fingerprint.melody.notes.lines_from_music21`), and the note lines are cached
under ``${TDMGUARD_CACHE:-~/.cache/tdmguard}/melody/parsed/`` so later runs skip music21.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tdmguard.fingerprint.melody import MelodyFingerprinter
from tdmguard.fingerprint.melody.notes import NoteLine, lines_from_music21
from tdmguard.index import HashIndex, SegmentWriter

CACHE_VERSION = 1
SUFFIXES = (".abc", ".krn", ".mxl", ".xml", ".musicxml")
QUICK_COLLECTIONS = ("essenFolksong",)
# Palestrina (1,318 kern files of Renaissance polyphony) is left out: music21 parses it at
# several seconds a file on the shared machine, and it holds no melodies in the sense of the
# use case (tunes), only imitative voices.
FULL_COLLECTIONS = (
    "essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "bach",
    "trecento", "monteverdi", "josquin", "beethoven", "mozart", "haydn",
)


@dataclass(frozen=True, slots=True)
class CorpusWork:
    work_id: str  # "<collection>/<file>#<score number>"
    collection: str
    title: str
    lines: tuple[NoteLine, ...]


def cache_dir() -> Path:
    root = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard"))
    out = root / "melody" / "parsed"
    out.mkdir(parents=True, exist_ok=True)
    return out


def corpus_files(collections: Sequence[str]) -> list[tuple[str, Path]]:
    from music21 import corpus

    root = Path(corpus.__file__).parent
    out: list[tuple[str, Path]] = []
    for path in sorted(corpus.getPaths()):
        rel = Path(path).relative_to(root)
        collection = rel.parts[0]
        if collection in collections and Path(path).suffix.lower() in SUFFIXES:
            out.append((collection, Path(path)))
    return out


def _parse_file(collection: str, path: Path) -> list[CorpusWork]:
    from music21 import converter, stream

    parsed = converter.parse(str(path), forceSource=True)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    works: list[CorpusWork] = []
    for number, score in enumerate(scores, start=1):
        lines = lines_from_music21(score, where=str(path))
        title = ""
        if score.metadata is not None:
            title = str(score.metadata.title or "")
        works.append(CorpusWork(f"{collection}/{path.name}#{number}", collection, title,
                                tuple(lines)))
    return works


def load_works(collections: Sequence[str], *, verbose: bool = True) -> list[CorpusWork]:
    """All works of ``collections``, from the cache where present (parsing the rest)."""
    works: list[CorpusWork] = []
    files = corpus_files(collections)
    started = time.monotonic()
    parsed_now = 0
    for i, (collection, path) in enumerate(files):
        digest = hashlib.sha1(f"{CACHE_VERSION}:{path}".encode()).hexdigest()[:16]
        cached = cache_dir() / f"{collection}-{path.stem}-{digest}.pkl"
        if cached.exists():
            with cached.open("rb") as fh:
                works.extend(_from_plain(pickle.load(fh)))
            continue
        try:
            got = _parse_file(collection, path)
        except Exception as exc:  # a corpus file music21 itself cannot read: note and skip
            print(f"  skip {path.name}: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
            got = []
        parsed_now += 1
        with cached.open("wb") as fh:
            pickle.dump(_to_plain(got), fh)
        works.extend(got)
        if verbose and parsed_now % 20 == 1:
            print(f"  parsed {i + 1}/{len(files)} files ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr)
    return works


Plain = list[tuple[str, str, str, list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]]]


def _to_plain(works: list[CorpusWork]) -> Plain:
    # plain tuples and arrays: the cache does not depend on where the classes live
    return [(w.work_id, w.collection, w.title,
             [(ln.name, ln.onsets_q, ln.pitches, ln.durations_q) for ln in w.lines])
            for w in works]


def _from_plain(rows: Plain) -> list[CorpusWork]:
    return [CorpusWork(wid, coll, title, tuple(NoteLine(*ln) for ln in lines))
            for wid, coll, title, lines in rows]


def unique_works(works: Sequence[CorpusWork], *, min_notes: int = 20) -> list[CorpusWork]:
    """Works with a line of at least ``min_notes`` notes, exact duplicates (same pitches and
    rhythm in every line) dropped: a duplicate would be registered and unregistered at once."""
    seen: set[bytes] = set()
    out: list[CorpusWork] = []
    for work in works:
        if not any(len(line) >= min_notes for line in work.lines):
            continue
        h = hashlib.sha1()
        for line in work.lines:
            h.update(np.diff(line.pitches.astype(np.int64)).tobytes())
            h.update(np.round(np.diff(line.onsets_q) * 1000).astype(np.int64).tobytes())
        key = h.digest()
        if key in seen:
            continue
        seen.add(key)
        out.append(work)
    return out


def iter_lines(works: Sequence[CorpusWork]) -> Iterator[NoteLine]:
    for work in works:
        yield from work.lines


FAMILY_RUN_TOKENS = 12  # 13 notes with identical intervals and rhythm


def _registered_side(key: str) -> bool:
    return hashlib.sha1(key.encode()).digest()[0] % 2 == 0


def tune_families(works: Sequence[CorpusWork]) -> list[int]:
    """Family number of each work: works sharing a run of ``FAMILY_RUN_TOKENS`` identical
    tokens (13 notes, same intervals and rhythm), transitively, are one family. In the Essen
    collection 24 % of the works share such a passage with another (the same song printed in
    two collections, tune variants): such a pair is one melody, not a registered and an
    unregistered one."""
    from tdmguard.fingerprint.melody.encoding import tokens

    parent = list(range(len(works)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    owner: dict[bytes, int] = {}
    for i, work in enumerate(works):
        for line in work.lines:
            t = tokens(line).tobytes()
            for p in range(len(t) - FAMILY_RUN_TOKENS + 1):
                j = owner.setdefault(t[p : p + FAMILY_RUN_TOKENS], i)
                if j != i:
                    parent[find(i)] = find(j)
    return [find(i) for i in range(len(works))]


def split(
    works: Sequence[CorpusWork], *, by_family: bool = True
) -> tuple[list[CorpusWork], list[CorpusWork]]:
    """(registered, held out) halves of the unique works, decided by sha1 of the work id (or
    of the family's first work id, so a tune family never straddles the split). The
    background table is built from the registered half only, so held-out works never shape
    the weights they are scored with."""
    uniq = unique_works(works)
    if by_family:
        family = tune_families(uniq)
        keys = [uniq[f].work_id for f in family]
    else:
        keys = [w.work_id for w in uniq]
    registered = [_registered_side(k) for k in keys]
    return ([w for w, r in zip(uniq, registered, strict=True) if r],
            [w for w, r in zip(uniq, registered, strict=True) if not r])


if __name__ == "__main__":
    names = FULL_COLLECTIONS if "--full" in sys.argv else QUICK_COLLECTIONS
    t0 = time.monotonic()
    ws = load_works(names)
    print(f"{len(ws)} works, {len(unique_works(ws))} unique, {time.monotonic() - t0:.0f} s")


def build_index(engine: MelodyFingerprinter, works: Sequence[CorpusWork], root: Path) -> HashIndex:
    """An index at ``root`` (an empty folder) of ``works``, each fingerprinted whole."""
    writer = SegmentWriter(engine.aux_width)
    for work in works:
        fp = engine.fingerprint_lines(list(work.lines))
        writer.add(work.work_id, fp.keys, fp.aux, fp.meta)
    HashIndex.create(root, engine=engine.engine, aux_width=engine.aux_width)
    HashIndex.append_segment(root, writer)
    return HashIndex.open(root)
