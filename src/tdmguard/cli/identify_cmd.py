"""``tdmguard identify``: which registered works does a file contain?"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated, Any

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.cli.output import console, print_json_line, print_table
from tdmguard.cli.params import parse_date, parse_purposes, parse_uses, today
from tdmguard.errors import InputError, TdmguardError
from tdmguard.registry.values import CLI_ACTOR

__all__ = ["register"]


def _require_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InputError("no such file", where=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    if not stat.S_ISREG(mode):
        raise InputError("not a regular file (a FIFO, device or folder)", where=str(path))


def identify(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Audio, text, score or image files.")],
    use: Annotated[
        str | None,
        typer.Option("--use", help="Also decide each match for this use (tdm, ai-train, ...)."),
    ] = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Purpose decided for (with --use).")
    ] = "commercial",
    actor: Annotated[
        str, typer.Option("--actor", help="Organisation decided for (with --use).")
    ] = "cli",
    at: Annotated[str | None, typer.Option("--at", help="Date judged (default today).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per file per line.")
    ] = False,
    item_timeout: Annotated[
        float, typer.Option("--item-timeout", min=0,
                            help="Seconds one file may take (0: no limit); a file over it is "
                            "reported as failed and the others go on.")
    ] = 300.0,
) -> None:
    """Identify registered works in files (the media kind is read from the content)."""
    # the registry, engines and index load only when the command runs (`tdmguard --help`
    # and other commands never pay for them)
    from tdmguard.fingerprint.engines import modality_for_media
    from tdmguard.registry.service import RegistryService
    from tdmguard.scan.shard import ItemTimeoutError, item_budget
    from tdmguard.scan.sniff import sniff_path

    # never create a registry as a side effect
    service = RegistryService.open(settings_from(ctx), create=False)
    the_use = parse_uses([use])[0] if use is not None else None
    the_purpose = parse_purposes([purpose])[0]
    date_at = parse_date(at, flag="--at") or today()
    failures = 0
    rows: list[dict[str, Any]] = []
    for path in files:
        out: dict[str, Any] = {"path": str(path)}
        try:
            _require_regular_file(path)  # before any open: a FIFO would block it forever
            modality = modality_for_media(sniff_path(path).value)
            if modality is None:
                raise InputError("not audio, text, a score or an image", where=str(path))
            with item_budget(item_timeout):
                result = service.identify(
                    CLI_ACTOR,
                    path,
                    modality,
                    use=the_use,
                    purpose=the_purpose,
                    org=actor,
                    at=date_at,
                )
            out |= result.to_json()
        except ItemTimeoutError:
            failures += 1
            out["matches"] = []
            out["error"] = f"{path}: over the {item_timeout:g} s budget per file (--item-timeout)"
        except TdmguardError as exc:
            failures += 1
            out["matches"] = []
            out["error"] = str(exc)
        if json_out:
            print_json_line(out)
        else:
            rows.append(out)
    if not json_out:
        table = []
        for out in rows:
            if "error" in out:
                table.append((out["path"], "", "error", out["error"], ""))
            elif not out["matches"] and not out.get("iscc_matches"):
                table.append((out["path"], out.get("modality", ""), "no match", "", ""))
            for m in out.get("iscc_matches", []):
                distance = "equal" if m["exact"] else f"{m['content_distance']} bits"
                table.append(
                    (out["path"], "iscc", f"{m['work']} ({m['title']})", distance, m["iscc"])
                )
            for m in out["matches"]:
                span = ", ".join(f"{k}={v}" for k, v in m.items() if k.startswith("query_"))
                table.append(
                    (
                        out["path"],
                        m["modality"],
                        f"{m['work_id']} ({m['title']})",
                        f"{m['score']:.3f}"
                        + (" (review)" if m.get("confidence") == "review" else ""),
                        span,
                    )
                )
        print_table(
            "identify", ["file", "modality", "work", "score / ISCC distance", "span"], table
        )
        if failures:
            console.print(f"{failures} file(s) could not be read")
    # Documented exit codes: 14 when no file could be read, 13 when some could not.
    if failures and failures == len(files):
        raise typer.Exit(int(ExitCode.ALL_FAILED))
    if failures:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(app: typer.Typer) -> None:
    app.command("identify")(identify)
