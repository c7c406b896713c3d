"""``tdmguard scan``: the main job. Reads a dataset, checks every item, decides, writes
``kept.jsonl``, ``excluded.jsonl``, ``review.jsonl``, ``errors.jsonl`` and ``report.json``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.cli.output import console, print_json, print_table
from tdmguard.cli.params import parse_date, parse_purposes, parse_uses, today
from tdmguard.config import Settings
from tdmguard.errors import InputError
from tdmguard.vocab import DecisionKind

if TYPE_CHECKING:
    from tdmguard.scan.decide import DecisionSettings
    from tdmguard.scan.job import Executor
    from tdmguard.scan.readers import ReadOptions

# The scan's modules (and through them the registry's SQLAlchemy) are imported when a scan
# runs, not when the command is declared: `tdmguard --help` and the other commands never
# load them.

__all__ = ["exit_code_of", "register", "scan_dataset"]


def scan_dataset(
    settings: Settings,
    source: Path | str,
    out: Path | str,
    *,
    decision: DecisionSettings,
    checks: list[str] | None = None,
    check_options: dict[str, str] | None = None,
    workers: int = 1,
    shard_size: int | None = None,
    resume: bool = False,
    show_progress: bool = True,
    executor: Executor | None = None,
    read: ReadOptions | None = None,
    write_kept: bool = False,
    item_timeout_s: float = 0.0,
    item_memory_mb: int = 0,
) -> dict[str, Any]:
    """Run a scan with a progress bar (shards and throughput); returns the report.
    ``executor`` defaults to the local process pool."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from tdmguard.registry.store import Registry
    from tdmguard.scan.checks import CHECK_FACTORIES
    from tdmguard.scan.job import Executor, ScanJob, registry_view
    from tdmguard.scan.location import is_remote
    from tdmguard.scan.readers import ReadOptions
    from tdmguard.scan.runner import local_work_dir, publish, run_scan

    registry = Registry.open(settings.db_url, create=False)  # never create one as a side effect
    text = str(source)
    remote_out = str(out) if is_remote(str(out)) else None
    out_dir = local_work_dir(remote_out) if remote_out else Path(out).resolve()
    job = ScanJob(
        source=text if is_remote(text) or expand_pattern_like(text) else Path(text).resolve(),
        out_dir=out_dir,
        index_dir=settings.index_dir,
        decision=decision,
        view=registry_view(registry),
        checks=tuple(checks or CHECK_FACTORIES),
        check_options=check_options or {},
        shard_size=shard_size,
        workers=workers,
        executor=executor or Executor.LOCAL,
        read=read or ReadOptions(),
        write_kept=write_kept,
        item_timeout_s=item_timeout_s,
        item_memory_mb=item_memory_mb,
    )
    registry.close()
    columns = (
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not show_progress, transient=False) as bar:
        task = bar.add_task("scan", total=None, rate="")

        t0 = time.perf_counter()
        start_done: list[int] = []

        def progress(done: int, total: int) -> None:
            if not start_done:
                start_done.append(done)
            elapsed = time.perf_counter() - t0
            rate = (done - start_done[0]) / elapsed if elapsed > 0 else 0.0
            bar.update(task, completed=done, total=total, rate=f"{rate:,.2f} shards/s")

        report = run_scan(job, resume=resume, progress=progress)
    if remote_out:
        publish(out_dir, remote_out)
    return report


def expand_pattern_like(text: str) -> bool:
    """A brace pattern or glob names many files; it is kept as written."""
    return any(ch in text for ch in "{*?[")


def exit_code_of(report: dict[str, Any]) -> ExitCode:
    """13 when some items errored, 14 when every item did (nothing was checked)."""
    errors = int(report["counts"]["errors"])
    total = sum(int(v) for v in report["counts"].values())
    if errors and errors == total:
        return ExitCode.ALL_FAILED
    if errors:
        return ExitCode.PARTIAL
    return ExitCode.OK


def _executor(value: str) -> Executor:
    from tdmguard.scan.job import Executor

    try:
        return Executor(value.strip().lower())
    except ValueError as exc:
        raise InputError(f"expected local or ray, got {value!r}", where="--executor") from exc


def _print_summary(report: dict[str, Any], out: str) -> None:
    counts = report["counts"]
    print_table("scan summary", ["decision", "records"], [(k, v) for k, v in counts.items()])
    if report["by_reason"]:
        print_table("reasons", ["reason", "count"], list(report["by_reason"].items()))
    if report["by_holder"]:
        print_table("holders matched", ["holder", "count"], list(report["by_holder"].items()))
    skipped = report["checks"]["skipped"]
    console.print(f"checks active: {', '.join(report['checks']['active']) or 'none'}")
    for name, why in skipped.items():
        console.print(f"  [dim]{name}: {why}[/]")
    console.print(f"report: {out.rstrip('/')}/report.json")
    console.print(f"report page: {out.rstrip('/')}/report.html")


