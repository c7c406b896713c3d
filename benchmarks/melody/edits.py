"""What the note edits of ``fp.py``'s excerpts do (issue 14, eighth session).

``fp.py`` draws its excerpts from a seeded generator and dumps only the engine's features.
This replays a draw exactly (the same generator calls as ``run.excerpt``; checked against
the dump, query by query) and logs, per excerpt, the edits made (kind, note, step) and the
passage it was cut from, so that

- the 2-edit misses of the shipped decision can be read by edit kind (``--misses``);
- every unrelated held-out excerpt with edits gets the token edit distance of its
  *unedited* passage to the registered half (``run.NearCopies``): a held-out tune-family
  relative within ``run.NEAR_COPY`` edits of a registered passage, pushed beyond it by the
  1-2 edits made to the excerpt, is counted as unrelated by ``fp.py``; ``--relabel`` reports
  false matches both ways (and writes the distances next to the dump);
- the same excerpts are queried again with other engine settings (``--set name=value``,
  e.g. ``note_move_gain=0.5``), written as a dump ``fp.py --from-dump`` reads.

    python -m benchmarks.melody.edits DUMP [--groups essen-cal] [--misses] [--relabel]
        [--requery TAG --set note_move_gain=0.5 ...] [--top 12]

The draw's flags (groups, counts) are those of the dump's reproduce line in RESULTS.md:
``--pos 250 --neg 450 --neg-cal 1500`` and the groups the dump holds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.melody.corpus import CorpusWork, build_index, load_works, split
from benchmarks.melody.fp import COLLECTIONS, GROUPS, candidate_row, keep_top, outcomes
from benchmarks.melody.run import NEAR_COPY, NearCopies, in_part, logged_excerpt
from tdmguard.fingerprint.melody import MelodyFingerprinter
from tdmguard.fingerprint.melody.engine import MelodySettings

HERE = Path(__file__).parent


def replay(dump: dict[str, Any], registered: list[CorpusWork], held_out: list[CorpusWork],
           pos: int, neg: int, neg_cal: int) -> list[dict[str, Any]]:
    """The dump's excerpts again, in its order (``fp.draw``), with their edits and source
    passage; exits if they do not line up with the dump's records."""
    records = dump["records"]
    groups = list(dict.fromkeys(str(r["group"]) for r in records))
    edit_levels = list(dict.fromkeys(int(r["k"]) for r in records))
    rng = np.random.default_rng(int(dump["seed"]))
    out: list[dict[str, Any]] = []
    for group in groups:
        collection, part = GROUPS[group]
        reg = [w for w in registered if w.collection == collection and in_part(w, part)]
        held = [w for w in held_out if w.collection == collection and in_part(w, part)]
        for k in edit_levels:
            neg_n = neg_cal if group == "essen-cal" else neg
            for side, works, count in (("pos", reg, pos), ("neg", held, neg_n)):
                got, rounds = 0, 0
                while count > 0 and got < count and rounds < 4:
                    for p in rng.permutation(len(works)):
                        ex = logged_excerpt(works[int(p)], rng, k)
                        if ex is not None:
                            out.append({"group": group, "k": k, "side": side,
                                        "src": works[int(p)].work_id, "line": ex[0],
                                        "edits": ex[1], "source": ex[2]})
                            got += 1
                        if got == count:
                            break
                    rounds += 1
    if len(out) != len(records) or any(
        (a["group"], a["k"], a["side"]) != (b["group"], b["k"], b["side"])
        or (a["side"] == "pos" and a["src"] != b["src"]) for a, b in zip(out, records, strict=False)
    ):
        sys.exit("the replayed draw does not line up with the dump: give the draw's "
                 "--pos / --neg / --neg-cal")
    return out


