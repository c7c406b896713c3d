"""What the HTML report and the training-content summary show, from a scan's outputs
(``report.json`` and the four JSON Lines files), in bounded memory.

Counts come from ``report.json``; figures that it does not hold (decisions by media kind,
exclusions by channel, score distributions, domains) are aggregated over the output lines.
Only aggregates, a sample of at most ``max_rows`` excluded/review rows and of
``MAX_SCORES`` match scores per modality are kept, so a scan of millions of items gives a
report of bounded size.

**Per-shard facts.** Each shard tallies its own lines as it writes them (:class:`Tally`,
``scan/shard.py``) and commits the tally as ``facts.jsonl`` with its outputs; the driver
merges these small files instead of reading every output line back. A scan folder whose
shards lack them (made before tdmguard wrote them, by an older version, or with the shards
removed) is read back line by line, as before: both give the same facts.

**Rows read last.** A shard's ``facts.jsonl`` is its aggregates on the first line (with the
keys and places of its sampled rows, smallest key first), then one line per sampled row in
that order. The driver reads the first lines, merges the keys and only then reads, from each
shard, the rows that made the scan's sample: about ``max_rows`` of them, however many
shards and rows the scan has (a 300,000-text scan's shards hold 150,000 sampled rows; parsing
them all was most of the report's 2.5 s after the last shard).

**Samples that merge.** Rows and scores are sampled by key, not by position: every
excluded or review line gets a key hashed from its bytes (a score, from its line's bytes and
its place in the line), and the sample is the ``k`` lines with the smallest keys (ties in
output order). The ``k`` smallest of a union are among the ``k`` smallest of each part, so
a shard keeps its own ``k`` smallest and the driver those of all shards: the sample depends
only on the output lines, never on the number of workers, the executor or the order in which
shards finished, and a read-back of the merged files finds the same one. Chosen rows are
listed in output order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from tdmguard.errors import InputError
from tdmguard.scan.writers import PLAIN, load_line

__all__ = [
    "COLLECTION_DATE_KEYS",
    "FACTS_FILE",
    "LANGUAGE_KEYS",
    "MATCH_THRESHOLDS",
    "MAX_ROWS",
    "ReportFacts",
    "ScanRun",
    "Tally",
    "channel_of",
    "collect_facts",
    "content_section",
    "iter_jsonl",
    "load_scan",
    "shard_tally",
]

#: Rows of excluded and review items embedded in report.html (the rest stay in the JSONL).
MAX_ROWS = 20_000
#: Match scores kept per modality for the distribution chart (a sample by key).
MAX_SCORES = 5_000
#: A shard's tally, committed with its outputs (``shards/<n>/facts.jsonl``; version 2 was
#: one JSON document, ``facts.json``, and such shards are read back).
FACTS_FILE = "facts.jsonl"
#: Bumped when the tally's meaning changes: a shard with another version is read back.
FACTS_VERSION = 3
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


def _iter_raw(path: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(object, line bytes) of a JSON Lines output (none when the file is absent); a broken
    line is an input error naming the file and line."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            raw = raw.rstrip(b"\r\n")
            try:
                obj = load_line(raw)
            except ValueError as exc:
                raise InputError(f"invalid JSON line ({exc})", where=f"{path}:{number}") from exc
            if isinstance(obj, dict):
                yield obj, raw


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines output (none when the file is absent); a broken
    line is an input error naming the file and line."""
    for obj, _ in _iter_raw(path):
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


