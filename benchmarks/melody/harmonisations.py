"""Other settings of the same tune (issue 14): Bach's four-part chorales, several of which
harmonise one chorale melody (music21 corpus ``bach``).

Settings of one tune are found without the engine (``tune_groups``), transitively, by
any of: soprano pitch intervals (repeated notes merged) within 30 % edit distance; soprano
*beat skeletons* (the pitch sounding on each quarter-note beat: passing notes, ornaments,
re-barring and a written-out repeat drop out) of which a local alignment covers 80 % of the
shorter; the same hymn text in music21's Riemenschneider/BWV list (metadata) and skeletons
covering 50 %. (Until the fourth session only the first criterion was used: it missed BWV
111.6 / 103.6 "Was mein Gott will", 1.6 / 172.6 "Wie schön leuchtet", 12.7 / 144.3, 70.7 /
19.7, 93.7 / 166.6 and others, whose settings then counted as misses or as unrelated.) Per
tune the first setting is registered, with half of the chorales that share no tune as
distractors (and the benchmark's registered folk songs); every other setting is queried as
a whole score, as it is, with its melody exchanged into the tenor (an octave lower, the
tenor's line in the soprano), and with its rhythm changed (every second pair of equal notes
made long-short, 3:1, as a re-barring into another metre does). A query counts as found
when the engine's best match, at its shipped decision, is a setting of the same tune;
*reported* when the registered setting is among the works the engine reports. The other
half of the unrelated chorales are queried as whole scores and should match nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.melody.corpus import CorpusWork, build_index
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.melody import MelodyFingerprinter, NoteLine

SAME_TUNE = 0.30  # normalised edit distance of soprano intervals
# Share of the shorter soprano's beat skeleton covered by a local alignment with the other
# (+1 per equal interval, -1 per other interval or gap): over the 413 chorales the shares
# fall in two modes, below 0.5 (other tunes) and 0.8 to 1.0; every pair of differently
# titled chorales at 0.8 or more is a known pair of texts sung to one tune (Herzlich tut
# mich verlangen / O Haupt voll Blut und Wunden / Befiehl du deine Wege, Innsbruck / Nun
# ruhen alle Wälder / O Welt sieh hier, Freu dich sehr / Weg mein Herz, ...).
SAME_SKELETON = 0.8
# With the same hymn text (music21's Riemenschneider/BWV list), a smaller share suffices: a
# text has one tune in almost every case, but not always (BWV 272 sets "Befiehl du deine
# Wege" to another tune than BWV 161.6, share 0.00), so the melody must agree too.
SAME_TITLE_SKELETON = 0.5
_BARRIER = 999  # skeleton separator: never equal to an interval


def _soprano(work: CorpusWork) -> NoteLine | None:
    """The line named soprano, else the highest of the lines of 20+ notes (kern files and
    some MusicXML files name their parts otherwise)."""
    for line in work.lines:
        if line.name.lower().startswith("soprano"):
            return line
    long = [ln for ln in work.lines if len(ln) >= 20]
    return max(long, key=lambda ln: float(np.median(ln.pitches))) if long else None


def _intervals(line: NoteLine) -> np.ndarray:
    p = line.pitches.astype(np.int64)
    p = p[np.r_[True, np.diff(p) != 0]]
    return np.diff(p)


def _edit(a: np.ndarray, b: np.ndarray) -> int:
    """Levenshtein distance of two interval sequences (row-vectorised)."""
    prev = np.arange(b.shape[0] + 1)
    idx = np.arange(b.shape[0] + 1)
    for i in range(1, a.shape[0] + 1):
        c = np.empty_like(prev)
        c[0] = i
        c[1:] = np.minimum(prev[:-1] + (b != a[i - 1]), prev[1:] + 1)
        prev = np.minimum.accumulate(c - idx) + idx  # insertions
    return int(prev[-1])


def beat_skeleton(line: NoteLine) -> np.ndarray:
    """Pitch intervals between the notes sounding on successive quarter-note beats, repeated
    pitches merged: passing and neighbour notes between beats, ornaments and the rhythm of a
    setting drop out, the tune's outline stays (transposition-invariant)."""
    on, pi = line.onsets_q, line.pitches.astype(np.int64)
    end = float(on[-1] + line.durations_q[-1])
    beats = np.arange(math.ceil(float(on[0])), end, 1.0)
    idx = np.searchsorted(on, beats + 1e-6, side="right") - 1
    p = pi[np.clip(idx, 0, pi.shape[0] - 1)]
    p = p[np.r_[True, np.diff(p) != 0]]
    return np.diff(p)


