"""Benchmark ``report.html`` and the summary on large scans: time to aggregate the outputs,
time to render, the page's size, and (with chromium) the time until the page is usable.

    python -m benchmarks.report [--items 1000000] [--repeats 1] [--no-browser]

Scan outputs are synthetic (``synth.py``) and cached under ``benchmarks/report/cache/``.
Writes ``benchmarks/report/results.json`` and prints a table; RESULTS.md holds the latest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tdmguard import __version__
from tdmguard.scan.report_facts import collect_facts
from tdmguard.scan.report_html import write_report_html
from tdmguard.scan.summary import write_summary

from .synth import write_outputs

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
CHROMIUM = Path("/usr/bin/chromium")


def scan_folder(n: int) -> Path:
    folder = CACHE / f"scan-{n}"
    if not (folder / "report.json").exists():
        write_outputs(folder, n)
    return folder


def open_in_chromium(path: Path) -> dict[str, Any]:
    """Load the page, then page to the last page of the items table; times in seconds."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("#items-body tr")
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        page.fill("#items-search", "item/00000")
        page.wait_for_function("document.getElementById('items-info').textContent.length > 0")
        search = time.perf_counter() - t0
        info = page.locator("#items-info").text_content()
        browser.close()
    return {"load_s": round(loaded, 2), "search_s": round(search, 2), "errors": errors,
            "search_info": info}


def measure(n: int, repeats: int, browser: bool) -> dict[str, Any]:
    folder = scan_folder(n)
    facts_s, render_s = [], []
    out = CACHE / f"report-{n}.html"
    for _ in range(repeats):
        t0 = time.perf_counter()
        facts = collect_facts([folder])
        facts_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_report_html(facts, out)
        render_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    write_summary([folder], CACHE / f"summary-{n}")
    summary_s = time.perf_counter() - t0
    row: dict[str, Any] = {
        "items": n,
        "excluded_and_review": facts.rows_total,
        "rows_embedded": len(facts.rows),
        "aggregate_s": round(statistics.median(facts_s), 2),
        "render_s": round(statistics.median(render_s), 2),
        "summary_s": round(summary_s, 2),
        "html_bytes": out.stat().st_size,
        "jsonl_bytes": sum((folder / f"{k}.jsonl").stat().st_size
                           for k in ("kept", "excluded", "review", "errors")),
    }
    if browser and CHROMIUM.exists():
        row["chromium"] = open_in_chromium(out)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    rows = [measure(n, args.repeats, not args.no_browser) for n in args.items]
    print(f"{'items':>10} {'rows':>7} {'aggregate s':>12} {'render s':>9} {'summary s':>10} "
          f"{'html MB':>8} {'page load s':>12}")
    for r in rows:
        load = r.get("chromium", {}).get("load_s", "-")
        print(f"{r['items']:>10,} {r['rows_embedded']:>7,} {r['aggregate_s']:>12} "
              f"{r['render_s']:>9} {r['summary_s']:>10} {r['html_bytes'] / 1e6:>8.2f} {load:>12}")
    result = {
        "benchmark": "report",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count()},
        "load_average_1_5_15": list(os.getloadavg()),
        "tdmguard_version": __version__,
        "rows": rows,
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
