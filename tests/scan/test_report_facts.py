"""Aggregates for the report and the summary, read from real scan outputs."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tdmguard.errors import InputError
from tdmguard.scan.report_facts import (
    FACTS_FILE,
    MAX_ROWS,
    ReportFacts,
    Tally,
    _Sample,
    channel_of,
    collect_facts,
    content_section,
    load_scan,
)
from tdmguard.scan.writers import ShardWriter
from tests.scan.scan_factory import BODIES, fixed_scans, plugin_scan


def test_channels() -> None:
    assert channel_of({"source": "registry:audio", "locator": "a.ogg@1-2s"}) == (
        "content match (audio)")
    assert channel_of({"source": "robots.txt", "locator": "https://x.example/robots.txt"}) == (
        "web signal (robots.txt)")
    assert channel_of({"source": "xmp:plus:DataMining", "locator": "/d/a.png#XMP"}) == (
        "embedded metadata (xmp:plus:DataMining)")


def test_match_evidence_is_structured_json(tmp_path: Path) -> None:
    out, _ = plugin_scan(tmp_path, ["work:AUR-0"])
    line = json.loads((out / "excluded.jsonl").read_text("utf-8"))
    raw = line["evidence"][0]["raw"]
    assert isinstance(raw, dict)  # not a string holding JSON
    assert raw["work_id"] == "AUR-0" and raw["score"] == 0.9
    assert {"work": "AUR-0", "holder": "Aurora", "title": "Song 0"}.items() <= (
        line["reasons"][0].items())


def test_facts_agree_with_report_json(tmp_path: Path) -> None:
    folders = fixed_scans(tmp_path)
    facts = collect_facts(folders)
    reports = [load_scan(f).report for f in folders]
    assert facts.counts() == {
        k: sum(r["counts"][k] for r in reports) for k in ("kept", "excluded", "review", "errors")
    }
    assert sum(facts.decision_media.values()) == sum(r["inputs"]["records"] for r in reports)
    assert facts.rows_total == facts.counts()["excluded"] + facts.counts()["review"]
    for folder, report in zip(folders, reports, strict=True):
        assert content_section(collect_facts([folder])) == report["content"]
    assert facts.errors == {"read: a record needs text, path or url": 1}
    assert facts.excluded_holders["Aurora Records"] == 5
    assert set(facts.scores) == {"audio", "image", "lyrics", "melody"}


def test_not_a_scan_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no report\.json"):
        load_scan(tmp_path)
    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(InputError, match="not a tdmguard scan report"):
        load_scan(tmp_path)
    (tmp_path / "report.json").write_text('{"counts": {}}')
    (tmp_path / "excluded.jsonl").write_text('{"id": 1}\n{broken\n')
    with pytest.raises(InputError, match=r"excluded.jsonl:2"):
        collect_facts([tmp_path])


# --- per-shard facts (each shard tallies its own lines; the driver merges the tallies) ----


def facts_view(facts: ReportFacts) -> dict[str, object]:
    """Everything the page and the summary take from the facts, comparable with ``==``."""
    return {
        "decision_media": dict(facts.decision_media),
        "excluded_reasons": dict(facts.excluded_reasons),
        "review_reasons": dict(facts.review_reasons),
        "excluded_channels": dict(facts.excluded_channels),
        "excluded_holders": dict(facts.excluded_holders),
        "excluded_works": dict(facts.excluded_works),
        "errors": dict(facts.errors),
        "scores": facts.score_samples(),
        "rows": facts.rows,
        "rows_total": facts.rows_total,
        "content": content_section(facts),
    }


MIXED = [BODIES[i % len(BODIES)] for i in range(90)]


def test_shard_facts_equal_a_full_read_back(tmp_path: Path) -> None:
    out, report = plugin_scan(tmp_path, MIXED, shard_size=7)
    shards = sorted((out / "shards").iterdir())
    assert len(shards) == report["shards"] == 13
    assert all((s / FACTS_FILE).is_file() for s in shards)
    for max_rows in (MAX_ROWS, 40, 5, 0):
        merged = collect_facts([out], max_rows=max_rows)
        back = collect_facts([out], max_rows=max_rows, read_back=True)
        assert facts_view(merged) == facts_view(back), max_rows
        assert len(merged.rows) == min(max_rows, merged.rows_total)
    assert merged.rows_total == report["counts"]["excluded"] + report["counts"]["review"] == 45
    assert sum(merged.decision_media.values()) == report["inputs"]["records"] == 90
    assert content_section(merged) == report["content"]
    # the sample is spread over the scan, not its first lines, and listed in output order
    sample = collect_facts([out], max_rows=10).rows
    ids = [json.loads(line)["id"] for name in ("excluded", "review")
           for line in (out / f"{name}.jsonl").read_text("utf-8").splitlines()]
    picked = [r["id"] for r in sample]
    assert picked != ids[:10] and picked == [i for i in ids if i in set(picked)]
    # shards of an older scan (no facts.json), some or all, are read back: same facts
    full = facts_view(collect_facts([out], max_rows=10))
    for s in shards[::2]:
        (s / FACTS_FILE).unlink()
    (shards[1] / FACTS_FILE).write_text("{broken", "utf-8")  # unreadable: read back too
    assert facts_view(collect_facts([out], max_rows=10)) == full
    shutil.rmtree(out / "shards")  # a folder with only the merged outputs (`tdmguard report`)
    assert facts_view(collect_facts([out], max_rows=10)) == full


def test_a_shard_whose_sampled_rows_broke_is_read_back(tmp_path: Path) -> None:
    """The rows are read after the first lines: if a shard's rows no longer read (cut off,
    overwritten), the report reads the outputs back instead of failing or losing rows."""
    out, _ = plugin_scan(tmp_path, MIXED, shard_size=7)
    full = facts_view(collect_facts([out]))
    # an older version's tally (one JSON document, version 2) is not read: its outputs are
    (out / "shards" / "000002" / "facts.json").write_text('{"version": 2}', "utf-8")
    path = out / "shards" / "000003" / FACTS_FILE
    head, *rows = path.read_bytes().splitlines(keepends=True)
    assert len(rows) == json.loads(head)["rows_total"] > 0  # all chosen: MAX_ROWS
    path.write_bytes(head + b"{cut\n")
    assert facts_view(collect_facts([out])) == full
    path.write_bytes(head)  # rows gone
    assert facts_view(collect_facts([out])) == full
    path.write_bytes(head + b"[1, 2]\n" * len(rows))  # not rows
    assert facts_view(collect_facts([out])) == full


def test_samples_drop_what_cannot_be_chosen_and_choose_the_same() -> None:
    """Once full, a sample leaves out entries above its largest key before placing them:
    the same entries are chosen as from all entries at once, whatever the merge order."""
    rng = np.random.default_rng(5)
    parts = []
    for shard in range(60):
        keys = rng.integers(0, 30, size=int(rng.integers(0, 40)))  # many ties
        part = _Sample(MAX_ROWS)
        for place, key in enumerate(keys):
            part.add(int(key), (1, place), f"{shard}/{place}")
        parts.append(part)
    every = sorted((k, (0, 1, shard, *o[1:]), v) for shard, part in enumerate(parts)
                   for k, o, v in part.entries)
    for size in (1, 7, 100, 5000):
        for order in (range(60), reversed(range(60))):
            merged = Tally(sample=_Sample(size))
            for shard in order:
                merged.update(Tally(sample=parts[shard]), 0, shard)
            assert merged.sample.seen == len(every)
            chosen = merged.sample.chosen()
            assert chosen == sorted(every[:size], key=lambda e: e[1]), size
            assert merged.sample.bound is None or merged.sample.bound <= every[-1][0]


def test_sample_merges_across_scans_in_order(tmp_path: Path) -> None:
    a, _ = plugin_scan(tmp_path, MIXED[:40], name="a", shard_size=3)
    b, _ = plugin_scan(tmp_path, MIXED[40:], name="b", shard_size=5)
    merged = collect_facts([a, b], max_rows=12)
    assert facts_view(merged) == facts_view(collect_facts([a, b], max_rows=12, read_back=True))
    assert [r["k"] for r in merged.rows] == sorted(r["k"] for r in merged.rows)
    assert {r["k"] for r in merged.rows} == {0, 1}


def test_a_shard_tallies_what_a_reader_of_its_files_sees(tmp_path: Path) -> None:
    """Kept lines are tallied from the values written when they read back unchanged, else
    from the bytes: values the encoder converts or escapes give the same facts either way."""
    odd: list[dict[str, object]] = [
        {"meta": {"language": "EN", "date": "2025-03-04T10:00:00"}, "url": "https://www.a.org/x"},
        {"meta": {"timestamp": 1_700_000_000}, "url": "https://b\udcff.org/"},  # lone surrogate
        {"meta": {"lang": "de", "timestamp": 1.7e9}},  # a float
        {"meta": {"language": True, "date": datetime(2022, 5, 6, tzinfo=UTC)}},  # converted
        {"meta": {"timestamp": 1 << 70}, "url": "https://c.org"},  # past 64 bits: json writes it
        {"meta": {"date": float("nan"), "lang": ["x"]}, "size_bytes": 7},
        {"meta": {"collected_at": "2023-01-02"}, "matches": [{"modality": "image", "score": 0.9}]},
        {"meta": "not a mapping"},
        {"meta": {"date": "2026-01-01"}, "fields": {1: "x", "a": 2}},  # keys of mixed types
    ]
    shards = tmp_path / "shards"
    shards.mkdir()
    writer = ShardWriter(shards, 0)
    tally = Tally()
    for i, extra in enumerate(odd):
        line = {"decision": "keep", "id": f"i{i}", "media": "text", "size_bytes": 10,
                "reasons": [], "evidence": [], "matches": []} | extra
        tally.add("kept", line, *writer.write("kept", line))
    excluded = {"decision": "exclude", "id": "bad\udcff", "media": "text", "matches": [],
                "reasons": [{"code": "reserved", "work": "W", "holder": "H"}], "evidence": []}
    tally.add("excluded", excluded, *writer.write("excluded", excluded))
    for score, raw_evidence in ((np.float32(0.7), {"at": datetime(2025, 1, 1)}),
                                (0.8, ("a", 1)), (np.float64(0.9), "x" * 500)):
        line = {"decision": "review", "id": "r", "media": "image",
                "matches": [{"modality": "image", "score": score, "work_id": "W"}],
                "reasons": [{"code": "c", "detail": raw_evidence}],
                "evidence": [{"source": "registry:image", "locator": "f", "raw": raw_evidence},
                             {"source": "robots.txt", "locator": "https://a/robots.txt",
                              "raw": raw_evidence, "status": 200}]}
        tally.add("review", line, *writer.write("review", line))
    writer.commit({})
    back = Tally()
    for name in ("kept", "excluded", "review"):
        for raw in (shards / "000000" / f"{name}.jsonl").read_bytes().splitlines():
            back.add_read(name, json.loads(raw), raw)
    assert tally == back and tally.rows_total == 4 and tally.scores["image"].seen == 4
    # the committed tally reads back the same, its sampled rows once resolved
    (tmp_path / FACTS_FILE).write_bytes(tally.facts_bytes())
    stored = Tally.from_facts(tmp_path / FACTS_FILE)
    assert stored != back  # rows are read last
    stored.sample.resolve()
    assert stored == back
    assert tally.kept_languages == {"en": 1, "de": 1}
    # the line with keys of mixed types was written as an error note: its date is not read
    assert tally.collected == ["2022-05-06", "2025-03-04"]
