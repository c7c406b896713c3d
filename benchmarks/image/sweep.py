"""Decision thresholds swept on the calibration split (``python -m benchmarks.image --split
calibration``): each threshold of the image engine's decision rules is moved one at a time
over a few values, every query is answered again, and recall and false-match queries are
counted. Decoding and ORB detection are cached, so a pass costs only the matching.

Recall and false matches are counted on confident matches (a match rated ``review`` never
excludes on its own); the same at any level is stored beside.

Rule for choosing (applied here, printed, stored in results-calibration.json): per
threshold, the value with the fewest false-match queries whose recall stays within
:data:`RECALL_SLACK` of the shipped value's; ties go to the higher recall, then the shipped
value. The report split is never swept."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: a value may cost at most this much recall (share of all copy queries) for fewer false matches
RECALL_SLACK = 0.002

#: (module, name) -> values tried; the shipped value is always tried too
GRID: dict[tuple[str, str], tuple[float, ...]] = {
    ("engine", "COLOUR_TIE"): (3.0, 5.0, 8.0),
    ("engine", "THIN_CHROMA_MAX"): (15.0, 25.0, 40.0),
    ("engine", "LOCAL_THIN"): (15, 20, 30),
    ("engine", "LOCAL_THIN_RATIO"): (2.0, 3.0, 5.0),
    ("engine", "LAYOUT_QUERY_MARGIN"): (12.0, 18.0, 24.0),
    ("engine", "PDQ_TIE"): (4, 8, 12),
    ("engine", "LOCAL_CLOSER_Z"): (0.5, 1.0, 1.5, 2.0, 3.0),
    ("engine", "PDQ_MARGIN"): (0, 2, 4, 6, 8, 10, 12),
    ("engine", "LOCAL_MARGIN"): (0.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0),
    ("engine", "LOCAL_OWN_MIN"): (0, 8, 11, 14, 17, 20),
    ("local", "MIN_INLIERS"): (8, 10, 12, 14),
    ("local", "RATIO"): (0.7, 0.8, 0.9),
}


def _modules() -> dict[str, Any]:
    from tdmguard.fingerprint.image import engine, local

    return {"engine": engine, "local": local}


@contextlib.contextmanager
def cached_decoding() -> Iterator[None]:
    """Decoded images and ORB rows memoised for the length of the sweep."""
    from tdmguard.fingerprint.image import engine

    real_load, real_read, real_local = (
        engine.load_working,
        engine.read_bytes,
        engine.ImageFingerprinter._local_rows,
    )
    loads: dict[tuple[Any, ...], Any] = {}
    reads: dict[Path, bytes] = {}
    rows: dict[tuple[Any, ...], Any] = {}

    def load(path: Path, **kw: Any) -> Any:
        key = (path, kw.get("colour", True), kw.get("min_side"))
        if key not in loads:
            loads[key] = real_load(path, **kw)
        return loads[key]

    def read(path: Path) -> bytes:
        if path not in reads:
            reads[path] = real_read(path)
        return reads[path]

    def local_rows(grey: Any) -> Any:
        key = (grey.shape, hash(np.ascontiguousarray(grey).tobytes()))
        if key not in rows:
            rows[key] = real_local(grey)
        return rows[key]

    engine.load_working, engine.read_bytes = load, read  # type: ignore[assignment]
    engine.ImageFingerprinter._local_rows = staticmethod(local_rows)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        engine.load_working, engine.read_bytes = real_load, real_read  # type: ignore[assignment]
        engine.ImageFingerprinter._local_rows = staticmethod(real_local)  # type: ignore[method-assign,assignment]


def _score(engine: Any, index: Any, queries: list[tuple[str, str, str, Path]]) -> dict[str, Any]:
    from tdmguard.errors import MediaError

    found = false = copies = found_any = false_any = 0
    by_group: dict[str, list[int]] = {}
    for _name, group, truth, path in queries:
        try:
            matches = engine.match_file(path, index)
        except MediaError:
            matches = []
        # confident matches decide (a review match never excludes on its own); any level aside
        hit = any(m.work_id == truth and not m.needs_review for m in matches)
        false += any(m.work_id != truth and not m.needs_review for m in matches)
        false_any += any(m.work_id != truth for m in matches)
        if truth:
            copies += 1
            found += hit
            found_any += any(m.work_id == truth for m in matches)
            cell = by_group.setdefault(group, [0, 0])
            cell[0] += hit
            cell[1] += 1
    return {
        "recall": round(found / max(copies, 1), 4),
        "false_match_queries": false,
        "recall_any_level": round(found_any / max(copies, 1), 4),
        "false_match_queries_any_level": false_any,
        "false_match_rate": round(false / max(len(queries), 1), 5),
        "recall_by_group": {g: round(h / n, 4) for g, (h, n) in sorted(by_group.items())},
    }


def sweep(
    engine: Any,
    index: Any,
    queries: list[tuple[str, str, str, Path]],
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``only``: the thresholds to sweep (names), every one of :data:`GRID` when empty."""
    modules = _modules()
    grid = {key: values for key, values in GRID.items() if not only or key[1] in only}
    shipped = {key: getattr(modules[key[0]], key[1]) for key in grid}
    out: dict[str, Any] = {"rule": __doc__.split("Rule for choosing")[1].strip(), "runs": {}}
    with cached_decoding():
        base = _score(engine, index, queries)
        out["shipped"] = {"values": {k[1]: v for k, v in shipped.items()}, **base}
        print(
            f"sweep: shipped values: recall {base['recall']}, false {base['false_match_queries']}",
            flush=True,
        )
        chosen: dict[str, float] = {}
        for key, values in grid.items():
            module, name = modules[key[0]], key[1]
            runs = {}
            for value in sorted({*values, shipped[key]}):
                setattr(module, name, value)
                runs[str(value)] = base if value == shipped[key] else _score(engine, index, queries)
                print(
                    f"sweep: {name}={value}: recall {runs[str(value)]['recall']}, "
                    f"false {runs[str(value)]['false_match_queries']}",
                    flush=True,
                )
            setattr(module, name, shipped[key])
            floor = runs[str(shipped[key])]["recall"] - RECALL_SLACK
            best = min(
                (v for v in runs if runs[v]["recall"] >= floor),
                key=lambda v: (
                    runs[v]["false_match_queries"],
                    -runs[v]["recall"],
                    v != str(shipped[key]),
                ),
            )
            chosen[name] = float(best)
            out["runs"][name] = runs
        out["chosen"] = chosen
        # the chosen values together
        for key in grid:
            setattr(modules[key[0]], key[1], type(shipped[key])(chosen[key[1]]))
        out["chosen_together"] = _score(engine, index, queries)
        for key in grid:
            setattr(modules[key[0]], key[1], shipped[key])
    return out