def scan(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A folder (recursive; tar shards, Parquet/Arrow files and saved Hugging Face "
            "datasets inside are read), a WebDataset .tar, a brace pattern "
            "(shards-{000000..000099}.tar) or glob, a Parquet/Arrow file, a saved Hugging Face "
            "dataset, a .jsonl/.csv manifest (.gz/.zst too); local or a URL (s3://, http://, "
            "file://; extra datasets)."
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="Output folder, or a URL (s3://...): the scan then works in a local folder "
            "($TDMGUARD_SCAN_WORK, default ~/.cache/tdmguard/scans) and copies its outputs "
            "there at the end (report.json last).",
        ),
    ],
    use: Annotated[
        str,
        typer.Option(
            "--use", help="Use being judged: tdm, ai-train, genai-train, ai-input, search."
        ),
    ] = "ai-train",
    purpose: Annotated[
        str, typer.Option("--purpose", help="commercial or research.")
    ] = "commercial",
    actor: Annotated[
        str, typer.Option("--actor", help="Your organisation (licences name it).")
    ] = "",
    at: Annotated[str | None, typer.Option("--at", help="Date judged (default today).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = min(
        2, os.cpu_count() or 1
    ),
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted scan.")] = False,
    unknown: Annotated[
        str,
        typer.Option(
            "--unknown", help="Items with no signal and no match: keep, exclude or review."
        ),
    ] = "keep",
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check", help="Checks to run (repeat; default: all). A name or module:function."
        ),
    ] = None,
    check_opt: Annotated[
        list[str] | None, typer.Option("--check-opt", help="key=value handed to checks (repeat).")
    ] = None,
    shard_size: Annotated[
        int | None,
        typer.Option(
            "--shard-size", min=1,
            help="Records per shard (default: 256 rows of a JSON Lines or CSV manifest, "
            "else 64).",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (process pool) or ray (RAY_ADDRESS, else a local Ray instance; extra ray).",
        ),
    ] = "local",
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column or field holding inline text.")
    ] = "text",
    id_column: Annotated[str, typer.Option("--id-column", help="Column holding item ids.")] = "id",
    write_kept: Annotated[
        bool,
        typer.Option(
            "--write-kept",
            help="Also write the kept items in the input's own format under OUT/kept "
            "(filtered tar shards, Parquet with the same schema, a save_to_disk dataset).",
        ),
    ] = False,
    item_timeout: Annotated[
        float,
        typer.Option("--item-timeout", min=0,
                     help="Seconds one item may take (0: no limit); an item over it goes to "
                     "errors.jsonl and the scan goes on."),
    ] = 300.0,
    item_memory: Annotated[
        int,
        typer.Option(
            "--worker-memory-mb", min=0, help="Address-space limit of each worker (0: none)."
        ),
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Scan a dataset before training: reserved, unlicensed items are excluded, with evidence.

    Exit codes: 0 every item was decided; 13 some items could not be read or checked (listed
    in errors.jsonl; never kept); 14 every item failed; 8 the index is missing, mistyped or
    lacks a modality the registry has fingerprints for (nothing is kept on its strength).
    """
    from tdmguard.scan.decide import DecisionSettings
    from tdmguard.scan.readers import ReadOptions

    if not actor.strip():
        raise InputError(
            "say who will use the data (licences are per organisation)", where="--actor"
        )
    try:
        unknown_kind = DecisionKind(unknown)
    except ValueError as exc:
        raise InputError(
            f"expected keep, exclude or review, got {unknown!r}", where="--unknown"
        ) from exc
    options: dict[str, str] = {}
    for item in check_opt or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"expected key=value, got {item!r}", where="--check-opt")
        options[key.strip()] = value.strip()
    decision = DecisionSettings(
        use=parse_uses([use])[0],
        purpose=parse_purposes([purpose])[0],
        actor=actor.strip(),
        at=parse_date(at, flag="--at") or today(),
        unknown=unknown_kind,
        research_exception=settings_from(ctx).research_exception,
    )
    report = scan_dataset(
        settings_from(ctx),
        source,
        out,
        decision=decision,
        checks=check,
        check_options=options,
        workers=workers,
        shard_size=shard_size,
        resume=resume,
        show_progress=not json_out,
        executor=_executor(executor),
        read=ReadOptions(text_column=text_column, id_column=id_column),
        write_kept=write_kept,
        item_timeout_s=item_timeout,
        item_memory_mb=item_memory,
    )
    if json_out:
        print_json(report)
    else:
        _print_summary(report, out)
    code = exit_code_of(report)
    if code is not ExitCode.OK:
        raise typer.Exit(int(code))


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
