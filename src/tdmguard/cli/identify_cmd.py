"""``tdmguard identify``: which registered works does a file contain?"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated, Any

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.cli.output import console, print_json_line, print_table
from tdmguard.errors import InputError, TdmguardError
from tdmguard.registry.matching import Matcher
from tdmguard.registry.store import Registry
from tdmguard.scan.checks.content import MEDIA_OF
from tdmguard.scan.sniff import sniff_path
from tdmguard.vocab import Modality

__all__ = ["register"]

_MODALITY_OF = {media: modality for modality, media in MEDIA_OF.items()}


def _require_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InputError("no such file", where=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    if not stat.S_ISREG(mode):
        raise InputError("not a regular file (a FIFO, device or folder)", where=str(path))


def _text_in_any_encoding(path: Path, modality: Modality | None) -> Modality | None:
    """The sniffer knows UTF-8 text only: a lyric saved as Windows-1252, KOI8-R, Shift-JIS
    or UTF-16 (whose byte-order mark looks like an MP3 frame) is text too (issue #18)."""
    if modality not in (None, Modality.AUDIO):
        return modality
    from tdmguard.fingerprint.lyrics.reading import SNIFF_BYTES, has_wide_bom, text_encoding

    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return modality
    if modality is Modality.AUDIO and not has_wide_bom(head):
        return modality
    return Modality.LYRICS if text_encoding(head) is not None else modality


def identify(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Audio, text, score or image files.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per file per line.")
    ] = False,
) -> None:
    """Identify registered works in files (the media kind is read from the content)."""
    settings = settings_from(ctx)
    registry = Registry.open(settings.db_url, create=False)  # never create one as a side effect
    works = {w.id: w for w in registry.list_works()}
    matchers: dict[Modality, Matcher | None] = {}
    failures = 0
    rows: list[dict[str, Any]] = []
    for path in files:
        out: dict[str, Any] = {"path": str(path)}
        try:
            _require_regular_file(path)  # before any open: a FIFO would block it forever
            modality = _text_in_any_encoding(path, _MODALITY_OF.get(sniff_path(path)))
            if modality is None:
                raise InputError("not audio, text, a score or an image", where=str(path))
            if modality not in matchers:
                matchers[modality] = Matcher.open(settings.index_dir, modality)
            matcher = matchers[modality]
            matches = matcher.identify_path(path) if matcher is not None else []
            out["modality"] = modality.value
            out["matches"] = []
            for m in matches:
                work = works.get(m.work_id)
                out["matches"].append(
                    {
                        "work_id": m.work_id,
                        "holder": work.holder if work else None,
                        "title": work.title if work else None,
                    }
                    | m.to_json()
                )
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
            elif not out["matches"]:
                table.append((out["path"], out.get("modality", ""), "no match", "", ""))
            for m in out["matches"]:
                span = ", ".join(f"{k}={v}" for k, v in m.items() if k.startswith("query_"))
                table.append(
                    (
                        out["path"],
                        m["modality"],
                        f"{m['work_id']} ({m['title']})",
                        f"{m['score']:.3f}",
                        span,
                    )
                )
        print_table("identify", ["file", "modality", "work", "score", "span"], table)
        if failures:
            console.print(f"{failures} file(s) could not be read")
    if failures == len(files):
        raise typer.Exit(int(ExitCode.INPUT))


def register(app: typer.Typer) -> None:
    app.command("identify")(identify)
