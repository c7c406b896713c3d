"""``tdmguard report`` (the HTML evidence report of one or several scans) and ``tdmguard
summary`` (a draft of the EU AI Act public summary of training content, with the removal
manifest of every excluded item)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tdmguard.cli.output import console, print_json

__all__ = ["register"]


def report(
    scans: Annotated[list[Path], typer.Argument(help="Scan output folders (from tdmguard scan).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The HTML file to write (default: report.html in the "
                     "first scan folder)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the path as JSON.")] = False,
) -> None:
    """Write one self-contained HTML report (charts, every excluded and review item with its
    evidence, settings and registry sources) for one or several scans."""
    from tdmguard.scan.report_html import write_report

    path = write_report(scans, out if out is not None else scans[0] / "report.html")
    if json_out:
        print_json({"report_html": str(path)})
    else:
        console.print(f"report page: {path}")


def summary(
    scans: Annotated[list[Path], typer.Argument(help="Scan output folders (from tdmguard scan).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the summary files.")],
    provider_info: Annotated[
        Path | None,
        typer.Option("--provider-info", help="JSON or YAML file with what only the provider "
                     "knows (name, model, other sources...); see docs/report.md."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Draft the EU AI Act public summary of training content (AI Office template, July
    2025) from scans: Markdown, HTML and JSON, plus a removal manifest of excluded items.
    Fields that need a person are listed as open questions, never guessed."""
    from tdmguard.scan.summary import write_summary

    files = write_summary(scans, out, provider_info=provider_info)
    if json_out:
        print_json(files.summary)
        return
    console.print(f"summary (Markdown): {files.markdown}")
    console.print(f"summary (HTML):     {files.html}")
    console.print(f"summary (JSON):     {files.json}")
    console.print(f"removal manifest:   {files.manifest} "
                  f"({files.summary['figures']['excluded']:,} excluded items)")
    questions = files.summary["open_questions"]
    if questions:
        console.print(f"{len(questions)} open questions for a person to answer "
                      "(end of the summary).")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("summary")(summary)
