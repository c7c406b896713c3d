"""False positives with enough negatives to tell 1 % from 2 %, on several corpora (issue 14).

One index holds the registered half of three music21 collections of tunes (Essen folk songs,
O'Neill's *Music of Ireland* 1850, Ryan's *Mammoth Collection*; ``corpus.split`` over the
three, tune families kept on one side). Queries are 16-note excerpts (``run.excerpt``:
transposed, tempo-scaled, k = 0..2 random note edits) of

- ``essen-cal``: Essen works of the *calibration* part (the decision's constants are fitted
  on these, with ``--fit``);
- ``essen``: Essen works of the *report* part; ``oneills``, ``ryans``: the two other
  collections, whole (never fitted on).

Registered excerpts measure recall (the source is the top candidate, ties counted, and the
shipped decision reports it); held-out excerpts farther than ``run.NEAR_COPY`` token edits
from every registered passage measure false positives: *any* candidate reported counts (what
``MelodyFingerprinter.match`` returns), with a 95 % Wilson interval. Held-out excerpts that
close (tune-family relatives) are counted apart. Per-query features of every candidate are
written to ``cache/fp-<seed>.json`` so a decision rule can be refitted without re-querying.

    python -m benchmarks.melody.fp [--neg 700] [--pos 300] [--seed 7]

``--edits 0`` queries chosen edit levels only (more unrelated excerpts at 0 edits);
``--skeleton`` measures the skeleton-line prototype (``harmonisations.SkeletonPrototype``),
marking which side of each dumped alignment is a skeleton line. The exact-token score
(``MelodyCandidate.exact``) is always computed and dumped, so its weight can be refitted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.melody.corpus import CorpusWork, build_index, load_works, split
from benchmarks.melody.run import NEAR_COPY, NearCopies, excerpt, in_part
from tdmguard.atomic import write_bytes_atomic
from tdmguard.fingerprint.melody import MelodyFingerprinter
from tdmguard.fingerprint.melody.engine import MelodyCandidate, MelodySettings, with_others

HERE = Path(__file__).parent
COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth")
EDITS = (0, 1, 2)
# group -> (collection, part of its works)
GROUPS = {
    "essen-cal": ("essenFolksong", "calibration"),
    "essen": ("essenFolksong", "report"),
    "oneills": ("oneills1850", "all"),
    "ryans": ("ryansMammoth", "all"),
}
REPORT_GROUPS = ("essen", "oneills", "ryans")


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def draw(works: list[CorpusWork], count: int, rng: np.random.Generator, edits: int
         ) -> list[tuple[str, object]]:
    """``count`` excerpts, one per work while works last, then a second round (another
    random line and start of the same works)."""
    out: list[tuple[str, object]] = []
    rounds = 0
    while count > 0 and len(out) < count and rounds < 4:
        for p in rng.permutation(len(works)):
            ex = excerpt(works[int(p)], rng, edits)
            if ex is not None:
                out.append((works[int(p)].work_id, ex))
            if len(out) == count:
                break
        rounds += 1
    return out


def candidate_row(c: MelodyCandidate, source: str, lines: dict[str, int] | None = None,
                  vote_rank: int | None = None) -> dict[str, object]:
    """One dumped candidate; ``lines`` (skeleton prototype): each registered work's count of
    its own lines, so that an alignment on a skeleton line is marked (``ref_skeleton``, and
    ``query_skeleton`` for the query's: a one-line excerpt's line 1); ``vote_rank``: its
    place by votes (then work number) among the works aligned, so that a dump made with more
    candidates can be re-decided as if fewer had been aligned (``--top``; a work whose
    alignment scored nothing is not listed, so there it lets one more in: rare)."""
    row = asdict(c)
    row["is_source"] = bool(source) and c.work_id == source
    if vote_rank is not None:
        row["vote_rank"] = vote_rank
    if lines is not None:
        row["ref_skeleton"] = c.ref_line >= lines.get(c.work_id, 1 << 30)
        row["query_skeleton"] = c.query_line >= 1
    del row["work_id"], row["work"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neg", type=int, default=700,
                        help="held-out excerpts per edit level and group")
    parser.add_argument("--neg-cal", type=int, default=1000,
                        help="held-out excerpts per edit level, calibration group")
    parser.add_argument("--pos", type=int, default=300,
                        help="registered excerpts per edit level and group")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--edits", default=",".join(map(str, EDITS)),
                        help="edit levels queried (e.g. 0: more unrelated excerpts at 0 edits)")
    parser.add_argument("--tag", default="", help="dump name: cache/fp-<seed><tag>.json")
    parser.add_argument("--from-dump", type=Path, nargs="+", default=None,
                        help="re-decide dumps (several draws pooled) with the current engine, "
                        "without querying")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--candidates", type=int, default=None,
                        help="works aligned per query (MelodySettings.candidates; the dump "
                        "marks each one's vote rank, so --from-dump --top N re-decides as "
                        "if only the N best by votes had been aligned)")
    parser.add_argument("--top", type=int, default=None,
                        help="with --from-dump: keep the candidates of vote rank < N only")
    parser.add_argument("--no-exact", action="store_true",
                        help="do not compute the exact-token score (it is off as shipped; "
                        "saves about a fifth of the CPU)")
    parser.add_argument("--skeleton", action="store_true",
                        help="the skeleton-line prototype (harmonisations.SkeletonPrototype): "
                        "each line also registered and queried as its metrical skeleton")
    args = parser.parse_args()
    # the exact-token score is dumped even where the shipped weight is 0, to refit it
    settings = replace(MelodySettings(), exact_always=not args.no_exact)
    if args.candidates is not None:
        settings = replace(settings, candidates=args.candidates)
    engine: MelodyFingerprinter = MelodyFingerprinter(settings)
    if args.skeleton:
        from benchmarks.melody.harmonisations import SkeletonPrototype
        engine = SkeletonPrototype(settings)
    if args.from_dump:
        dumps = [json.loads(p.read_text(encoding="utf-8")) for p in args.from_dump]
        for p, d in zip(args.from_dump, dumps, strict=True):
            if any("self_votes" not in c for r in d["records"] for c in r["cands"]):
                sys.exit(f"{p}: dumped before the fifth session (no self_votes): the "
                         "decision's vote share cannot be computed from it; query again")
        dump = {**dumps[0], "seed": "+".join(str(d["seed"]) for d in dumps),
                "cpu_ms_per_query": float(np.mean([d["cpu_ms_per_query"] for d in dumps])),
                "records": [r for d in dumps for r in d["records"]]}
        if args.top is not None:
            dump["records"] = [keep_top(r, args.top) for r in dump["records"]]  # type: ignore[union-attr]
        report(engine, dump, args, write=not args.no_write)
        return
    t0 = time.monotonic()
    registered, held_out = split(load_works(COLLECTIONS))
    near = NearCopies(registered)
    groups = args.groups.split(",")
    records: list[dict[str, object]] = []
    cpu_engine = 0.0
    n_engine = 0
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(engine, registered, Path(tmp))
        own_lines = ({w.work_id: len(w.lines) for w in registered} if args.skeleton
                     else None)
        print(f"{len(registered)} registered, {len(held_out)} held out, index "
              f"{len(index)} keys ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        rng = np.random.default_rng(args.seed)
        for group in groups:
            collection, part = GROUPS[group]
            reg = [w for w in registered if w.collection == collection and in_part(w, part)]
            held = [w for w in held_out if w.collection == collection and in_part(w, part)]
            for k in [int(e) for e in args.edits.split(",")]:
                neg_n = args.neg_cal if group == "essen-cal" else args.neg
                for side, works, count in (("pos", reg, args.pos), ("neg", held, neg_n)):
                    for source, line in draw(works, count, rng, k):
                        c0 = time.process_time()
                        ranked = engine.rank(engine.fingerprint_lines([line]), index)
                        cpu_engine += time.process_time() - c0
                        by_votes = sorted(ranked, key=lambda c: (-c.votes, c.work))
                        vote_rank = {c.work: i for i, c in enumerate(by_votes)}
                        n_engine += 1
                        dist = near.distance(line) if side == "neg" else -1
                        records.append({
                            "group": group, "k": k, "side": side,
                            "src": source if side == "pos" else "", "dist": dist,
                            "cands": [candidate_row(c, source if side == "pos" else "",
                                                    own_lines, vote_rank[c.work])
                                      for c in ranked],
                        })
                print(f"  {group} k={k}: {len(records)} queries "
                      f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)
            save(args, registered, held_out, cpu_engine, n_engine, records)
    dump = save(args, registered, held_out, cpu_engine, n_engine, records)
    report(engine, dump, args, write=not args.no_write)


def save(args: argparse.Namespace, registered: list[CorpusWork], held_out: list[CorpusWork],
         cpu_engine: float, n_engine: int, records: list[dict[str, object]]
         ) -> dict[str, object]:
    """Write the dump so far (after each group: a long run can be read while it goes on)."""
    dump = {"seed": args.seed, "collections": list(COLLECTIONS),
            "registered": len(registered), "held_out": len(held_out),
            "cpu_ms_per_query": 1000 * cpu_engine / max(1, n_engine),
            "records": records}
    (HERE / "cache").mkdir(exist_ok=True)
    path = HERE / "cache" / f"fp-{args.seed}{args.tag}.json"
    write_bytes_atomic(path, json.dumps(dump).encode())
    print(f"wrote {path}", file=sys.stderr)
    return dump


def keep_top(record: dict[str, object], top: int) -> dict[str, object]:
    """The record as if only the ``top`` best works by votes had been aligned (a dump made
    with ``--candidates`` >= ``top``; each dumped candidate carries its vote rank)."""
    rows = record["cands"]
    assert isinstance(rows, list)
    if any("vote_rank" not in c for c in rows):
        sys.exit("--top needs a dump with vote ranks (made with this version of fp.py)")
    return {**record, "cands": [c for c in rows if int(c["vote_rank"]) < top]}


def rebuild(engine: MelodyFingerprinter, rows: list[dict[str, object]]
            ) -> list[MelodyCandidate]:
    """A query's candidates as ``rank`` returns them; the runner-up is recomputed by the
    current engine's rule (each dumped candidate is another work)."""
    known = {f.name for f in fields(MelodyCandidate)} - {"work", "work_id"}
    cands = [MelodyCandidate(work=0, work_id=str(i),
                             **{k: v for k, v in row.items() if k in known})  # type: ignore[arg-type]
             for i, row in enumerate(rows)]
    return with_others(cands)


