"""Aggregates for the report and the summary, read from real scan outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.errors import InputError
from tdmguard.scan.report_facts import channel_of, collect_facts, content_section, load_scan
from tests.scan.scan_factory import fixed_scans, plugin_scan


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
