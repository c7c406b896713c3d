"""report.html: written by every scan, self-contained, and usable in a real browser (Debian's
chromium driven by Playwright): no console error, no request leaves the file, every chart
draws, the items table lists every excluded and review item (paged, searched, sorted)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tdmguard.scan.report_facts import collect_facts, iter_jsonl
from tdmguard.scan.report_html import render_report_html, write_report, write_report_html
from tests.scan.scan_factory import BODIES, fixed_scans, plugin_scan


def _listed_ids(folders: list[Path]) -> list[str]:
    return sorted(
        str(line["id"])
        for f in folders
        for name in ("excluded", "review")
        for line in iter_jsonl(f / f"{name}.jsonl")
    )


# -- without a browser -------------------------------------------------------------------


def test_every_scan_writes_its_report_page(tmp_path: Path) -> None:
    out, report = plugin_scan(tmp_path, ["work:AUR-0"])  # a report of 1 item
    page = (out / "report.html").read_text("utf-8")
    assert report["counts"]["excluded"] == 1
    assert "doc00000.txt" in page and "Song 0" in page  # the item, its work's title
    assert page.count("<svg") >= 4  # timeline, by media, reasons, channels...
    assert report["timeline"] and report["timeline"][0]["exclude"] == 1
    assert report["content"]["excluded_by_channel"] == {"content match (lyrics)": 1}


def test_self_contained_nothing_to_fetch(tmp_path: Path) -> None:
    page = write_report(fixed_scans(tmp_path), tmp_path / "r.html").read_text("utf-8")
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"\b(src|href)\s*=", page)  # no script src, no stylesheet href
    assert "@import" not in page and "url(" not in page.split("</style>")[0]
    assert "default-src 'none'" in page  # and the browser is told to refuse any request


def test_no_exclusions_says_so(tmp_path: Path) -> None:
    out, report = plugin_scan(tmp_path, ["work:MEA-0", "work:AUR-2"])
    assert report["counts"]["excluded"] == 0
    page = (out / "report.html").read_text("utf-8")
    assert "0 excluded and review items" in page
    assert page.count("Nothing to chart.") >= 4  # reasons, channels, holders, works, errors


def test_rows_are_capped_with_a_pointer_to_the_jsonl(tmp_path: Path) -> None:
    out, _ = plugin_scan(tmp_path, ["work:AUR-0"] * 7)
    facts = collect_facts([out], max_rows=3)
    page = render_report_html(facts)
    assert facts.rows_total == 7 and len(facts.rows) == 3
    assert "4 left out" in page and f"{out}/excluded.jsonl" in page


def test_item_text_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    out, _ = plugin_scan(tmp_path, ["work:AUR-0"])
    line = json.loads((out / "excluded.jsonl").read_text("utf-8"))
    line["id"] = "</script><script>alert(1)</script>"
    (out / "excluded.jsonl").write_text(json.dumps(line) + "\n", "utf-8")
    page = render_report_html(collect_facts([out], read_back=True))  # the edited line
    assert page.count("</script>") == 2  # the rows' JSON block and the table script
    assert "\\u003c/script\\u003e" in page


def test_charts_need_no_chart_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # as if not installed
    page = render_report_html(collect_facts(fixed_scans(tmp_path)))
    assert page.count("<svg") == 8 and "could not be drawn" not in page
    assert "<details>" in page and "content match (audio)" in page  # numbers under each


# -- in a real browser -------------------------------------------------------------------


class Opened:
    """A report page open in chromium, with what it logged and requested."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)

    def listed(self) -> list[str]:
        """Every item id in the table, page by page."""
        ids: list[str] = []
        while True:
            ids += self.page.locator("#items-body tr td:nth-child(2) code").all_text_contents()
            info = self.page.locator("#items-info").text_content() or ""
            now, last = re.search(r"page (\d+) of (\d+)", info).groups()  # type: ignore[union-attr]
            if now == last:
                return ids
            self.page.click("#items-next")