def outcomes(engine: MelodyFingerprinter, records: list[dict[str, object]]
             ) -> list[dict[str, object]]:
    """Per query: right (pos: the source is the top candidate or tied with it, and the
    decision reports it), fp (neg: any candidate reported), near (neg within NEAR_COPY)."""
    out = []
    for r in records:
        cands = rebuild(engine, r["cands"])  # type: ignore[arg-type]
        flags = [bool(c["is_source"]) for c in r["cands"]]  # type: ignore[union-attr,index]
        decided = [engine.decide(c) >= 0.5 for c in cands]
        row: dict[str, object] = {"group": r["group"], "k": r["k"], "side": r["side"]}
        if r["side"] == "pos":
            top = max((c.raw for c in cands), default=0.0)
            row["right"] = any(f and d and c.raw >= top - 1e-9
                               for f, d, c in zip(flags, decided, cands, strict=True))
        else:
            row["fp"] = any(decided)
            row["near"] = 0 <= int(r["dist"]) <= NEAR_COPY  # type: ignore[call-overload]
        out.append(row)
    return out


def summary(rows: list[dict[str, object]]) -> dict[str, object]:
    pos = [r for r in rows if r["side"] == "pos"]
    neg = [r for r in rows if r["side"] == "neg" and not r["near"]]
    near = [r for r in rows if r["side"] == "neg" and r["near"]]
    fp = sum(bool(r["fp"]) for r in neg)
    lo, hi = wilson(fp, len(neg))
    return {"recall": float(np.mean([bool(r["right"]) for r in pos])) if pos else 0.0,
            "positives": len(pos), "negatives": len(neg), "fp_count": fp,
            "fp": fp / max(1, len(neg)), "fp_ci95": [round(lo, 4), round(hi, 4)],
            "near": len(near), "near_matched": sum(bool(r["fp"]) for r in near)}


