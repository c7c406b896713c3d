"""What the HTML report and the training-content summary show, read once from a scan's
outputs (``report.json`` and the four JSON Lines files), in bounded memory.

Counts come from ``report.json``; figures that it does not hold (decisions by media kind,
exclusions by channel, score distributions, domains) are aggregated from the JSON Lines
files in one pass. Only aggregates and at most ``max_rows`` excluded/review rows are kept,
so a scan of millions of items gives a report of bounded size.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from tdmguard.errors import InputError

__all__ = [
    "COLLECTION_DATE_KEYS",
    "LANGUAGE_KEYS",
    "MATCH_THRESHOLDS",
    "MAX_ROWS",
    "ReportFacts",
    "ScanRun",
    "channel_of",
    "collect_facts",
    "content_section",
    "iter_jsonl",
    "load_scan",
]

#: Rows of excluded and review items embedded in report.html (the rest stay in the JSONL).
MAX_ROWS = 20_000
#: Match scores kept per modality for the distribution chart (a seeded reservoir sample).
MAX_SCORES = 5_000
#: The decision threshold of each engine's score, marked on the score charts. Audio scores
#: count agreeing hash triplets (``fingerprint/audio/alignment.py`` ``min_score``); image
#: scores are ``1 - hamming / 64`` at PDQ's distance 31 (``fingerprint/image.py``); melody
#: scores are calibrated so 0.5 is the threshold (``fingerprint/melody/engine.py``). Lyrics
#: matches are decided by n-gram chains, not by a score cut-off, so none is marked.
MATCH_THRESHOLDS: Mapping[str, float | None] = {
    "audio": 8.0,
    "image": 1 - 31 / 64,
    "melody": 0.5,
    "lyrics": None,
}
#: Record fields (manifest columns, carried in ``meta``) read as the item's language and as
#: the date it was collected; the common names of public web corpora.
LANGUAGE_KEYS = ("language", "lang")
COLLECTION_DATE_KEYS = ("collected_at", "crawled_at", "crawl_date", "date", "timestamp")
#: Domains listed per scan in ``report.json`` (the template asks for the top 10 %).
MAX_DOMAINS = 1000

OUTPUT_FILES = ("kept", "excluded", "review", "errors")
_DECISION_OF_FILE = {"kept": "keep", "excluded": "exclude", "review": "review", "errors": "error"}


@dataclass(frozen=True, slots=True)
class ScanRun:
    """One scan folder and its ``report.json``."""

    folder: Path
    report: Mapping[str, Any]


def load_scan(folder: Path) -> ScanRun:
    """Read ``folder/report.json``; a folder that is not a finished scan is an input error."""
    path = folder / "report.json"
    try:
        report = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputError(
            "not a finished scan folder (no report.json): run `tdmguard scan` first",
            where=str(folder),
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable report.json ({exc})", where=str(path)) from exc
    if not isinstance(report, dict) or "counts" not in report:
        raise InputError("report.json has no counts: not a tdmguard scan report", where=str(path))
    return ScanRun(folder, report)


def channel_of(evidence: Mapping[str, Any]) -> str:
    """The channel an evidence entry came through: ``content match (audio)``, ``embedded
    metadata (xmp:plus:DataMining)`` or ``web signal (robots.txt)``."""
    source = str(evidence.get("source", "?"))
    if source.startswith("registry:"):
        return f"content match ({source.removeprefix('registry:')})"
    locator = str(evidence.get("locator", ""))
    if locator.startswith(("http://", "https://")):
        return f"web signal ({source})"
    return f"embedded metadata ({source})"


def _domain(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def _text(value: Any, limit: int = 300) -> str:
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return s if len(s) <= limit else s[:limit] + "…"


@dataclass
class _Reservoir:
    """A seeded reservoir sample: the same outputs give the same sample."""

    size: int
    seen: int = 0
    values: list[float] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(13))

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
        else:
            j = self.rng.randrange(self.seen)
            if j < self.size:
                self.values[j] = value


@dataclass
class ReportFacts:
    """Aggregates over one or several scans (see the module docstring)."""

    scans: list[ScanRun]
    decision_media: Counter[tuple[str, str]] = field(default_factory=Counter)
    excluded_reasons: Counter[str] = field(default_factory=Counter)
    review_reasons: Counter[str] = field(default_factory=Counter)
    excluded_channels: Counter[str] = field(default_factory=Counter)
    excluded_holders: Counter[str] = field(default_factory=Counter)
    excluded_works: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    scores: dict[str, _Reservoir] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    kept_media: dict[str, list[int]] = field(default_factory=dict)  # media -> [items, bytes]
    kept_domains: dict[str, list[int]] = field(default_factory=dict)  # domain -> [items, bytes]
    kept_languages: Counter[str] = field(default_factory=Counter)
    collected: list[str] = field(default_factory=list)  # [first, last] ISO dates seen
    rows: list[dict[str, Any]] = field(default_factory=list)
    rows_total: int = 0

    @property
    def rows_left_out(self) -> int:
        return self.rows_total - len(self.rows)

    def counts(self) -> dict[str, int]:
        """kept / excluded / review / errors summed over the scans' ``report.json``."""
        out = {"kept": 0, "excluded": 0, "review": 0, "errors": 0}
        for scan in self.scans:
            for key in out:
                out[key] += int(scan.report["counts"].get(key, 0))
        return out

    def score_samples(self) -> dict[str, tuple[list[float], int]]:
        """Per modality: the sampled scores and how many matches there were in all."""
        return {m: (r.values, r.seen) for m, r in sorted(self.scores.items())}


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines output (none when the file is absent); a broken
    line is an input error naming the file and line."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                try:
                    obj = orjson.loads(raw)  # the report reads every output line back
                except orjson.JSONDecodeError:  # what orjson refuses and json reads (NaN)
                    obj = json.loads(raw)
            except ValueError as exc:
                raise InputError(f"invalid JSON line ({exc})", where=f"{path}:{number}") from exc
            if isinstance(obj, dict):
                yield obj