def test_fixed_scans_in_chromium(browser: Any, tmp_path: Path) -> None:
    folders = fixed_scans(tmp_path)
    path = write_report(folders, tmp_path / "report.html")
    opened = Opened(browser, path)
    page = opened.page
    assert opened.errors == []
    assert opened.requests == [opened.url]  # nothing but the file itself
    charts = page.locator("figure.chart")
    assert charts.count() == 8
    for i in range(charts.count()):
        chart = charts.nth(i)
        key = chart.get_attribute("data-chart")
        if key == "errors":
            assert chart.locator("svg").count() == 1  # the web scan has one failed record
        if chart.locator(".empty").count() == 0:
            box = chart.locator("svg").first.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 50, key
            assert chart.locator("svg path, svg rect, svg line").count() > 3, key
    assert sorted(opened.listed()) == _listed_ids(folders)
    body = page.locator("#items-body").inner_text()
    assert "Nebula" in body and "time ×0.9974 pitch ×1.1225" in body  # work, factors
    assert "come on and hear" in body.lower()  # quoted lyric lines
    assert "xmp:plus:DataMining" in body  # embedded signal with its rule
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_paging_search_and_sort_in_chromium(browser: Any, tmp_path: Path) -> None:
    bodies = [BODIES[i % len(BODIES)] for i in range(300)]
    out, report = plugin_scan(tmp_path, bodies, shard_size=50)
    opened = Opened(browser, out / "report.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == [opened.url]
    expected = _listed_ids([out])
    assert len(expected) == report["counts"]["excluded"] + report["counts"]["review"] == 150
    assert page.locator("#items-body tr").count() == 50  # paged
    assert sorted(opened.listed()) == expected
    page.fill("#items-search", "doc00006.txt")
    assert page.locator("#items-body tr").count() == 1
    page.fill("#items-search", "")
    page.select_option("#items-decision", "review")
    assert "50 of 150 rows" in (page.locator("#items-info").text_content() or "")
    page.select_option("#items-decision", "")
    page.click("#items th[data-key=id]")
    page.click("#items th[data-key=id]")  # descending
    first = page.locator("#items-body tr td:nth-child(2) code").first.text_content()
    assert first == max(expected)
    assert opened.errors == []


def test_a_report_of_several_scans_lists_each(tmp_path: Path) -> None:
    a, _ = plugin_scan(tmp_path, ["work:AUR-0", "plain"], name="a")
    b, _ = plugin_scan(tmp_path, ["work:AUR-1"], name="b")
    facts = collect_facts([a, b])
    assert facts.counts()["excluded"] == 2 and facts.rows_total == 3
    page = write_report_html(facts, tmp_path / "both.html").read_text("utf-8")
    assert "Scan 1: settings" in page and "Scan 2: settings" in page


@pytest.mark.slow
@pytest.mark.timeout(1800)  # writing and reading 520 MB of JSON Lines on a 2-core machine
def test_a_million_items_stay_usable(browser: Any, tmp_path: Path) -> None:
    """1,000,000 items (outputs written from real output lines, benchmarks/report/synth.py):
    aggregated charts, at most MAX_ROWS rows embedded with a pointer to the JSONL, under
    20 MB, and the page pages and searches in chromium."""
    from benchmarks.report.synth import write_outputs

    report = write_outputs(tmp_path / "big", 1_000_000)
    facts = collect_facts([tmp_path / "big"])
    assert facts.counts() == {k: report["counts"][k] for k in facts.counts()}
    assert sum(facts.decision_media.values()) == 1_000_000
    path = write_report_html(facts, tmp_path / "big.html")
    assert path.stat().st_size < 20_000_000
    assert facts.rows_left_out == facts.rows_total - 20_000 > 0
    opened = Opened(browser, path)
    assert opened.errors == [] and opened.requests == [opened.url]
    assert opened.page.locator("#items-body tr").count() == 50
    assert opened.page.locator("#rows-left-out").count() == 1
    opened.page.fill("#items-search", "item/00000")
    assert opened.page.locator("#items-body tr").count() >= 1
    assert opened.page.locator("figure.chart svg").count() >= 7


def test_registry_sources_are_shown_when_listed(tmp_path: Path) -> None:
    media, _ = fixed_scans(tmp_path)
    report = json.loads((media / "report.json").read_text("utf-8"))
    report["sources"] = [{"name": "aurora", "snapshot": "snap-0042", "head_hash": "ab12cd"}]
    (media / "report.json").write_text(json.dumps(report), "utf-8")
    page = write_report([media], tmp_path / "r.html").read_text("utf-8")
    table = page.split('<table class="sources">')[1].split("</table>")[0]
    assert "snap-0042" in table and "ab12cd" in table and "<th>head_hash</th>" in table


def test_rows_json_is_script_safe_and_takes_what_orjson_refuses() -> None:
    from tdmguard.scan.report_html import _script_json

    rows = [{"id": "</script><!--", "why": ["a & b > c"], "n": 2**70, "q": "lone \udcff"},
            {"id": "t1", "why": ["plain ü"]}]
    text = _script_json(rows)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == rows  # 2**70 and the lone surrogate: through json
    fast = _script_json(rows[1:])
    assert json.loads(fast) == rows[1:] and "ü" in fast  # UTF-8, not \\u escapes
