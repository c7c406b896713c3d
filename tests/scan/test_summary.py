"""The draft training-content summary: golden files on a fixed scan, its figures equal to
report.json's on random real scans, open questions instead of guesses, and the removal
manifest."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdmguard.errors import InputError
from tdmguard.scan.report_facts import iter_jsonl, load_scan
from tdmguard.scan.summary import (
    UNKNOWN,
    build_summary,
    load_provider_info,
    size_bin,
    write_summary,
)
from tdmguard.vocab import DecisionKind
from tests.scan.conftest import LyricsWorld
from tests.scan.scan_factory import BODIES, HERE, fixed_scans, plugin_scan

GOLDEN = HERE / "data" / "golden"
PROVIDER = HERE / "data" / "provider-info.yaml"
UPDATE = os.environ.get("TDMGUARD_UPDATE_GOLDEN") == "1"
FIXED_TIME = "2026-01-31T12:00:00+00:00"


def _normalised(text: str, tmp: Path) -> str:
    return text.replace(str(tmp), "<scans>")


@pytest.mark.parametrize("name", ["summary.md", "summary.json", "summary.html",
                                  "removal-manifest.jsonl"])
def test_golden_files(tmp_path: Path, name: str) -> None:
    folders = fixed_scans(tmp_path)
    write_summary(folders, tmp_path / "out", provider_info=PROVIDER, generated_at=FIXED_TIME)
    got = _normalised((tmp_path / "out" / name).read_text("utf-8"), tmp_path)
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, "utf-8")
    assert got == golden.read_text("utf-8"), f"{name} differs (TDMGUARD_UPDATE_GOLDEN=1)"


def _walk(value: Any, path: str = "") -> list[str]:
    """Paths of every UNKNOWN value in the summary."""
    if value == UNKNOWN:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _walk(v, f"{path}[{i}]")]
    return []


def test_without_provider_info_nothing_is_invented(tmp_path: Path) -> None:
    scans = [load_scan(f) for f in fixed_scans(tmp_path)]
    s = build_summary(scans, {})
    unknown = _walk(s)
    assert len(unknown) == len(s["open_questions"]) >= 12
    general = s["1_general_information"]
    assert general["1_1_provider"]["name"] == UNKNOWN
    assert general["1_2_model"]["versioned_name"] == UNKNOWN
    fields = [q["field"] for q in s["open_questions"]]
    assert fields == sorted(fields) and "1.1" in fields and "3.2" in fields
    # What the scans know is filled in: languages and dates from the records' fields.
    mod = general["1_3_modalities_and_size"]
    assert mod["latest_collection_date"] == "2025-06-05"
    assert {x["language"] for x in mod["languages"]} == {"en", "de", "fr", "es"}
    assert mod["modalities"]["image"]["size_bin"] == "Less than 1 million images"
    assert mod["modalities"]["audio"]["size_bin"] == UNKNOWN  # hours are not measured
    crawled = s["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]
    assert crawled["domains"] == 5 and len(crawled["top_domains"]) == 1  # top 10 %, at least 1
    assert crawled["period"] == {"first": "2025-04-11", "last": "2025-06-05"}  # post-1 excluded


def test_size_bins_follow_the_template() -> None:
    assert size_bin("text", 999_999_999) == "Less than 1 billion tokens"
    assert size_bin("text", 1e9) == "1 billion to 10 trillion tokens"
    assert size_bin("text", 1e13) == "More than 10 trillion tokens"
    assert size_bin("image", 1e6) == "1 million to 1 billion images"
    assert size_bin("audio", 9_999) == "Less than 10,000 hours"
    assert size_bin("video", 2e6) == "More than 1 million hours"


def test_provider_info_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("provider_nme: X\n")
    with pytest.raises(InputError, match="provider_nme") as info:
        load_provider_info(bad)
    assert str(bad) in str(info.value)
    bad.write_text("provider_name: [unclosed\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_provider_info(bad)
    js = tmp_path / "p.json"
    js.write_text('{"audio_hours": "many"}')
    with pytest.raises(InputError, match="audio_hours"):
        load_provider_info(js)
    js.write_text("[1, 2]")
    with pytest.raises(InputError, match="mapping"):
        load_provider_info(js)
    assert load_provider_info(PROVIDER)["provider_name"] == "Demo AI Lab"


def test_removal_manifest_names_every_excluded_item_by_content_hash(tmp_path: Path) -> None:
    out, report = plugin_scan(tmp_path, ["work:AUR-0", "work:AUR-1", "plain", "work:MEA-0"])
    files = write_summary([out], tmp_path / "summary")
    lines = list(iter_jsonl(files.manifest))
    assert len(lines) == report["counts"]["excluded"] == 2
    for line in lines:
        content = Path(line["path"]).read_bytes()
        assert line["sha256"] == hashlib.sha256(content).hexdigest()
        assert line["sha256_from"] == "scan" and line["works"]
    manifest = files.summary["3_data_processing"]["3_1_respect_of_reservations_of_rights"][
        "removal_manifest"]
    assert manifest["items"] == 2
    assert manifest["sha256_of_file"] == hashlib.sha256(files.manifest.read_bytes()).hexdigest()


def _check_figures(summary: dict[str, Any], reports: list[dict[str, Any]]) -> None:
    def total(key: str) -> int:
        return sum(int(r["counts"][key]) for r in reports)

    def summed(key: str) -> dict[str, int]:
        c: Counter[str] = Counter()
        for r in reports:
            c.update(r[key])
        return dict(c)

    f = summary["figures"]
    for key in ("kept", "excluded", "review", "errors"):
        assert f[key] == total(key)
    assert f["records"] == sum(r["inputs"]["records"] for r in reports)
    assert f["bytes"] == sum(r["bytes"] for r in reports)
    assert f["by_reason"] == summed("by_reason") and f["by_media"] == summed("by_media")
    r31 = summary["3_data_processing"]["3_1_respect_of_reservations_of_rights"]
    assert (r31["items_scanned"], r31["items_kept"], r31["items_excluded"],
            r31["items_for_review"], r31["items_failed"]) == (
        f["records"], total("kept"), total("excluded"), total("review"), total("errors"))
    channels: Counter[str] = Counter()
    for r in reports:
        channels.update(r["content"]["excluded_by_channel"])
    assert r31["excluded_by_channel"] == dict(channels)
    mods = summary["1_general_information"]["1_3_modalities_and_size"]["modalities"]
    assert sum(m["items"] for m in mods.values()) == total("kept")
    datasets = summary["2_list_of_data_sources"]["2_1_publicly_available_datasets"]["datasets"]
    assert sum(d["items_kept"] for d in datasets) == total("kept")


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    scans=st.lists(st.lists(st.sampled_from(BODIES), min_size=0, max_size=12), min_size=1,
                   max_size=2),
    unknown=st.sampled_from(list(DecisionKind)),
)
def test_summary_figures_equal_report_json(
    tmp_path_factory: pytest.TempPathFactory, scans: list[list[str]], unknown: DecisionKind
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    folders = [plugin_scan(tmp, bodies, name=f"s{i}", unknown=unknown, shard_size=5)[0]
               for i, bodies in enumerate(scans)]
    files = write_summary(folders, tmp / "summary")
    reports = [json.loads((f / "report.json").read_text("utf-8")) for f in folders]
    _check_figures(files.summary, reports)
    assert json.loads(files.json.read_text("utf-8")) == files.summary
    md = files.markdown.read_text("utf-8")
    assert f"| {files.summary['figures']['records']:,} | {files.summary['figures']['kept']:,} |" \
        in md


def test_a_domain_in_two_scans_counts_once(tmp_path: Path) -> None:
    _, web = fixed_scans(tmp_path)
    scans = [load_scan(web), load_scan(web)]
    crawled = build_summary(scans, {})["2_list_of_data_sources"]["2_3_crawled_and_scraped_data"]
    assert crawled["domains"] == 5 and crawled["items_with_url"] == 14


def test_summary_html_in_chromium(browser: Any, tmp_path: Path) -> None:
    files = write_summary(fixed_scans(tmp_path), tmp_path / "out")
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(files.html.resolve().as_uri())
    assert errors == [] and requests == [files.html.resolve().as_uri()]
    questions = page.locator("#open-questions li").all_text_contents()
    assert len(questions) == len(files.summary["open_questions"]) > 0
    records = files.summary["figures"]["records"]
    assert page.locator("#figures td").first.text_content() == f"{records:,}"
    assert page.locator(".unknown").count() >= len(questions)
    page.close()


def test_languages_and_period_come_from_the_sources_fields(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    """A manifest's language and date fields reach the summary (1.3 languages, 2.3 period)
    through a real scan: the readers put them into each record's meta."""
    from tdmguard.scan.runner import run_scan

    rows = [{"id": "a", "text": "an essay on gardens", "language": "en", "date": "2024-05-01"},
            {"id": "b", "text": "ein Brief", "lang": "de", "date": "2023-02-10"},
            {"id": "c", "text": "no fields here"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = run_scan(lyrics_world.job(tmp_path / "m.jsonl", tmp_path / "out"))
    assert report["content"]["kept_languages"] == {"en": 1, "de": 1}
    assert report["content"]["collection_period"] == {"first": "2023-02-10",
                                                      "last": "2024-05-01"}
    s = build_summary([load_scan(tmp_path / "out")], {})
    general = s["1_general_information"]["1_3_modalities_and_size"]
    assert sorted(general["languages"], key=lambda x: x["language"]) == [
        {"language": "de", "items": 1}, {"language": "en", "items": 1}]
    assert general["latest_collection_date"] == "2024-05-01"