def _error_kind(line: Mapping[str, Any]) -> str:
    check = str(line.get("check", "?"))
    message = str(line.get("error", ""))
    if message.startswith("internal error "):
        head = message.split(":", 1)[0]
    else:
        head = message.split(" (", 1)[0].split(": ", 1)[0]
        if "/" in head or "\\" in head:  # a path or URL: keep only what went wrong
            head = message.rsplit(": ", 1)[-1].split(" (", 1)[0]
    return f"{check}: {head[:60]}"


def _row(scan_index: int, decision: str, line: Mapping[str, Any]) -> dict[str, Any]:
    """One excluded/review item in readable form (short keys keep the embedded JSON small)."""
    works: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    titles = {
        str(r.get("work")): (str(r.get("title", "")), str(r.get("holder", "")))
        for r in line.get("reasons", [])
        if isinstance(r, dict) and "work" in r
    }
    for m in line.get("matches", []):
        if not isinstance(m, dict):
            continue
        title, holder = titles.get(str(m.get("work_id")), ("", ""))
        unit = {"audio": "s", "lyrics": "char", "melody": "note"}.get(str(m.get("modality")))
        span = ""
        if unit:
            span = f"{m.get(f'query_start_{unit}', '')}-{m.get(f'query_end_{unit}', '')} {unit}"
        work = {
            "w": m.get("work_id"),
            "t": title,
            "h": holder,
            "m": m.get("modality"),
            "s": m.get("score"),
            "sp": span,
        }
        if m.get("modality") == "audio":
            work["tf"] = m.get("time_factor")
            work["pf"] = m.get("pitch_factor")
        if m.get("quote"):
            work["q"] = _text(m["quote"])
        works.append(work)
    for e in line.get("evidence", []):
        if not isinstance(e, dict) or str(e.get("source", "")).startswith("registry:"):
            continue
        sig = {"c": channel_of(e), "l": _text(e.get("locator", ""), 200)}
        if "status" in e:
            sig["st"] = e["status"]
        if e.get("raw"):
            sig["r"] = _text(e["raw"], 200)
        signals.append(sig)
    reasons = [
        f"{r.get('code')}" + (f": {_text(r['detail'], 160)}" if r.get("detail") else "")
        for r in line.get("reasons", [])
        if isinstance(r, dict)
    ]
    row: dict[str, Any] = {
        "k": scan_index,
        "d": decision,
        "id": _text(line.get("id", ""), 200),
        "md": line.get("media", ""),
        "why": reasons,
        "wk": works,
        "sg": signals,
    }
    where = line.get("url") or line.get("path")
    if where:
        row["at"] = _text(where, 200)
    return row


