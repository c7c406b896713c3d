"""Melody identification benchmark on the music21 corpus (issue 7, dev-data.md 2.1).

Half of the unique works are registered in a :class:`tdmguard.index.HashIndex`, half are held
out as "not registered" (``corpus.split``). Queries are 16-note excerpts of a random line,
transposed by +-1..11 semitones, tempo-scaled x0.5, x1 or x2, with k random note edits
(insert, delete, +-1..2 semitone substitution), k = 0..3. Per k it reports, for the tdmguard
engine and the plain n-gram baseline side by side (anchors.md 4, method A: pitch-interval
4-grams, inverted index, vote count):

- top-1: share of registered excerpts whose best-scoring work is their source;
- recall at 1 % FP: share of registered excerpts identified with a score above the 99th
  percentile of the best scores of held-out excerpts (and that FP threshold's floor);
- for the engine, recall and FP at its shipped threshold (``MelodyFingerprinter.match``);
- median ms per query.

    python -m benchmarks.melody.run [--quick] [--queries 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks.melody.corpus import (
    FULL_COLLECTIONS,
    QUICK_COLLECTIONS,
    CorpusWork,
    load_works,
    split,
)
from benchmarks.melody.harmonisations import run_harmonisations
from tdmguard.fingerprint.melody import MelodyFingerprinter, NoteLine
from tdmguard.fingerprint.melody.encoding import N, ngram_keys, tokens
from tdmguard.index import HashIndex, SegmentWriter

HERE = Path(__file__).parent
EXCERPT_NOTES = 16
EDITS = (0, 1, 2, 3)
TEMPI = (0.5, 1.0, 2.0)
FP_RATE = 0.01
# A 16-note excerpt with 2 note edits lies at most 6 token edits from its source (measured:
# 95th percentile 6, median 5; a note substituted changes 2 tokens, a note inserted up to 4):
# held-out excerpts at most this close to a registered passage are near copies.
NEAR_COPY = 6


# -- queries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    source: str  # work id, or "" for a held-out work
    edits: int
    line: NoteLine


Edit = tuple[str, int, int]  # (kind, note index, pitch step)


def logged_excerpt(work: CorpusWork, rng: np.random.Generator, edits: int
                   ) -> tuple[NoteLine, list[Edit], NoteLine] | None:
    """A query excerpt of ``work`` with ``edits`` random note edits, transposed and
    tempo-scaled, with the edits made and the unedited passage (not transposed, not
    tempo-scaled): ``(query, edits, source)``, or None if no line is long enough."""
    lines = [ln for ln in work.lines if len(ln) >= EXCERPT_NOTES + 4]
    if not lines:
        return None
    line = lines[int(rng.integers(len(lines)))]
    start = int(rng.integers(0, len(line) - EXCERPT_NOTES + 1))
    sl = slice(start, start + EXCERPT_NOTES)
    on = list(line.onsets_q[sl] - line.onsets_q[start])
    pi = [int(p) for p in line.pitches[sl]]
    du = list(line.durations_q[sl])
    source = NoteLine("source", np.asarray(on, dtype=np.float64), line.pitches[sl].copy(),
                      np.asarray(du, dtype=np.float64))
    made: list[Edit] = []
    for _ in range(edits):
        op = int(rng.integers(3))
        i = int(rng.integers(1, len(on) - 1))
        if op == 0:
            step = int(rng.choice([-2, -1, 1, 2]))
            pi[i] += step
            made.append(("sub", i, step))
        elif op == 1:
            du[i - 1] = on[i + 1] - on[i - 1] if i + 1 < len(on) else du[i - 1] + du[i]
            del on[i], pi[i], du[i]
            made.append(("del", i, 0))
        else:
            half = (on[i + 1] - on[i]) / 2 if i + 1 < len(on) else du[i] / 2
            on.insert(i + 1, on[i] + half)
            step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
            pi.insert(i + 1, pi[i] + step)
            du[i] = half
            du.insert(i + 1, half)
            made.append(("ins", i, step))
    shift = int(rng.choice([s for s in range(-11, 12) if s != 0]))
    tempo = float(rng.choice(TEMPI))
    query = NoteLine("query", np.asarray(on, dtype=np.float64) * tempo,
                     (np.asarray(pi, dtype=np.int64) + shift).astype(np.int16),
                     np.asarray(du, dtype=np.float64) * tempo)
    return query, made, source


def excerpt(work: CorpusWork, rng: np.random.Generator, edits: int) -> NoteLine | None:
    ex = logged_excerpt(work, rng, edits)
    return None if ex is None else ex[0]


def in_part(work: CorpusWork, part: str) -> bool:
    """Works whose excerpts calibrate the decision ("calibration") or are reported
    ("report"): decided by sha1 of the work id, independently of the registered split."""
    bit = hashlib.sha1(f"part:{work.work_id}".encode()).digest()[0] % 2
    return part == "all" or bit == (0 if part == "calibration" else 1)


def make_queries(
    registered: list[CorpusWork], held_out: list[CorpusWork], per_side: int, seed: int,
    part: str = "report",
) -> list[Query]:
    rng = np.random.default_rng(seed)
    out: list[Query] = []
    registered = [w for w in registered if in_part(w, part)]
    held_out = [w for w in held_out if in_part(w, part)]
    for k in EDITS:
        for works, registered_side in ((registered, True), (held_out, False)):
            picks = rng.permutation(len(works))
            made = 0
            for p in picks:
                ex = excerpt(works[int(p)], rng, k)
                if ex is None:
                    continue
                out.append(Query(works[int(p)].work_id if registered_side else "", k, ex))
                made += 1
                if made == per_side:
                    break
    return out


# -- near copies among held-out excerpts ---------------------------------------------------


class NearCopies:
    """Token edit distance from a query line to the closest passage of any registered line
    (Sellers' approximate matching on the engine's interval/rhythm tokens; engine
    independent). A held-out excerpt as close to a registered passage as an excerpt with
    ``EDITS`` note edits is to its source is, by content, a copy of it (folk songs share
    formulae: tune families); such excerpts are counted apart from the unrelated ones."""

    def __init__(self, registered: list[CorpusWork]) -> None:
        parts: list[np.ndarray] = []
        for work in registered:
            for line in work.lines:
                parts += [tokens(line).astype(np.int64), np.zeros(1, np.int64)]
        self.ref = np.concatenate(parts) if parts else np.zeros(1, np.int64)
        self.barrier = self.ref == 0
        self.ref16 = self.ref.astype(np.int16)
        self.idx = np.arange(self.ref.shape[0] + 1, dtype=np.int32)

    def distance(self, line: NoteLine) -> int:
        q = tokens(line).astype(np.int16)
        n = self.ref.shape[0]
        ref = self.ref16
        prev = np.zeros(n + 1, dtype=np.int32)
        row = np.empty(n + 1, dtype=np.int32)
        sub = np.empty(n, dtype=np.int32)
        for i, code in enumerate(q):
            np.not_equal(ref, code, out=sub, casting="unsafe")
            sub += prev[:-1]
            row[0] = i + 1
            np.minimum(sub, prev[1:] + 1, out=row[1:])
            row[1:][self.barrier] = i + 1  # no alignment runs across two lines
            row -= self.idx
            np.minimum.accumulate(row, out=prev)
            prev += self.idx
        return int(prev.min())


# -- the two systems -----------------------------------------------------------------------


def interval_keys(line: NoteLine) -> np.ndarray:
    """Baseline keys: pitch-interval 4-grams only (anchors.md 4, method A)."""
    iv = np.clip(np.diff(line.pitches.astype(np.int64)), -127, 127) + 128
    return ngram_keys(iv.astype(np.uint8)) if iv.shape[0] >= N else np.zeros(0, np.uint64)


def build_indexes(
    engine: MelodyFingerprinter, registered: list[CorpusWork], root: Path
) -> tuple[HashIndex, HashIndex, float]:
    started = time.monotonic()
    writer = SegmentWriter(engine.aux_width)
    base_writer = SegmentWriter(1)
    for work in registered:
        fp = engine.fingerprint_lines(list(work.lines))
        writer.add(work.work_id, fp.keys, fp.aux, fp.meta)
        keys = np.concatenate([interval_keys(ln) for ln in work.lines] or [np.zeros(0, np.uint64)])
        base_writer.add(work.work_id, keys, np.zeros((keys.shape[0], 1), np.int32))
    build_s = time.monotonic() - started
    for name, w, width in (("engine", writer, engine.aux_width), ("baseline", base_writer, 1)):
        HashIndex.create(root / name, engine=name, aux_width=width)
        HashIndex.append_segment(root / name, w)
    return HashIndex.open(root / "engine"), HashIndex.open(root / "baseline"), build_s


def baseline_top(index: HashIndex, line: NoteLine) -> tuple[str, float, frozenset[str]]:
    keys = np.unique(interval_keys(line))
    if keys.shape[0] == 0:
        return "", 0.0, frozenset()
    hits = index.lookup(keys)
    if hits.work.shape[0] == 0:
        return "", 0.0, frozenset()
    pairs = np.unique(hits.work * keys.shape[0] + hits.query_row)
    votes = np.bincount(pairs // keys.shape[0])
    best = int(np.argmax(votes))
    tied = frozenset(index.work_ids[int(i)] for i in np.flatnonzero(votes == votes[best]))
    return index.work_ids[best], float(votes[best]) / keys.shape[0], tied


# -- metrics -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    query: Query
    top: str
    score: float
    ms: float
    tied: frozenset[str] = frozenset()  # works whose score equals the top score
    decided: bool = False  # the engine's shipped decision on its top candidate
    near: bool = False  # held-out excerpt within NEAR_COPY token edits of a registered one


def summarise(outcomes: list[Outcome], threshold: float | None) -> dict[str, float]:
    reg = [o for o in outcomes if o.query.source]
    near = [o for o in outcomes if not o.query.source and o.near]
    neg = [o for o in outcomes if not o.query.source and not o.near]
    neg_scores = np.sort(np.array([o.score for o in neg]))
    # smallest threshold with at most FP_RATE of held-out excerpts strictly above it
    allowed = int(np.floor(FP_RATE * neg_scores.shape[0]))
    thr = float(neg_scores[-allowed - 1]) if neg_scores.shape[0] > allowed else 0.0
    # An excerpt that occurs identically in two registered works (tune variants printed in
    # two collections) ties them; naming either is right, so ties at the top count.
    correct = [o.top == o.query.source or o.query.source in o.tied for o in reg]
    out = {
        "registered_queries": len(reg),
        "held_out_queries": len(neg),
        "top1": float(np.mean(correct)),
        "top1_strict": float(np.mean([o.top == o.query.source for o in reg])),
        "recall_at_1pct_fp": float(np.mean([c and o.score > thr for c, o in
                                            zip(correct, reg, strict=True)])),
        "fp_threshold": thr,
        "fp_floor": float(np.mean(neg_scores >= neg_scores.max())) if neg else 0.0,
        "ms_per_query_median": statistics.median(o.ms for o in outcomes),
    }
    if threshold is not None:  # the engine: its shipped decision, not a score threshold
        out["recall_at_threshold"] = float(np.mean([c and o.decided for c, o in
                                                    zip(correct, reg, strict=True)]))
        out["fp_at_threshold"] = float(np.mean([o.decided for o in neg])) if neg else 0.0
        out["near_copies"] = len(near)
        out["near_copies_matched"] = (float(np.mean([o.decided for o in near]))
                                      if near else 0.0)
        out["fp_at_threshold_all_held_out"] = float(np.mean(
            [o.decided for o in neg + near])) if neg or near else 0.0
        out["raw_rule_recall"] = float(np.mean([c and o.score >= threshold for c, o in
                                                zip(correct, reg, strict=True)]))
        out["raw_rule_fp"] = float(np.mean(neg_scores >= threshold)) if neg else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="Essen folk songs only (the full run adds the other collections)")
    parser.add_argument("--collections", default="",
                        help="comma-separated music21 corpus collections (overrides --quick), "
                        "e.g. 'oneills1850' to report on a corpus the decision was not fitted on")
    parser.add_argument("--queries", type=int, default=1000,
                        help="excerpts per edit level and side (registered / held out)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--whole", type=int, default=500,
                        help="whole registered and held-out works queried as they are")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--part", choices=("report", "calibration", "all"), default="report",
                        help="whose excerpts are queried: the decision was fitted on "
                        "'calibration' works, the figures are reported on the others")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write the engine's per-query features (JSON) for calibration")
    parser.add_argument("--extra", default="bach",
                        help="collections parsed for the harmonisation case ('' to skip)")
    args = parser.parse_args()

    collections = (tuple(args.collections.split(",")) if args.collections
                   else QUICK_COLLECTIONS if args.quick else FULL_COLLECTIONS)
    t0 = time.monotonic()
    registered, held_out = split(load_works(collections))
    load_s = time.monotonic() - t0
    engine = MelodyFingerprinter()
    print(f"{len(registered)} registered, {len(held_out)} held out "
          f"({'+'.join(collections)}; loaded in {load_s:.0f} s); background: "
          f"{engine.background.source}", file=sys.stderr)
    queries = make_queries(registered, held_out, args.queries, args.seed, args.part)
    near = NearCopies(registered)
    with tempfile.TemporaryDirectory() as tmp:
        index, base_index, build_s = build_indexes(engine, registered, Path(tmp))
        print(f"indexed {len(index)} engine keys, {len(base_index)} baseline keys in "
              f"{build_s:.1f} s", file=sys.stderr)
        ours: list[Outcome] = []
        base: list[Outcome] = []
        dump: list[dict[str, object]] = []
        for q in queries:
            t = time.perf_counter()
            ranked = engine.rank(engine.fingerprint_lines([q.line]), index)
            top = ranked[0] if ranked else None
            decided = top is not None and engine.decide(top) >= 0.5
            ms = 1000 * (time.perf_counter() - t)
            tied = frozenset(c.work_id for c in ranked if top and c.raw >= top.raw - 1e-9)
            is_near = not q.source and near.distance(q.line) <= NEAR_COPY
            ours.append(Outcome(q, top.work_id if top else "", top.raw if top else 0.0, ms, tied,
                                decided, is_near))
            if args.dump and top is not None:
                dump.append({"k": q.edits, "src": q.source, "near": is_near,
                             "ok": bool(q.source) and q.source in tied, "raw": top.raw,
                             "self_max": top.self_max, "runner_up": top.runner_up,
                             "others": top.others, "qtok": top.query_tokens})
            # (the 16-note queries all have 15 +- 3 tokens: raw scores compare directly)
            t = time.perf_counter()
            wid, score, tied = baseline_top(base_index, q.line)
            base.append(Outcome(q, wid, score, 1000 * (time.perf_counter() - t), tied,
                                near=not q.source and ours[-1].near))
        if args.dump:
            args.dump.write_text(json.dumps(dump), encoding="utf-8")
        whole = whole_works(engine, index, registered, held_out, args.whole, args.seed)
        harm: dict[str, object] = {}
        if args.extra:
            extra = load_works(tuple(args.extra.split(",")))
            harm = run_harmonisations(engine, extra, registered, Path(tmp) / "harm")
            print(f"other settings of a tune: {harm}", file=sys.stderr)
    rows = []
    for k in EDITS:
        rows.append({"edits": k, "method": "tdmguard melody-ngram-align",
                     **summarise([o for o in ours if o.query.edits == k],
                                   engine.settings.threshold_raw)})
        rows.append({"edits": k, "method": "baseline: interval 4-gram votes",
                     **summarise([o for o in base if o.query.edits == k], None)})
    pooled = summarise([o for o in ours if o.query.edits <= 2], engine.settings.threshold_raw)
    print_table(rows, pooled)
    print(f"whole works as queries (shipped threshold): {whole['registered_identified']:.3f} "
          f"of {whole['registered']} registered works (transposed, tempo x2) identified; "
          f"{whole['held_out_matched']:.3f} of {whole['held_out']} held-out works matched "
          f"something; median {whole['ms_per_query_median']:.1f} ms")
    if not args.no_write:
        write_results(args, collections, len(registered), len(held_out), rows, pooled, whole,
                      harm, engine, time.monotonic() - t0)


def whole_works(engine: MelodyFingerprinter, index: HashIndex, registered: list[CorpusWork],
                held_out: list[CorpusWork], count: int, seed: int) -> dict[str, float]:
    """Whole works as queries, as a dataset scan meets them: registered works transposed up a
    minor third at double tempo should be identified; held-out works should match nothing
    (a match there is a false positive, or a tune-family relative the split did not catch)."""
    rng = np.random.default_rng(seed + 1)
    reg = [registered[int(i)] for i in rng.permutation(len(registered))[:count]]
    held = [held_out[int(i)] for i in rng.permutation(len(held_out))[:count]]
    found = 0
    matched = 0
    times: list[float] = []
    for work in reg:
        lines = [NoteLine(ln.name, ln.onsets_q * 2, (ln.pitches + 3).astype(np.int16),
                          ln.durations_q * 2) for ln in work.lines]
        t = time.perf_counter()
        got = engine.match(engine.fingerprint_lines(lines), index)
        times.append(1000 * (time.perf_counter() - t))
        found += bool(got) and got[0].work_id == work.work_id
    for work in held:
        t = time.perf_counter()
        matched += bool(engine.match(engine.fingerprint_lines(list(work.lines)), index))
        times.append(1000 * (time.perf_counter() - t))
    return {"registered": len(reg), "registered_identified": found / max(1, len(reg)),
            "held_out": len(held), "held_out_matched": matched / max(1, len(held)),
            "ms_per_query_median": statistics.median(times) if times else 0.0}


def print_table(rows: list[dict[str, object]], pooled: dict[str, float]) -> None:
    head = (f"{'edits':>5} {'method':<34} {'top-1':>6} {'rec@1%FP':>8} {'FP thr':>7} "
            f"{'rec@thr':>7} {'FP@thr':>7} {'ms/q':>6}")
    print(head)
    for r in rows:
        print(f"{r['edits']:>5} {r['method']:<34} {r['top1']:>6.3f} {r['recall_at_1pct_fp']:>8.3f} "
              f"{r['fp_threshold']:>7.3f} {r.get('recall_at_threshold', float('nan')):>7.3f} "
              f"{r.get('fp_at_threshold', float('nan')):>7.3f} {r['ms_per_query_median']:>6.2f}")
    print(f"engine, edits 0-2 pooled: top-1 {pooled['top1']:.3f}, recall at 1 % FP "
          f"{pooled['recall_at_1pct_fp']:.3f}, at the shipped threshold recall "
          f"{pooled['recall_at_threshold']:.3f} with FP {pooled['fp_at_threshold']:.3f}")


def write_results(args: argparse.Namespace, collections: tuple[str, ...], n_reg: int,
                  n_held: int, rows: list[dict[str, object]], pooled: dict[str, float],
                  whole: dict[str, float], harm: dict[str, object],
                  engine: MelodyFingerprinter, total_s: float) -> None:
    command = "python -m benchmarks.melody.run" + (" --quick" if args.quick else "") + (
        f" --collections {args.collections}" if args.collections else "") + (
        f" --queries {args.queries} --whole {args.whole} --seed {args.seed} --part {args.part}"
        f" --extra '{args.extra}'")
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "tdmguard_version": metadata.version("tdmguard"),
        "music21_version": metadata.version("music21"),
        "engine": engine.engine,
        "background": engine.background.source,
        "collections": list(collections),
        "registered_works": n_reg,
        "held_out_works": n_held,
        "queries_per_edit_level_and_side": args.queries,
        "seed": args.seed,
        "command": command,
        "total_s": round(total_s, 1),
        "rows": rows,
        "engine_edits_0_to_2_pooled": pooled,
        "whole_works": whole,
        "other_settings": harm,
        "load_average": os.getloadavg(),
        "near_copy_token_edits": NEAR_COPY,
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    lines = [
        "## Melody (symbolic) identification",
        "",
        f"music21 {result['music21_version']} corpus ({', '.join(collections)}): {n_reg} "
        f"registered works, {n_held} held out. {args.queries} excerpts per edit level and side, "
        "16 notes, transposed +-1..11 semitones, tempo x0.5/x1/x2, k random edits (insert, "
        "delete, +-1..2 semitone substitution). Side by side in the same run: the plain "
        "pitch-interval 4-gram vote (anchors.md 4, method A). rec@1%FP: identified and scored "
        "above the 99th percentile of held-out excerpts' best scores; rec/FP@thr: at the "
        "engine's shipped decision (absolute raw-score rule or per-query significance, "
        "calibrated score 0.5), FP among held-out excerpts farther than "
        f"{NEAR_COPY} token edits from every registered passage (farther than a 2-edit copy "
        "is from its source); 'near' columns: the held-out excerpts that close (near "
        "copies: tune-family relatives) and the share of them matched; 'raw rule': the "
        "previous decision (raw score only) on the same queries. FP threshold: the engine's raw "
        "alignment score, the baseline's share of query n-grams found. Top-1 counts a tie "
        "at the top score (the excerpt occurs identically in two registered works) as right; "
        "top1_strict in results.json does not. Medians; "
        f"{result['date']}, {result['machine']['platform']}, {os.cpu_count()} CPUs shared with "
        "other jobs (timings are noisy).",
        "",
        "| edits | method | top-1 | recall @1 % FP | FP threshold | recall @thr | FP @thr "
        "| near copies (matched) | FP @thr, all held out | raw rule recall / FP | ms/query |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rt = r.get("recall_at_threshold")
        ft = r.get("fp_at_threshold")
        extra = ("| | | " if rt is None else
                 f"| {r['near_copies']} ({r['near_copies_matched']:.3f}) | "
                 f"{r['fp_at_threshold_all_held_out']:.3f} | "
                 f"{r['raw_rule_recall']:.3f} / {r['raw_rule_fp']:.3f} ")
        lines.append(
            f"| {r['edits']} | {r['method']} | {r['top1']:.3f} | {r['recall_at_1pct_fp']:.3f} | "
            f"{r['fp_threshold']:.3f} | {'' if rt is None else f'{rt:.3f}'} | "
            f"{'' if ft is None else f'{ft:.3f}'} {extra}| {r['ms_per_query_median']:.2f} |"
        )
    lines += [
        "",
        f"Engine, edits 0-2 pooled: top-1 {pooled['top1']:.3f}, recall at 1 % FP "
        f"{pooled['recall_at_1pct_fp']:.3f}; at the shipped threshold recall "
        f"{pooled['recall_at_threshold']:.3f}, FP {pooled['fp_at_threshold']:.3f}.",
        "",
        f"Whole works as queries (as a dataset scan meets them; shipped threshold, which rises "
        f"with the query's length): {whole['registered_identified']:.3f} of "
        f"{whole['registered']} registered works (transposed +3, tempo x2) identified; "
        f"{whole['held_out_matched']:.3f} of {whole['held_out']} held-out works matched some "
        f"registered work (false positives or tune-family relatives the 13-note family split "
        f"missed); median {whole['ms_per_query_median']:.1f} ms per work.",
        "",
        *harmonisation_lines(harm),
        f"Reproduce: `{command}` (first run parses the corpus with music21 and caches note "
        "lines under ~/.cache/tdmguard/melody; the background table is rebuilt with "
        "`python -m benchmarks.melody.build_background`).",
        "",
    ]
    previous = ""
    if (HERE / "RESULTS.md").exists():  # earlier figures stay beside the new ones
        old = (HERE / "RESULTS.md").read_text(encoding="utf-8")
        previous = "\n## Previous runs\n\n" + old.replace(
            "## Melody (symbolic) identification", "### Melody (symbolic) identification", 1
        ).replace("\n## Previous runs\n", "\n")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + previous, encoding="utf-8")


def harmonisation_lines(harm: dict[str, object]) -> list[str]:
    if not harm:
        return []
    found = harm["found"]
    queries = harm["queries"]
    assert isinstance(found, dict) and isinstance(queries, dict)
    reported = harm.get("registered_setting_reported", {})
    assert isinstance(reported, dict)
    cases = "; ".join(f"{k} {v:.3f} of {queries[k]}"
                      + (f" (registered setting reported: {reported[k]:.3f})" if k in reported
                         else "") for k, v in found.items())
    return [
        f"Other settings of a tune (issue 14; `benchmarks/melody/harmonisations.py`): "
        f"{harm['tunes']} Bach chorale tunes with {harm['settings']} settings; the first "
        f"setting of each registered among {harm['registered']} works; every other setting "
        f"queried as a whole score, found (best match at the shipped decision is a setting "
        f"of the tune): {cases}. Unrelated chorales matched: {harm['unrelated_matched']:.3f} "
        f"of {harm['unrelated_queried']}.",
        "",
    ]


if __name__ == "__main__":
    main()