def skeleton_cover(skeletons: Sequence[np.ndarray]) -> np.ndarray:
    """(n, n) share of the shorter skeleton of each pair covered by their best local
    alignment (match +1, mismatch -1, gap -1), by one Smith-Waterman pass of each skeleton
    against all the others laid end to end (a barrier column between them)."""
    n = len(skeletons)
    cover = np.zeros((n, n))
    parts: list[np.ndarray] = []
    seg: list[np.ndarray] = []
    for k, sk in enumerate(skeletons):
        parts += [sk, np.array([_BARRIER])]
        seg += [np.full(sk.shape[0] + 1, k)]
    ref = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    seg_of = np.concatenate(seg) if seg else np.zeros(0, np.int64)
    barrier = ref == _BARRIER
    cols = np.arange(ref.shape[0], dtype=np.float64)
    # each segment's offset keeps the running maximum of the left moves inside it
    lift = seg_of * 1e6 + cols
    starts = np.flatnonzero(np.r_[True, seg_of[1:] != seg_of[:-1]])
    lengths = np.array([max(1, sk.shape[0]) for sk in skeletons], dtype=np.float64)
    for i, q in enumerate(skeletons):
        h = np.zeros(ref.shape[0] + 1)
        best = np.zeros(ref.shape[0])
        for a in q:
            diag = h[:-1] + np.where(ref == a, 1.0, -1.0)
            row = np.maximum(0.0, np.maximum(diag, h[1:] - 1.0))
            row = np.maximum.accumulate(row + lift) - lift
            row[barrier] = 0.0
            h = np.concatenate(([0.0], row))
            best = np.maximum(best, row)
        per = np.maximum.reduceat(best, starts)
        cover[i] = per / np.minimum(lengths[i], lengths)
    return np.maximum(cover, cover.T)