def _first_str(meta: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and key == "timestamp" and value > 0:
            try:
                return datetime.fromtimestamp(float(value), UTC).date().isoformat()
            except (OverflowError, OSError, ValueError):
                return None
    return None


def _scan_one(facts: ReportFacts, index: int, folder: Path, max_rows: int) -> None:
    for name in OUTPUT_FILES:
        decision = _DECISION_OF_FILE[name]
        for line in iter_jsonl(folder / f"{name}.jsonl"):
            media = str(line.get("media", "unknown"))
            facts.decision_media[(media, decision)] += 1
            for m in line.get("matches", []):
                if isinstance(m, dict) and isinstance(m.get("score"), int | float):
                    modality = str(m.get("modality", "?"))
                    facts.scores.setdefault(modality, _Reservoir(MAX_SCORES)).add(
                        float(m["score"])
                    )
            if decision == "error":
                facts.errors[_error_kind(line)] += 1
                continue
            reasons = [r for r in line.get("reasons", []) if isinstance(r, dict)]
            if decision == "keep":
                size = int(line.get("size_bytes", 0) or 0)
                slot = facts.kept_media.setdefault(media, [0, 0])
                slot[0] += 1
                slot[1] += size
                url = line.get("url")
                domain = _domain(url) if isinstance(url, str) else None
                if domain:
                    d = facts.kept_domains.setdefault(domain, [0, 0])
                    d[0] += 1
                    d[1] += size
                meta = line.get("meta") or {}
                if isinstance(meta, dict):
                    lang = _first_str(meta, LANGUAGE_KEYS)
                    if lang:
                        facts.kept_languages[lang.lower()] += 1
                    when = _first_str(meta, COLLECTION_DATE_KEYS)
                    if when:
                        day = when[:10]
                        if not facts.collected:
                            facts.collected[:] = [day, day]
                        else:
                            facts.collected[0] = min(facts.collected[0], day)
                            facts.collected[1] = max(facts.collected[1], day)
                continue
            codes = sorted({str(r.get("code")) for r in reasons})
            if decision == "exclude":
                facts.excluded_reasons.update(codes)
                facts.excluded_channels.update(
                    {channel_of(e) for e in line.get("evidence", []) if isinstance(e, dict)}
                    or {"no evidence (policy)"}
                )
                facts.excluded_holders.update({str(r["holder"]) for r in reasons if "holder" in r})
                facts.excluded_works.update(
                    {
                        (str(r["work"]), str(r.get("title", "")), str(r.get("holder", "")))
                        for r in reasons
                        if "work" in r
                    }
                )
            else:
                facts.review_reasons.update(codes)
            facts.rows_total += 1
            if len(facts.rows) < max_rows:
                facts.rows.append(_row(index, decision, line))


def collect_facts(
    folders: Sequence[Path],
    *,
    max_rows: int = MAX_ROWS,
    reports: Sequence[Mapping[str, Any]] | None = None,
) -> ReportFacts:
    """Read the scans in ``folders`` (their ``report.json``, or ``reports`` when given, as
    the runner does before writing it) and aggregate their JSON Lines outputs."""
    if not folders:
        raise InputError("no scan folder given", where="report")
    if reports is None:
        scans = [load_scan(Path(f)) for f in folders]
    else:
        scans = [ScanRun(Path(f), r) for f, r in zip(folders, reports, strict=True)]
    facts = ReportFacts(scans=scans)
    for index, scan in enumerate(scans):
        _scan_one(facts, index, scan.folder, max_rows)
    return facts


def content_section(facts: ReportFacts) -> dict[str, Any]:
    """The ``content`` block a scan adds to its ``report.json``: what the training-content
    summary needs beyond the counts (exclusions per channel, kept items per media kind,
    domains by volume, languages and collection dates when the records carry them)."""
    domains = sorted(facts.kept_domains.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    return {
        "excluded_by_channel": dict(sorted(facts.excluded_channels.items())),
        "kept_by_media": {
            m: {"items": v[0], "bytes": v[1]} for m, v in sorted(facts.kept_media.items())
        },
        "kept_domains": {
            "domains": len(domains),
            "top": [
                {"domain": d, "items": v[0], "bytes": v[1]} for d, v in domains[:MAX_DOMAINS]
            ],
        },
        "kept_languages": dict(sorted(facts.kept_languages.items())),
        "collection_period": (
            {"first": facts.collected[0], "last": facts.collected[1]} if facts.collected else None
        ),
    }