def _row(decision: str, line: Mapping[str, Any]) -> dict[str, Any]:
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
    row: dict[str, Any] = {  # "k", the scan's number, goes first when rows are merged
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


# A sampled entry: (key, order, value); order is the entry's place in the outputs (scan,
# output file, shard, line in the shard's file, match in the line), for ties and listing.
_Entry = tuple[int, tuple[int, ...], Any]


def _digest(raw: bytes) -> bytes:
    """A line's digest: a keyed BLAKE2b of its bytes (the same in every process and on
    every machine, unlike ``hash``), from which its sample keys are drawn."""
    return hashlib.blake2b(raw, digest_size=8, person=b"row").digest()


def _row_key(digest: bytes) -> int:
    """A line's key in the rows' sample: 63 bits of its digest."""
    return int.from_bytes(digest) >> 1


def _score_key(digest: bytes, n: int) -> int:
    """The key of the line's ``n``-th match score: from the line's digest and ``n`` (the
    line is hashed once, however many matches it has)."""
    return _row_key(hashlib.blake2b(digest + n.to_bytes(4), digest_size=8,
                                    person=b"score").digest())


def _count(counter: Counter[Any], keys: Iterable[Any]) -> None:
    """``counter.update(keys)`` for the one or two keys a line adds (a loop of ``+= 1``
    costs a fraction of ``Counter.update``'s generic path)."""
    for key in keys:
        counter[key] += 1


@dataclass(frozen=True, slots=True)
class _RowRef:
    """A sampled row not read yet: the ``line``-th row (0: the first after the aggregates)
    of the shard tally ``path`` (see "Rows read last" in the module docstring)."""

    path: Path
    line: int


@dataclass
class _Sample:
    """The ``size`` entries with the smallest keys among ``seen`` (see the module
    docstring): mergeable, whatever the order entries arrive in."""

    size: int
    seen: int = 0
    entries: list[_Entry] = field(default_factory=list)
    # once full, the largest key kept: an entry with a larger key can never be chosen
    bound: int | None = field(default=None, compare=False)

    def add(self, key: int, order: tuple[int, ...], value: Any) -> None:
        self.seen += 1
        self.entries.append((key, order, value))
        if len(self.entries) >= 2 * self.size + 64:
            self._trim()

    def update(
        self, other: _Sample, place: Callable[[tuple[int, ...]], tuple[int, ...]] | None = None
    ) -> None:
        """Add ``other``'s entries, their orders mapped through ``place``; those whose key
        is above :attr:`bound` are left out at once (most of a large scan's)."""
        self.seen += other.seen
        bound = self.bound
        kept = other.entries if bound is None else [e for e in other.entries if e[0] <= bound]
        self.entries.extend(kept if place is None else [(k, place(o), v) for k, o, v in kept])
        if len(self.entries) >= 2 * self.size + 64:
            self._trim()

    def _trim(self, size: int | None = None) -> None:
        size = self.size if size is None else min(size, self.size)
        if len(self.entries) > size:
            # (key, order) never ties (an order is one place), so values are never compared
            self.entries.sort(key=_key_order)
            del self.entries[size:]
            if size == self.size:
                self.bound = self.entries[-1][0] if self.entries else None

    def resolve(self) -> None:
        """Read the rows still only referred to (:class:`_RowRef`) from their shards'
        tallies, a file at a time; ValueError when a file no longer holds them."""
        wanted: dict[Path, list[tuple[int, int]]] = {}
        for at, (_, _, value) in enumerate(self.entries):
            if type(value) is _RowRef:
                wanted.setdefault(value.path, []).append((value.line, at))
        for path, lines in wanted.items():
            lines.sort()
            try:
                with path.open("rb") as fh:
                    fh.readline()  # the aggregates
                    rows = list(itertools.islice(fh, lines[-1][0] + 1))
                for line, at in lines:
                    key, order, _ = self.entries[at]
                    value = orjson.loads(rows[line])
                    if not isinstance(value, dict):
                        raise ValueError("a sampled row is not an object")
                    self.entries[at] = (key, order, value)
            except (OSError, IndexError, orjson.JSONDecodeError) as exc:
                raise ValueError(f"{path}: sampled rows unreadable ({exc})") from exc

    def chosen(self, size: int | None = None) -> list[_Entry]:
        """The sample (its ``size`` smallest keys, at most its own size), in output order."""
        self._trim()
        if size is not None and size < len(self.entries):
            return sorted(sorted(self.entries, key=_key_order)[:size], key=itemgetter(1))
        return sorted(self.entries, key=itemgetter(1))

    @property
    def values(self) -> list[Any]:
        return [v for _, _, v in self.chosen()]


def _key_order(entry: _Entry) -> tuple[int, tuple[int, ...]]:
    return entry[0], entry[1]


_RANK = {name: rank for rank, name in enumerate(("kept", "excluded", "review", "errors"))}


@dataclass
class Tally:
    """Aggregates over output lines: one shard's (``facts.jsonl``), or a whole scan's read
    back. :meth:`add` takes a line as written; :meth:`update` merges another tally."""

    decision_media: Counter[tuple[str, str]] = field(default_factory=Counter)
    excluded_reasons: Counter[str] = field(default_factory=Counter)
    review_reasons: Counter[str] = field(default_factory=Counter)
    excluded_channels: Counter[str] = field(default_factory=Counter)
    excluded_holders: Counter[str] = field(default_factory=Counter)
    excluded_works: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    scores: dict[str, _Sample] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    kept_media: dict[str, list[int]] = field(default_factory=dict)  # media -> [items, bytes]
    kept_domains: dict[str, list[int]] = field(default_factory=dict)  # domain -> [items, bytes]
    kept_languages: Counter[str] = field(default_factory=Counter)
    collected: list[str] = field(default_factory=list)  # [first, last] ISO dates seen
    sample: _Sample = field(default_factory=lambda: _Sample(MAX_ROWS))
    rows_total: int = 0
    # lines added per output file (their place, for the sample's order)
    lines: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def add(
        self, output: str, line: Mapping[str, Any], raw: bytes, plain: bool | None = None
    ) -> None:
        """One line of ``output`` (kept, excluded, review, errors) as a shard writes it:
        ``line`` the value, ``raw`` its bytes in the file (may end with its newline).
        Facts come from what a reader of the file sees. When ``line`` holds only plain JSON
        values (no lone surrogate, numpy number, date, subclass or other value the writer
        converts), that is ``line`` itself, and it is read from the value directly;
        otherwise it is parsed back from ``raw``. ``plain`` is what the shard writer found
        while encoding the line (``ShardWriter.write``); ``None`` has it checked here, by
        encoding the line again. Parsing every line would cost about 100 us an excluded
        line inside a scan (its allocations set off the garbage collector over the
        engine's objects)."""
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if plain is None:
            try:
                plain = orjson.dumps(line, option=PLAIN) == raw
            except (orjson.JSONEncodeError, RecursionError):
                plain = False
        self._add(output, line if plain else _parse(raw), raw)

    def add_read(self, output: str, line: Mapping[str, Any], raw: bytes) -> None:
        """One line read back from a file (``line`` parsed from ``raw``)."""
        self._add(output, line, raw)

    def _add(self, output: str, line: Mapping[str, Any], raw: bytes) -> None:
        rank = _RANK[output]
        place = self.lines[rank]
        self.lines[rank] += 1
        decision = _DECISION_OF_FILE[output]
        media = str(line.get("media", "unknown"))
        self.decision_media[(media, decision)] += 1
        # the line's digest, hashed once: the row's key and each score's key come from it
        digest = b""
        matches = line.get("matches")
        if matches:
            digest = _digest(raw)
            for n, m in enumerate(matches):
                if isinstance(m, dict) and isinstance(m.get("score"), int | float):
                    modality = str(m.get("modality", "?"))
                    sample = self.scores.get(modality)
                    if sample is None:
                        sample = self.scores[modality] = _Sample(MAX_SCORES)
                    sample.add(_score_key(digest, n), (rank, place, n), float(m["score"]))
        if decision == "error":
            self.errors[_error_kind(line)] += 1
            return
        if decision == "keep":
            self._add_kept(media, line)
            return
        reasons = [r for r in line.get("reasons", []) if isinstance(r, dict)]
        codes = sorted({str(r.get("code")) for r in reasons})
        if decision == "exclude":
            _count(self.excluded_reasons, codes)
            _count(
                self.excluded_channels,
                {channel_of(e) for e in line.get("evidence", []) if isinstance(e, dict)}
                or {"no evidence (policy)"},
            )
            _count(self.excluded_holders, {str(r["holder"]) for r in reasons if "holder" in r})
            _count(
                self.excluded_works,
                {
                    (str(r["work"]), str(r.get("title", "")), str(r.get("holder", "")))
                    for r in reasons
                    if "work" in r
                },
            )
        else:
            _count(self.review_reasons, codes)
        self.rows_total += 1
        self.sample.add(_row_key(digest or _digest(raw)), (rank, place), _row(decision, line))

    def _add_kept(self, media: str, line: Mapping[str, Any]) -> None:
        size = int(line.get("size_bytes", 0) or 0)
        slot = self.kept_media.setdefault(media, [0, 0])
        slot[0] += 1
        slot[1] += size
        url = line.get("url")
        domain = _domain(url) if isinstance(url, str) else None
        if domain:
            d = self.kept_domains.setdefault(domain, [0, 0])
            d[0] += 1
            d[1] += size
        meta = line.get("meta")
        if meta and isinstance(meta, dict):
            lang = _first_str(meta, LANGUAGE_KEYS)
            if lang:
                self.kept_languages[lang.lower()] += 1
            when = _first_str(meta, COLLECTION_DATE_KEYS)
            if when:
                self._collected(when[:10], when[:10])

    def _collected(self, first: str, last: str) -> None:
        if not self.collected:
            self.collected[:] = [first, last]
        else:
            self.collected[0] = min(self.collected[0], first)
            self.collected[1] = max(self.collected[1], last)

    def update(self, other: Tally, scan: int = 0, shard: int = 0) -> None:
        """Add ``other``'s aggregates, ``other`` being shard ``shard`` (0 for a whole scan
        read back) of scan ``scan``: its samples' order becomes (scan, output file, shard,
        line, ...), the order of the merged outputs."""
        self.decision_media.update(other.decision_media)
        self.excluded_reasons.update(other.excluded_reasons)
        self.review_reasons.update(other.review_reasons)
        self.excluded_channels.update(other.excluded_channels)
        self.excluded_holders.update(other.excluded_holders)
        self.excluded_works.update(other.excluded_works)
        self.errors.update(other.errors)
        self.kept_languages.update(other.kept_languages)
        for mine, theirs in ((self.kept_media, other.kept_media),
                             (self.kept_domains, other.kept_domains)):
            for key, (items, size) in theirs.items():
                slot = mine.setdefault(key, [0, 0])
                slot[0] += items
                slot[1] += size
        if other.collected:
            self._collected(*other.collected)

        def place(o: tuple[int, ...]) -> tuple[int, ...]:
            return (scan, o[0], shard, *o[1:])

        for modality, sample in other.scores.items():
            self.scores.setdefault(modality, _Sample(MAX_SCORES)).update(sample, place)
        self.sample.update(other.sample, place)
        self.rows_total += other.rows_total

    def facts_bytes(self) -> bytes:
        """What a shard commits as ``facts.jsonl`` (the samples trimmed to their size): the
        aggregates on one line, the sampled rows' keys and places smallest key first, then
        those rows, a line each, in that order (module docstring); raises what
        ``orjson.dumps`` raises for a value it cannot write."""
        rows = sorted(self.sample.chosen(), key=_key_order)
        head = {
            "version": FACTS_VERSION,
            "decision_media": [[m, d, n] for (m, d), n in self.decision_media.items()],
            "excluded_reasons": dict(self.excluded_reasons),
            "review_reasons": dict(self.review_reasons),
            "excluded_channels": dict(self.excluded_channels),
            "excluded_holders": dict(self.excluded_holders),
            "excluded_works": [[w, t, h, n] for (w, t, h), n in self.excluded_works.items()],
            "errors": dict(self.errors),
            "kept_media": self.kept_media,
            "kept_domains": self.kept_domains,
            "kept_languages": dict(self.kept_languages),
            "collected": self.collected,
            "rows_total": self.rows_total,
            "rows": {"seen": self.sample.seen, "entries": [[k, *o] for k, o, _ in rows]},
            "scores": {
                m: {"seen": s.seen, "entries": [[k, *o, v] for k, o, v in s.chosen()]}
                for m, s in self.scores.items()
            },
            "lines": self.lines,
        }
        return b"".join([orjson.dumps(head), b"\n", *(orjson.dumps(v) + b"\n" for *_, v in rows)])

    @classmethod
    def from_facts(cls, path: Path) -> Tally:
        """A shard's ``facts.jsonl``, its sampled rows left in the file (:class:`_RowRef`,
        :meth:`_Sample.resolve`); ValueError when it is not a tally of this version."""
        try:
            with path.open("rb") as fh:
                data = orjson.loads(fh.readline())
        except OSError as exc:
            raise ValueError(f"unreadable ({exc})") from exc
        if not isinstance(data, dict) or data.get("version") != FACTS_VERSION:
            raise ValueError("not a tally of this version")
        try:

            def rows(d: Mapping[str, Any]) -> _Sample:
                # [key, output, line]: their values are the lines after the aggregates
                raw = d["entries"]
                if not all(type(k) is int and type(r) is int and type(n) is int
                           for k, r, n in raw):
                    raise ValueError("sample keys and places must be integers")
                entries: list[_Entry] = [
                    (k, (r, n), _RowRef(path, i)) for i, (k, r, n) in enumerate(raw)
                ]
                entries.sort(key=itemgetter(1))  # output order, as the shard tallied them
                return _Sample(MAX_ROWS, int(d["seen"]), entries)

            def scores(d: Mapping[str, Any]) -> _Sample:
                # [key, output, line, match, score]
                raw = d["entries"]
                if not all(type(k) is int and type(r) is int and type(n) is int
                           and type(m) is int for k, r, n, m, _ in raw):
                    raise ValueError("sample keys and places must be integers")
                entries: list[_Entry] = [(k, (r, n, m), v) for k, r, n, m, v in raw]
                return _Sample(MAX_SCORES, int(d["seen"]), entries)

            return cls(
                decision_media=Counter({(str(m), str(d)): int(n)
                                        for m, d, n in data["decision_media"]}),
                excluded_reasons=Counter(data["excluded_reasons"]),
                review_reasons=Counter(data["review_reasons"]),
                excluded_channels=Counter(data["excluded_channels"]),
                excluded_holders=Counter(data["excluded_holders"]),
                excluded_works=Counter({(str(w), str(t), str(h)): int(n)
                                        for w, t, h, n in data["excluded_works"]}),
                errors=Counter(data["errors"]),
                kept_media={str(k): [int(v[0]), int(v[1])]
                            for k, v in data["kept_media"].items()},
                kept_domains={str(k): [int(v[0]), int(v[1])]
                              for k, v in data["kept_domains"].items()},
                kept_languages=Counter(data["kept_languages"]),
                collected=[str(x) for x in data["collected"]],
                sample=rows(data["rows"]),
                rows_total=int(data["rows_total"]),
                scores={str(m): scores(d) for m, d in data["scores"].items()},
                lines=[int(x) for x in data["lines"]],
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ValueError(f"malformed tally ({exc})") from exc


@dataclass
class ReportFacts(Tally):
    """Aggregates over one or several scans (see the module docstring)."""

    scans: list[ScanRun] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the sample, in output order

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
        return {m: (s.values, s.seen) for m, s in sorted(self.scores.items())}


def _parse(raw: bytes) -> dict[str, Any]:
    """One output line as a reader sees it (ValueError when it is not JSON)."""
    obj = load_line(raw)
    return obj if isinstance(obj, dict) else {}


def _read_back(tally: Tally, folder: Path) -> None:
    """Tally the four output files of ``folder`` (a scan, or one of its shards)."""
    for name in OUTPUT_FILES:
        for line, raw in _iter_raw(folder / f"{name}.jsonl"):
            tally.add_read(name, line, raw)


def shard_tally(folder: Path) -> Tally:
    """A committed shard's tally: its ``facts.jsonl`` (sampled rows still in the file), else
    (a shard of an older scan, or a file that does not parse) its output lines read back."""
    try:
        return Tally.from_facts(folder / FACTS_FILE)
    except ValueError:
        tally = Tally()
        _read_back(tally, folder)
        return tally


def _shard_folders(scan: ScanRun) -> list[Path] | None:
    """The committed shard folders of a scan, in order, when every one is there."""
    n = scan.report.get("shards")
    if not isinstance(n, int) or n < 0:
        return None
    shards = scan.folder / "shards"
    folders = [shards / f"{i:06d}" for i in range(n)]
    if not all((f / "stats.json").is_file() for f in folders):
        return None
    return folders


def collect_facts(
    folders: Sequence[Path],
    *,
    max_rows: int = MAX_ROWS,
    reports: Sequence[Mapping[str, Any]] | None = None,
    read_back: bool = False,
) -> ReportFacts:
    """Aggregate the scans in ``folders`` (their ``report.json``, or ``reports`` when given,
    as the runner does before writing it): from their shards' tallies when every shard is
    there, else (or with ``read_back``) by reading their JSON Lines outputs back. Both give
    the same facts (module docstring); ``max_rows`` larger than :data:`MAX_ROWS` (what a
    shard keeps) reads back."""
    if not folders:
        raise InputError("no scan folder given", where="report")
    if reports is None:
        scans = [load_scan(Path(f)) for f in folders]
    else:
        scans = [ScanRun(Path(f), r) for f, r in zip(folders, reports, strict=True)]
    facts = ReportFacts(scans=scans, sample=_Sample(max(max_rows, 1)))
    for index, scan in enumerate(scans):
        shard_folders = None if read_back or max_rows > MAX_ROWS else _shard_folders(scan)
        if shard_folders is None:
            whole = Tally(sample=_Sample(max(max_rows, 1)))
            _read_back(whole, scan.folder)
            facts.update(whole, index, 0)
        else:
            for number, folder in enumerate(shard_folders):
                facts.update(shard_tally(folder), index, number)
    chosen = _Sample(max(max_rows, 1), entries=facts.sample.chosen(max_rows))
    try:
        chosen.resolve()
    except ValueError:  # a shard's tally changed or broke since its first line was read
        if read_back:
            raise
        return collect_facts(folders, max_rows=max_rows, reports=reports, read_back=True)
    facts.rows = [{"k": o[0], **v} for _, o, v in chosen.entries]
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