def report(engine: MelodyFingerprinter, dump: dict[str, object], args: argparse.Namespace,
           *, write: bool) -> None:
    rows = outcomes(engine, dump["records"])  # type: ignore[arg-type]
    table: list[dict[str, object]] = []
    groups = sorted({str(r["group"]) for r in rows}, key=list(GROUPS).index)
    for k in EDITS:
        for g in [*groups, "report pooled"]:
            sel = [r for r in rows if r["k"] == k and (
                r["group"] == g or (g == "report pooled" and r["group"] in REPORT_GROUPS))]
            if sel:
                table.append({"k": k, "group": g, **summary(sel)})
    print(f"{'k':>2} {'group':<14} {'recall':>7} {'pos':>5} {'FP':>7} {'95 % CI':>16} "
          f"{'neg':>5} {'near (matched)':>15}")
    for t in table:
        ci = t["fp_ci95"]
        assert isinstance(ci, list)
        print(f"{t['k']:>2} {t['group']:<14} {t['recall']:>7.3f} {t['positives']:>5} "
              f"{t['fp']:>7.4f} [{ci[0]:.4f}, {ci[1]:.4f}] {t['negatives']:>5} "
              f"{t['near']:>7} ({t['near_matched']})")
    print("\n| edits | excerpts of | recall (registered excerpts) | FP (unrelated held-out "
          "excerpts) | 95 % interval | unrelated | near copies (matched) |")
    print("|---|---|---|---|---|---|---|")
    for t in table:
        ci = t["fp_ci95"]
        assert isinstance(ci, list)
        print(f"| {t['k']} | {t['group']} | {t['recall']:.3f} of {t['positives']} | "
              f"{100 * float(t['fp']):.2f} % ({t['fp_count']}) | {100 * ci[0]:.2f}-"  # type: ignore[arg-type]
              f"{100 * ci[1]:.2f} % | {t['negatives']} | {t['near']} ({t['near_matched']}) |")
    if not write:
        return
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version()},
        "load_average": os.getloadavg(),
        "engine": engine.engine,
        "settings": asdict(engine.settings),
        "seed": dump["seed"], "registered": dump["registered"],
        "held_out": dump["held_out"], "collections": dump["collections"],
        "cpu_ms_per_query_mean": round(float(dump["cpu_ms_per_query"]), 2),  # type: ignore[arg-type]
        "cpu_s_total": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
        "rows": table,
    }
    (HERE / f"fp-results-{dump['seed']}.json").write_text(json.dumps(result, indent=1) + "\n",
                                                          encoding="utf-8")


if __name__ == "__main__":
    main()
