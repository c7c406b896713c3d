"""``report.html``: one self-contained page per scan (or several scans) that a lawyer or a
regulator can open in any browser, offline.

Charts are inline SVG (``report_charts``, drawn by ``report_svg``); the items table is the
excluded and review rows embedded as JSON and paged, searched and sorted by a few lines of
inline script. Nothing is fetched: the page carries a Content-Security-Policy that forbids
every request. Every chart's figures are also listed as a table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from tdmguard import __version__
from tdmguard.atomic import write_bytes_atomic
from tdmguard.scan.report_charts import chart_specs, render_svg
from tdmguard.scan.report_facts import ReportFacts, collect_facts

__all__ = ["render_report_html", "write_report", "write_report_html"]


def _template_text(name: str) -> str:
    return (resources.files("tdmguard.scan") / "templates" / name).read_text("utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no ``</script>``, no ``<!--``). The rows of a
    large scan make megabytes of it (6 MB for 12,000 excluded texts): orjson writes them
    five times faster than ``json.dumps``; what it refuses (lone surrogates, integers past
    64 bits) goes through ``json``."""
    try:
        text = orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_report_html(facts: ReportFacts, *, generated_at: str | None = None) -> str:
    """The report page as text."""
    import jinja2

    charts = chart_specs(facts)
    svgs, failed = render_svg(charts)
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_text),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    counts = facts.counts()
    return env.get_template("report.html.j2").render(
        version=__version__,
        generated_at=generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        scans=facts.scans,
        counts=counts,
        total=sum(counts.values()),
        charts=charts,
        svgs=svgs,
        failed=failed,
        rows_json=_script_json(facts.rows),
        rows_total=facts.rows_total,
        rows_shown=len(facts.rows),
        rows_left_out=facts.rows_left_out,
        css=_template_text("report.css"),
        js=_template_text("report.js"),
    )


def write_report_html(facts: ReportFacts, path: Path) -> Path:
    """Write the report page atomically to ``path``."""
    write_bytes_atomic(path, render_report_html(facts).encode("utf-8"))
    return path


def write_report(folders: Sequence[Path], out: Path) -> Path:
    """``tdmguard report``: one page for the scans in ``folders``."""
    return write_report_html(collect_facts(folders), out)