def tune_groups(works: Sequence[CorpusWork], titles: dict[str, str] | None = None
                ) -> list[list[CorpusWork]]:
    """Groups (>= 2 settings) of works whose soprano carries the same tune, without the
    engine: linked when the soprano intervals (repeated notes merged) are within
    ``SAME_TUNE`` edit distance, when their beat skeletons cover ``SAME_SKELETON`` of each
    other (passing notes, re-barring and a written-out repeat do not break it), or when
    they set the same hymn text (``titles``) and the skeletons cover
    ``SAME_TITLE_SKELETON``; transitively."""
    sop = [(w, s) for w in works if (s := _soprano(w)) is not None and len(s) >= 20]
    ivs = [_intervals(s) for _, s in sop]
    grams = [{tuple(v[i : i + 4]) for i in range(v.shape[0] - 3)} for v in ivs]
    cover = skeleton_cover([beat_skeleton(s) for _, s in sop])
    parent = list(range(len(sop)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    titles = titles or {}
    for i, j in itertools.combinations(range(len(sop)), 2):
        if find(i) == find(j):
            continue
        ti, tj = titles.get(sop[i][0].work_id), titles.get(sop[j][0].work_id)
        if cover[i, j] >= SAME_SKELETON or (ti and ti == tj
                                             and cover[i, j] >= SAME_TITLE_SKELETON):
            parent[find(i)] = find(j)
            continue
        if len(grams[i] & grams[j]) < 0.3 * min(len(grams[i]), len(grams[j])):
            continue
        if _edit(ivs[i], ivs[j]) <= SAME_TUNE * max(ivs[i].shape[0], ivs[j].shape[0]):
            parent[find(i)] = find(j)
    members: dict[int, list[CorpusWork]] = {}
    for i, (w, _) in enumerate(sop):
        members.setdefault(find(i), []).append(w)
    return [g for g in members.values() if len(g) >= 2]


def same_tune_elsewhere(chorale: CorpusWork, other: CorpusWork) -> bool:
    """Whether a work of another collection (a folk song registered as a distractor) carries
    the chorale's tune, checked without the engine: the beat skeletons (the criterion that
    links two settings of one tune), or the pitch intervals (repeated notes merged; a folk
    song notated in other beat units), of the chorale's soprano and of one of the other
    work's lines cover ``SAME_SKELETON`` of the shorter. Chorale melodies often come from songs
    (BWV 148.6 "Auf meinen lieben Gott" from "Venus, du und dein Kind") or were printed in
    folk-song collections (Essen holds "Wer nur den lieben Gott lässt walten"): the engine
    naming that song names the tune correctly."""
    sop = _soprano(chorale)
    if sop is None:
        return False
    lines = [ln for ln in other.lines if len(ln) >= 8]
    if not lines:
        return False
    for reduce in (beat_skeleton, _intervals):
        cover = skeleton_cover([reduce(sop)] + [reduce(ln) for ln in lines])
        if cover[0, 1:].max() >= SAME_SKELETON:
            return True
    return False


def chorale_titles(works: Sequence[CorpusWork]) -> dict[str, str]:
    """Hymn text of each Bach chorale from music21's Riemenschneider/BWV list (metadata, not
    the notes), by the BWV number in the file name; chorales it does not list are left out."""
    try:
        from music21.corpus import chorales
    except ImportError:  # pragma: no cover - music21 is a dev dependency
        return {}
    by_bwv = chorales.ChoraleListRKBWV().byBWV
    out: dict[str, str] = {}
    for w in works:
        name = w.work_id.split("/")[-1].split("#")[0]
        if not name.startswith("bwv"):
            continue
        number = name[3:].rsplit(".", 1)[0]
        entry = by_bwv.get(number) or by_bwv.get(number.split("-")[0])
        if entry and entry.get("title"):
            out[w.work_id] = str(entry["title"])
    return out


def melody_in_tenor(lines: list[NoteLine]) -> list[NoteLine] | None:
    names = [ln.name.lower() for ln in lines]
    if "soprano" not in names or "tenor" not in names:
        return None
    s, t = names.index("soprano"), names.index("tenor")
    out = list(lines)
    sop, ten = lines[s], lines[t]
    out[t] = NoteLine("Tenor", sop.onsets_q, (sop.pitches - 12).astype(np.int16), sop.durations_q)
    out[s] = NoteLine("Soprano", ten.onsets_q, (ten.pitches + 12).astype(np.int16),
                      ten.durations_q)
    return out


def rhythm_changed(lines: list[NoteLine]) -> list[NoteLine]:
    """Every second pair of equal consecutive notes becomes long-short (3:1): the pitches
    stay, a quarter of the rhythm tokens change."""
    out = []
    for ln in lines:
        on = ln.onsets_q.copy()
        du = ln.durations_q.copy()
        ioi = np.append(np.diff(on), du[-1] if du.shape[0] else 0.0)
        pair = 0
        i = 0
        while i + 1 < on.shape[0]:
            if abs(ioi[i] - ioi[i + 1]) < 1e-9:
                if pair % 2 == 1:
                    total = ioi[i] + ioi[i + 1]
                    on[i + 1] = on[i] + 0.75 * total
                    du[i] = 0.75 * total
                    du[i + 1] = 0.25 * total
                pair += 1
                i += 2
            else:
                i += 1
        out.append(NoteLine(ln.name, on, ln.pitches, du))
    return out


def metrical_skeleton(line: NoteLine, quantum: float = 1 / 48) -> NoteLine | None:
    """Prototype (fifth session, not in the engine): the line reduced to the note sounding at
    each beat of a duration-relative grid. Beat: the inter-onset interval covering the most
    time; phase: the one that puts the most time-weighted onsets on the grid; a note held
    over several beats counts once. Passing and neighbour notes between beats drop out and
    re-barring does not matter (no bar lines are used). None when nothing drops out."""
    on = line.onsets_q
    n = on.shape[0]
    if n < 6:
        return None
    ioi = np.diff(on)
    steps = np.round(ioi / quantum).astype(np.int64)
    values, inverse = np.unique(steps, return_inverse=True)
    beat = float(values[int(np.argmax(np.bincount(inverse, weights=ioi)))]) * quantum
    if beat <= 0:
        return None
    weight = np.append(ioi, ioi[-1])
    best, phase = -1.0, 0.0
    for c in np.unique(np.round(np.mod(on, beat) / quantum).astype(np.int64))[:64]:
        p = float(c) * quantum
        off = np.abs(np.mod(on - p + beat / 2, beat) - beat / 2)
        total = float(weight[off < quantum / 2 + 1e-9].sum())
        if total > best:
            best, phase = total, p
    end = float(on[-1] + max(float(line.durations_q[-1]), 1e-6))
    first = math.ceil((float(on[0]) - phase) / beat - 1e-6)
    grid = phase + beat * np.arange(first, math.ceil((end - phase) / beat - 1e-6))
    idx = np.searchsorted(on, grid + quantum / 2, side="right") - 1
    keep = np.unique(idx[idx >= 0])
    if keep.shape[0] == n or keep.shape[0] < 6:
        return None
    kept_on = on[keep]
    dur = np.append(np.diff(kept_on), line.durations_q[keep[-1]])
    return NoteLine(line.name + " skeleton", kept_on.astype(np.float64), line.pitches[keep],
                    dur.astype(np.float64))


class SkeletonPrototype(MelodyFingerprinter):
    """The engine with each line's ``metrical_skeleton`` added as one more line, on the
    registered and the query side (prototype: the shipped engine does not do this)."""

    def fingerprint_lines(self, lines: list[NoteLine]) -> Fingerprint:
        extra = [sk for ln in lines if (sk := metrical_skeleton(ln)) is not None]
        return MelodyFingerprinter.fingerprint_lines(self, list(lines) + extra)


VARIANTS: dict[str, Callable[[list[NoteLine]], list[NoteLine] | None]] = {
    "as-is": lambda lines: lines,
    "melody-in-tenor": melody_in_tenor,
    "rhythm-changed": rhythm_changed,
}


def run_harmonisations(engine: MelodyFingerprinter, works: Sequence[CorpusWork],
                       distractors: Sequence[CorpusWork], root: Path) -> dict[str, object]:
    groups = tune_groups(works, chorale_titles(works))
    grouped = {w.work_id for g in groups for w in g}
    unrelated = [w for w in works if w.work_id not in grouped]
    registered = [g[0] for g in groups] + unrelated[0::2] + list(distractors)
    index = build_index(engine, registered, root)
    by_id = {w.work_id: w for w in distractors}
    found: dict[str, list[bool]] = {name: [] for name in VARIANTS}
    # found, counting a distractor (a registered folk song) whose tune is the chorale's, as
    # checked without the engine (``same_tune_elsewhere``)
    found_any: dict[str, list[bool]] = {name: [] for name in VARIANTS}
    listed: dict[str, list[bool]] = {name: [] for name in VARIANTS}
    misses: list[dict[str, object]] = []
    for group in groups:
        tune = {w.work_id for w in group}
        for work in group[1:]:
            for name, make in VARIANTS.items():
                lines = make(list(work.lines))
                if lines is None:
                    continue
                got = engine.match(engine.fingerprint_lines(lines), index)
                found[name].append(bool(got) and got[0].work_id in tune)
                elsewhere = (not found[name][-1] and bool(got) and got[0].work_id in by_id
                             and same_tune_elsewhere(work, by_id[got[0].work_id]))
                found_any[name].append(found[name][-1] or elsewhere)
                if not found[name][-1]:  # what the engine answered instead, to read by hand
                    misses.append({
                        "query": work.work_id, "variant": name, "registered": group[0].work_id,
                        "best": got[0].work_id if got else "",
                        "score": round(got[0].score, 3) if got else 0.0,
                        "same_tune_elsewhere": elsewhere,
                        "detail": dict(got[0].detail) if got else {},
                    })
                # the registered setting is among the works reported (the best match may be
                # another setting of the tune that the grouping above did not link)
                listed[name].append(group[0].work_id in {m.work_id for m in got})
    negatives = unrelated[1::2]
    unrelated_hits: list[list[str]] = []
    for w in negatives:
        got = engine.match(engine.fingerprint_lines(list(w.lines)), index)
        if got:
            elsewhere = got[0].work_id in by_id and same_tune_elsewhere(w, by_id[got[0].work_id])
            unrelated_hits.append([w.work_id, got[0].work_id, "same tune" if elsewhere else ""])
    matched = len(unrelated_hits)
    matched_other = sum(1 for h in unrelated_hits if not h[2])
    return {
        "tunes": len(groups), "settings": sum(len(g) for g in groups),
        "registered": len(registered),
        "found": {k: round(float(np.mean(v)), 4) if v else 0.0 for k, v in found.items()},
        "registered_setting_reported": {k: round(float(np.mean(v)), 4) if v else 0.0
                                        for k, v in listed.items()},
        "found_counting_same_tune_elsewhere": {
            k: round(float(np.mean(v)), 4) if v else 0.0 for k, v in found_any.items()},
        "queries": {k: len(v) for k, v in found.items()},
        "unrelated_queried": len(negatives),
        "unrelated_matched": round(matched / max(1, len(negatives)), 4),
        "unrelated_matched_other_tune": round(matched_other / max(1, len(negatives)), 4),
        "misses": misses,
        "unrelated_hits": unrelated_hits,
    }


def main() -> None:
    """Rerun this case alone (the folk-song registered half as distractors); writes
    ``harmonisations-results.json`` beside ``results.json`` (the misses, the unrelated
    chorales matched and what they matched, to read by hand)."""
    import argparse
    import json
    import os
    import tempfile
    from dataclasses import replace
    from datetime import UTC, datetime

    from benchmarks.melody import run
    from benchmarks.melody.corpus import QUICK_COLLECTIONS, load_works, split
    from tdmguard.fingerprint.melody.engine import MelodySettings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skeleton", action="store_true",
                        help="the skeleton-line prototype (SkeletonPrototype) instead of the "
                        "shipped engine; writes harmonisations-skeleton-results.json")
    parser.add_argument("--candidates", type=int, default=None,
                        help="works aligned per query (MelodySettings.candidates); writes "
                        "harmonisations-candidates<N>-results.json")
    parser.add_argument("--more-candidates", type=int, default=None,
                        help="MelodySettings.more_candidates (aligned where none of the "
                        "first is reported); writes harmonisations-more<N>-results.json")
    args = parser.parse_args()
    registered, _ = split(load_works(QUICK_COLLECTIONS))
    settings = MelodySettings()
    if args.candidates is not None:
        settings = replace(settings, candidates=args.candidates)
    if args.more_candidates is not None:
        settings = replace(settings, more_candidates=args.more_candidates)
    engine = SkeletonPrototype(settings) if args.skeleton else MelodyFingerprinter(settings)
    with tempfile.TemporaryDirectory() as tmp:
        harm = run_harmonisations(engine, load_works(("bach",)), registered,
                                  Path(tmp) / "harm")
    harm = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg(), **harm}
    print(json.dumps(harm, indent=1))
    name = "harmonisations-skeleton-results.json" if args.skeleton else \
        "harmonisations-results.json"
    if args.candidates is not None:
        name = name.replace("-results", f"-candidates{args.candidates}-results")
    if args.more_candidates is not None:
        name = name.replace("-results", f"-more{args.more_candidates}-results")
    (run.HERE / name).write_text(json.dumps(harm, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