def misses_by_edit(engine: MelodyFingerprinter, records: list[dict[str, Any]],
                   replayed: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """2-edit recall of the decision per pair of edit kinds."""
    rows = outcomes(engine, records)
    seen: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row, rep in zip(rows, replayed, strict=True):
        if row["side"] != "pos" or row["k"] != 2:
            continue
        kinds = "+".join(sorted(e[0] for e in rep["edits"]))
        seen[kinds] += 1
        right[kinds] += bool(row["right"])
    return {k: {"excerpts": seen[k], "recall": round(right[k] / seen[k], 4),
                "missed": seen[k] - right[k]} for k in sorted(seen)}


def relabelled(engine: MelodyFingerprinter, records: list[dict[str, Any]],
               source_dist: dict[int, int]) -> list[dict[str, object]]:
    """False matches per edit level, unrelated as ``fp.py`` counts them (the edited excerpt
    farther than NEAR_COPY from every registered passage) and also requiring its unedited
    passage to be that far."""
    rows = outcomes(engine, records)
    table: list[dict[str, object]] = []
    for k in sorted({int(r["k"]) for r in records}):  # type: ignore[call-overload]
        sel = [(i, r) for i, r in enumerate(rows) if r["k"] == k and r["side"] == "neg"]
        apart = [(i, r) for i, r in sel if not r["near"]]
        both = [(i, r) for i, r in apart if source_dist.get(i, NEAR_COPY + 1) > NEAR_COPY]
        table.append({
            "k": k,
            "unrelated_edited": len(apart), "fp_edited": sum(bool(r["fp"]) for _, r in apart),
            "unrelated_edited_and_source": len(both),
            "fp_edited_and_source": sum(bool(r["fp"]) for _, r in both),
        })
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    parser.add_argument("--pos", type=int, default=250)
    parser.add_argument("--neg", type=int, default=450)
    parser.add_argument("--neg-cal", type=int, default=1500)
    parser.add_argument("--groups", default=None, help="only these groups (comma-separated)")
    parser.add_argument("--top", type=int, default=12, help="re-decide as if N were aligned")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--relabel", action="store_true")
    parser.add_argument("--requery", default=None, metavar="TAG",
                        help="query the excerpts again with --set settings; writes "
                        "cache/fp-<seed>-<TAG>.json")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    dump = json.loads(args.dump.read_text(encoding="utf-8"))
    registered, held_out = split(load_works(COLLECTIONS, verbose=False))
    replayed = replay(dump, registered, held_out, args.pos, args.neg, args.neg_cal)
    groups = set(args.groups.split(",")) if args.groups else None
    keep = [i for i, r in enumerate(dump["records"]) if groups is None or r["group"] in groups]
    records = [keep_top(dump["records"][i], args.top) for i in keep]
    reps = [replayed[i] for i in keep]
    engine = MelodyFingerprinter()
    out: dict[str, object] = {"dump": args.dump.name, "groups": sorted(groups or []),
                              "top": args.top}
    if args.misses:
        out["two_edit_recall_by_edits"] = misses_by_edit(engine, records, reps)
    if args.relabel:
        dist_path = args.dump.with_name(args.dump.stem + "-source-dist.json")
        if dist_path.exists():
            dist = {int(a): int(b) for a, b in json.loads(dist_path.read_text())}
        else:
            near = NearCopies(registered)
            dist = {i: near.distance(r["source"]) for i, r in enumerate(replayed)
                    if r["side"] == "neg" and int(r["k"]) > 0}
            dist_path.write_text(json.dumps(sorted(dist.items())), encoding="utf-8")
        local = {j: dist[i] for j, i in enumerate(keep) if i in dist}
        out["false_matches"] = relabelled(engine, records, local)
    if args.requery:
        kw: dict[str, Any] = {}
        for item in args.set:
            name, value = item.split("=", 1)
            kw[name] = type(getattr(MelodySettings(), name))(value)
        variant = MelodyFingerprinter(replace(MelodySettings(), candidates=args.top, **kw))
        rows: list[dict[str, object]] = []
        cpu = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            index = build_index(variant, registered, Path(tmp))
            for i in keep:
                rec, rep = dump["records"][i], replayed[i]
                c0 = time.process_time()
                ranked = variant.rank(variant.fingerprint_lines([rep["line"]]), index)
                cpu += time.process_time() - c0
                by_votes = sorted(ranked, key=lambda c: (-c.votes, c.work))
                rank = {c.work: n for n, c in enumerate(by_votes)}
                src = rec["src"]
                rows.append({**{k: rec[k] for k in ("group", "k", "side", "src", "dist")},
                             "cands": [candidate_row(c, src, None, rank[c.work])
                                       for c in ranked]})
        new = {**{k: dump[k] for k in ("seed", "collections", "registered", "held_out")},
               "cpu_ms_per_query": 1000 * cpu / max(1, len(rows)), "settings": kw,
               "records": rows}
        path = HERE / "cache" / f"fp-{dump['seed']}-{args.requery}.json"
        path.write_text(json.dumps(new), encoding="utf-8")
        out["requery"] = {"wrote": path.name, "settings": kw,
                          "cpu_ms_per_query": round(float(new["cpu_ms_per_query"]), 1)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
