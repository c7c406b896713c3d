"""Registry commands: ``registry``, ``holder``, ``work``, ``reserve``, ``reservation``,
``licence``, ``decide``, ``index``."""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.output import console, err_console, print_json, print_table
from tdmguard.cli.params import parse_date, parse_purposes, parse_uses, today
from tdmguard.errors import InputError, IntegrityError
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.vocab import Modality, Use, WorkKind, covered_uses

if TYPE_CHECKING:
    from tdmguard.registry.service import RegistryService

# The registry service (SQLAlchemy, Alembic, the index and its numba kernels, the engines) is
# imported inside the commands that use it: `tdmguard --help`, `tdmguard scan` and the other
# commands never pay for what they do not run.

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
HolderOpt = Annotated[str, typer.Option("--holder", help="Holder name or id.")]
OwnerOpt = Annotated[
    str | None,
    typer.Option("--holder", help="Refuse unless the entry is this holder's (name or id)."),
]

class ImportModeChoice(enum.StrEnum):
    """``work import --mode``: the values of ``registry.catalogue_import.ImportMode`` (a test
    keeps them equal), named here so that the command is declared without importing the
    catalogue importer and, through it, the engines."""

    ADD = "add"
    UPSERT = "upsert"
    SYNC = "sync"


registry_app = typer.Typer(help="Create and verify the registry database.", no_args_is_help=True)
holder_app = typer.Typer(help="Rights holders.", no_args_is_help=True)
work_app = typer.Typer(
    help="Registered works (recordings, compositions, lyrics, melodies, artwork).",
    no_args_is_help=True,
)
licence_app = typer.Typer(help="Licences granted by holders.", no_args_is_help=True)
reservation_app = typer.Typer(help="List or revoke reservations.", no_args_is_help=True)
index_app = typer.Typer(help="The fingerprint index.", no_args_is_help=True)


def open_service(ctx: typer.Context, *, create: bool = True) -> RegistryService:
    """The service layer over the registry and index of the command's settings; the CLI
    acts as :data:`CLI_ACTOR` (the local operator)."""
    from tdmguard.registry.service import RegistryService

    return RegistryService.open(settings_from(ctx), create=create)


# -- registry -----------------------------------------------------------------------------
@registry_app.command("init")
def registry_init(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Create the registry (or migrate it to the current schema)."""
    settings = settings_from(ctx)
    service = open_service(ctx, create=True)
    out = {
        "db": _mask(settings.db_url),
        "index": str(settings.index_dir),
        "digest": service.state_digest(),
    }
    if json_out:
        print_json(out)
    else:
        console.print(f"registry ready at {out['db']} (index: {out['index']})")


@registry_app.command("verify")
def registry_verify(
    ctx: typer.Context,
    json_out: JsonOpt = False,
    pin: Annotated[
        str | None,
        typer.Option(
            "--pin",
            "--head",
            help="A head published earlier (SEQ:HASH, or HASH): fail unless the log still "
            "holds that entry (catches deleted last entries and a recomputed chain).",
        ),
    ] = None,
) -> None:
    """Check the audit log's hash chain, then replay it and compare every decision-relevant
    table with it: names the first edited, deleted or moved entry, or the first table row
    changed, deleted or inserted outside tdmguard."""
    from tdmguard.registry import audit

    pinned = None
    if pin is not None:
        try:
            pinned = audit.parse_pin(pin)
        except ValueError as exc:
            raise InputError(str(exc), where="--pin") from exc
    service = open_service(ctx, create=False)
    result = service.verify(CLI_ACTOR, pin=pinned)
    head = f"{result.head_seq}:{result.head}"
    if json_out:
        print_json(result.to_json() | {"head": service.state_digest(), "pin_head": head})
    elif result.ok:
        pinned_note = f", pinned head {result.pin} present" if result.pin else ""
        console.print(
            f"audit log intact and tables match it: {result.entries} entries, "
            f"{result.rows} rows checked{pinned_note}; head {head}"
        )
    if not result.ok:
        raise IntegrityError(result.problem or "audit chain broken", where=result.where)


@registry_app.command("log")
def registry_log(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print the audit log."""
    entries = open_service(ctx, create=False).audit_entries(CLI_ACTOR)
    if json_out:
        print_json(entries)
    else:
        print_table(
            "audit log",
            ["seq", "at", "action", "hash"],
            [{**e, "hash": e["hash"][:16]} for e in entries],
        )


def _mask(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


# -- holders ------------------------------------------------------------------------------
@holder_app.command("add")
def holder_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The holder's name (unique).")],
    contact: Annotated[str | None, typer.Option(help="Licensing contact (e-mail or URL).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a rights holder."""
    info = open_service(ctx).add_holder(CLI_ACTOR, name, contact=contact)
    if json_out:
        print_json({"id": info.id, "name": info.name})
    else:
        console.print(f"holder {info.id}: {info.name}")


@holder_app.command("list")
def holder_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List rights holders."""
    holders = open_service(ctx).list_holders(CLI_ACTOR)
    if json_out:
        print_json([h.to_json() for h in holders])
    else:
        print_table("holders", ["id", "name", "contact"], [h.to_json() for h in holders])


# -- works --------------------------------------------------------------------------------
def _media_options(
    audio: Path | None, lyrics: Path | None, melody: Path | None, image: Path | None
) -> list[tuple[Modality, Path]]:
    media = [(m, p) for m, p in ((Modality.AUDIO, audio), (Modality.LYRICS, lyrics),
                                  (Modality.MELODY, melody), (Modality.IMAGE, image)) if p]
    for modality, path in media:
        if not path.is_file():
            raise InputError("no such file", where=f"--{modality.value} {path}")
    return media


@work_app.command("add")
def work_add(
    ctx: typer.Context,
    holder: HolderOpt,
    title: Annotated[str, typer.Option("--title", help="Title of the work.")],
    artist: Annotated[list[str] | None, typer.Option("--artist", help="Artist (repeat).")] = None,
    isrc: Annotated[str | None, typer.Option("--isrc")] = None,
    iswc: Annotated[str | None, typer.Option("--iswc")] = None,
    upc: Annotated[str | None, typer.Option("--upc")] = None,
    iscc: Annotated[str | None, typer.Option("--iscc")] = None,
    external_id: Annotated[
        str | None, typer.Option("--id", help="Your own id for the work.")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="recording, composition, lyrics, melody or artwork (default: from the media).",
        ),
    ] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Recording to fingerprint.")] = None,
    lyrics: Annotated[
        Path | None, typer.Option("--lyrics", help="Lyrics text (txt, LRC, SRT).")
    ] = None,
    melody: Annotated[
        Path | None, typer.Option("--melody", help="Score (MIDI, MusicXML, ABC, kern).")
    ] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Artwork image.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a work; media given are fingerprinted (only fingerprints are stored)."""
    from tdmguard.registry.catalogue import default_kind
    from tdmguard.registry.store import NewWork

    media = _media_options(audio, lyrics, melody, image)
    try:
        work_kind = WorkKind(kind.lower()) if kind else default_kind([m for m, _ in media])
    except ValueError as exc:
        raise InputError(f"unknown kind {kind!r}", where="--kind") from exc
    new = NewWork(
        title=title,
        kind=work_kind,
        artists=artist or [],
        isrc=isrc,
        iswc=iswc,
        upc=upc,
        iscc=iscc,
        external_id=external_id,
    )
    info = open_service(ctx).register_work(CLI_ACTOR, holder, new, media)
    if json_out:
        print_json({"id": info.id} | info.to_json())
    else:
        console.print(
            f"work {info.id}: {info.title}"
            + (f" (fingerprints: {', '.join(info.modalities)})" if info.modalities else "")
        )


@work_app.command("import")
def work_import(
    ctx: typer.Context,
    catalogue: Annotated[
        Path, typer.Argument(help="Catalogue file (.csv, .tsv, .jsonl or .xlsx).")
    ],
    holder: HolderOpt,
    mode: Annotated[
        ImportModeChoice,
        typer.Option("--mode", help="add: new works only (an existing id fails the import); "
                     "upsert: add new rows, update changed ones, skip unchanged ones; sync: "
                     "upsert, and remove the holder's works missing from the file."),
    ] = ImportModeChoice.ADD,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Report row by row what would be added, updated, removed and "
        "refused; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --mode sync: remove without "
                                      "asking.")] = False,
    skip_unfingerprintable: Annotated[bool, typer.Option(
        "--skip-unfingerprintable", help="Import the other rows when some media cannot be "
        "fingerprinted (too short, silent, blank), and list the skipped rows.")] = False,
    allow_outside_paths: Annotated[bool, typer.Option(
        "--allow-outside-paths", help="Allow media paths outside the catalogue's folder.")
    ] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes fingerprinting media (default: every core once "
        "the media add up to 64 MiB, else one: starting workers costs more below that).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import or re-import a catalogue. Every row is checked and media fingerprinted before
    anything is written; a refused row fails the whole import, naming file, line and field."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from tdmguard.registry.catalogue_import import ImportMode, RowAction

    service = open_service(ctx)
    service.get_holder(CLI_ACTOR, holder)  # fail early on an unknown holder

    def confirm(ids: Sequence[str]) -> bool:
        if yes:
            return True
        if json_out or not sys.stdin.isatty():
            raise typer.BadParameter(
                f"--mode sync would remove {len(ids)} works "
                f"({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}): add --yes, or check "
                "them first with --dry-run", param_hint="--yes")
        return typer.confirm(f"remove {len(ids)} works missing from {catalogue.name} "
                             f"({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})?")

    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=json_out or dry_run,
        transient=True,
    ) as progress:
        task = progress.add_task("fingerprinting", total=None)
        report = service.import_catalogue_report(
            CLI_ACTOR, holder, catalogue, mode=ImportMode(mode.value), dry_run=dry_run,
            skip_unfingerprintable=skip_unfingerprintable,
            allow_outside_paths=allow_outside_paths, confirm_removal=confirm, workers=workers,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    counts = {a.value: report.count(a) for a in RowAction}
    if json_out:
        out = report.to_json()
        if report.applied:
            out["imported"] = counts["add"]  # the count earlier versions printed
        print_json(out)
        return
    shown = [o for o in report.outcomes if dry_run or o.action is not RowAction.SKIP]
    if shown:
        print_table(
            "dry run: nothing was changed" if dry_run else f"{catalogue.name} ({mode.value})",
            ["line", "id", "action", "what"],
            [{"line": o.line or "", "id": o.id or "", "action": o.action.value,
              "what": o.reason or ", ".join(o.changes)} for o in shown],
        )
    console.print(("would: " if dry_run else "")
                  + ", ".join(f"{n} {a}" for a, n in (
                      ("added", counts["add"]), ("updated", counts["update"]),
                      ("unchanged", counts["skip"]), ("removed", counts["remove"]),
                      ("refused", counts["refuse"]))) + f" ({catalogue})")


@work_app.command("update")
def work_update(
    ctx: typer.Context,
    work_id: Annotated[str, typer.Argument(help="Work id.")],
    holder: HolderOpt,
    title: Annotated[str | None, typer.Option("--title")] = None,
    artist: Annotated[list[str] | None, typer.Option(
        "--artist", help="Artist (repeat; replaces the artists).")] = None,
    isrc: Annotated[str | None, typer.Option("--isrc")] = None,
    iswc: Annotated[str | None, typer.Option("--iswc")] = None,
    upc: Annotated[str | None, typer.Option("--upc")] = None,
    iscc: Annotated[str | None, typer.Option("--iscc")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    extra: Annotated[list[str] | None, typer.Option(
        "--set", help="Extra metadata KEY=VALUE (repeat; an empty VALUE deletes KEY).")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="New recording.")] = None,
    lyrics: Annotated[Path | None, typer.Option("--lyrics", help="New lyrics text.")] = None,
    melody: Annotated[Path | None, typer.Option("--melody", help="New score.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="New artwork.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a work's metadata or media (a new media file replaces that fingerprint and the
    index follows). History is kept: the audit log records old and new values."""
    from tdmguard.registry.catalogue_files import normalise_column
    from tdmguard.registry.store import NewWork

    service = open_service(ctx)
    current = service.get_work(CLI_ACTOR, work_id)
    fields = dict(current.extra)
    for item in extra or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {item!r}", where="--set")
        if value.strip():
            fields[normalise_column(key)] = value.strip()
        else:
            fields.pop(normalise_column(key), None)
    try:
        work_kind = WorkKind(kind.lower()) if kind else current.kind
    except ValueError as exc:
        raise InputError(f"unknown kind {kind!r}", where="--kind") from exc
    new = NewWork(
        title=title if title is not None else current.title,
        kind=work_kind,
        artists=artist if artist is not None else current.artists,
        isrc=isrc if isrc is not None else current.isrc,
        iswc=iswc if iswc is not None else current.iswc,
        upc=upc if upc is not None else current.upc,
        # new media get their own ISCC (computed by the service); the old one no longer fits
        iscc=iscc if iscc is not None else (
            None if any((audio, lyrics, melody, image)) else current.iscc
        ),
        external_id=current.id,
        extra=fields,
    )
    info, changes = service.update_work(CLI_ACTOR, holder, work_id, new,
                                        _media_options(audio, lyrics, melody, image))
    if json_out:
        print_json(info.to_json() | {"changes": sorted(changes)})
    else:
        console.print(f"work {info.id}: " + (f"changed {', '.join(sorted(changes))}"
                                            if changes else "nothing changed"))


@work_app.command("remove")
def work_remove(
    ctx: typer.Context,
    work_id: Annotated[str, typer.Argument(help="Work id.")],
    holder: HolderOpt,
    on: Annotated[str | None, typer.Option(
        "--on", help="Date the work leaves the catalogue (default today).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Take a work out of the catalogue: it leaves the index; decisions at earlier dates
    and the audit log still see it (re-import it with --mode upsert to restore it)."""
    info = open_service(ctx).remove_work(CLI_ACTOR, holder, work_id,
                                         on=parse_date(on, flag="--on") or today())
    if json_out:
        print_json(info.to_json())
    else:
        console.print(f"work {info.id} removed from {info.removed_on}")


@work_app.command("list")
def work_list(
    ctx: typer.Context,
    holder: Annotated[
        str | None, typer.Option("--holder", help="Only this holder's works.")
    ] = None,
    search: Annotated[
        str, typer.Option("--search", "-s",
                          help="Only works whose id, title, artists, ISRC or ISWC contain "
                               "every word of this (case-insensitive).")
    ] = "",
    limit: Annotated[
        int | None, typer.Option("--limit", min=0, max=10_000, help="At most this many.")
    ] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """List registered works (not removed), oldest first."""
    works = open_service(ctx).search_works(CLI_ACTOR, holder, search, limit=limit,
                                           offset=offset).works
    if json_out:
        print_json([w.to_json() for w in works])
    else:
        print_table(
            "works",
            ["id", "holder", "title", "kind", "isrc", "iswc", "fingerprints"],
            [w.to_json() | {"fingerprints": ", ".join(w.modalities)} for w in works],
        )


@work_app.command("show")
def work_show(
    ctx: typer.Context,
    work_id: Annotated[str, typer.Argument(help="Work id.")],
    json_out: JsonOpt = False,
) -> None:
    """Show one work with the reservations and licences that name it or its holder."""
    detail = open_service(ctx).show_work(CLI_ACTOR, work_id)
    info, reservations, licences = detail.work, detail.reservations, detail.licences
    out = detail.to_json()
    if json_out:
        print_json(out)
        return
    print_table(
        f"work {info.id}",
        ["field", "value"],
        [(k, v) for k, v in info.to_json().items() if v not in (None, [], "")],
    )
    print_table(
        "reservations",
        ["id", "uses", "purposes", "works", "from", "until", "exempt", "revoked_on"],
        [_readable_terms(r.to_json()) for r in reservations],
    )
    print_table(
        "licences",
        ["id", "licensee", "uses", "from", "until", "revoked_on"],
        [_readable_terms(lic.to_json()) for lic in licences],
    )


# -- reservations and licences -----------------------------------------------------------
def _readable_terms(row: dict[str, object]) -> dict[str, object]:
    """An entry's terms for a table: an empty list means all of them, and the uses a broader
    use covers are named (``tdm`` covers every AI use)."""
    out = dict(row)
    uses = [str(u) for u in row.get("uses") or []]  # type: ignore[attr-defined]
    covered = sorted({u.value for u in covered_uses(Use(u) for u in uses)} - set(uses))
    out["uses"] = ", ".join(uses) + (f" (covers {', '.join(covered)})" if covered else "")
    if "purposes" in row:
        out["purposes"] = row["purposes"] or "all purposes"
    if "works" in row:
        out["works"] = row["works"] or "all works"
    return out


UseOpt = Annotated[
    list[str],
    typer.Option("--use", help="tdm, ai-train, genai-train, ai-input or search (repeat)."),
]
PurposeOpt = Annotated[
    list[str] | None,
    typer.Option("--purpose", help="commercial or research (repeat; default: every purpose)."),
]
WorkOpt = Annotated[
    list[str] | None,
    typer.Option("--work", help="Work id (repeat; default: every work of the holder)."),
]


def reserve(
    ctx: typer.Context,
    holder: HolderOpt,
    use: UseOpt,
    from_: Annotated[str, typer.Option("--from", help="Effective from (YYYY-MM-DD).")],
    work: WorkOpt = None,
    purpose: PurposeOpt = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Effective until (exclusive).")
    ] = None,
    declared_at: Annotated[
        str | None, typer.Option("--declared-at", help="URL where it is declared.")
    ] = None,
    exempt: Annotated[
        bool,
        typer.Option(
            "--exempt",
            help="Record an exemption (lifts a wider reservation for the works named) instead.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Reserve uses of a holder's works (holder-wide, or per work with --work)."""
    start = parse_date(from_, flag="--from")
    assert start is not None
    info = open_service(ctx).reserve(
        CLI_ACTOR,
        holder,
        uses=parse_uses(use),
        effective_from=start,
        effective_until=parse_date(until, flag="--until"),
        work_ids=work or [],
        purposes=parse_purposes(purpose or []),
        declared_at=declared_at,
        exempt=exempt,
    )
    if json_out:
        print_json(info.to_json())
    else:
        scope = ", ".join(info.work_ids) if info.work_ids else "every work"
        console.print(
            f"{'exemption' if exempt else 'reservation'} {info.id}: "
            f"{', '.join(u.value for u in info.uses)} of {scope} from "
            f"{info.effective_from}"
        )


@reservation_app.command("list")
def reservation_list(
    ctx: typer.Context,
    holder: Annotated[str | None, typer.Option("--holder")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List reservations (revoked ones show their revocation date)."""
    items = open_service(ctx).list_reservations(CLI_ACTOR, holder)
    if json_out:
        print_json([r.to_json() for r in items])
    else:
        print_table(
            "reservations",
            ["id", "holder", "uses", "purposes", "works", "from", "until", "exempt", "revoked_on"],
            [_readable_terms(r.to_json()) for r in items],
        )


@reservation_app.command("revoke")
def reservation_revoke(
    ctx: typer.Context,
    reservation_id: Annotated[int, typer.Argument()],
    on: Annotated[str | None, typer.Option("--on", help="Date it ends (default today).")] = None,
    holder: OwnerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """End a reservation from a date (a new dated entry; the reservation stays on record)."""
    date_on = parse_date(on, flag="--on") or today()
    open_service(ctx).revoke_reservation(CLI_ACTOR, reservation_id, on=date_on, holder=holder)
    if json_out:
        print_json({"revoked": reservation_id, "on": date_on.isoformat()})
    else:
        console.print(f"reservation {reservation_id} revoked from {date_on}")


@licence_app.command("grant")
def licence_grant(
    ctx: typer.Context,
    holder: HolderOpt,
    licensee: Annotated[str, typer.Option("--licensee", help="Organisation licensed.")],
    use: UseOpt,
    from_: Annotated[str, typer.Option("--from", help="Valid from (YYYY-MM-DD).")],
    work: WorkOpt = None,
    purpose: PurposeOpt = None,
    until: Annotated[str | None, typer.Option("--until", help="Valid until (exclusive).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Grant a licence to an organisation."""
    start = parse_date(from_, flag="--from")
    assert start is not None
    info = open_service(ctx).grant_licence(
        CLI_ACTOR,
        holder,
        licensee=licensee,
        uses=parse_uses(use),
        valid_from=start,
        valid_until=parse_date(until, flag="--until"),
        work_ids=work or [],
        purposes=parse_purposes(purpose or []),
    )
    if json_out:
        print_json(info.to_json())
    else:
        console.print(
            f"licence {info.id} to {info.licensee}: "
            f"{', '.join(u.value for u in info.uses)} from {info.valid_from}"
        )


@licence_app.command("revoke")
def licence_revoke(
    ctx: typer.Context,
    licence_id: Annotated[int, typer.Argument()],
    on: Annotated[str | None, typer.Option("--on", help="Date it ends (default today).")] = None,
    holder: OwnerOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """End a licence from a date (a new dated entry; the licence stays on record)."""
    date_on = parse_date(on, flag="--on") or today()
    open_service(ctx).revoke_licence(CLI_ACTOR, licence_id, on=date_on, holder=holder)
    if json_out:
        print_json({"revoked": licence_id, "on": date_on.isoformat()})
    else:
        console.print(f"licence {licence_id} revoked from {date_on}")


@licence_app.command("list")
def licence_list(
    ctx: typer.Context,
    holder: Annotated[str | None, typer.Option("--holder")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List licences."""
    items = open_service(ctx).list_licences(CLI_ACTOR, holder)
    if json_out:
        print_json([lic.to_json() for lic in items])
    else:
        print_table(
            "licences",
            [
                "id",
                "holder",
                "licensee",
                "uses",
                "purposes",
                "works",
                "from",
                "until",
                "revoked_on",
            ],
            [_readable_terms(lic.to_json()) for lic in items],
        )


# -- decisions ----------------------------------------------------------------------------
def decide_cmd(
    ctx: typer.Context,
    use: Annotated[
        str, typer.Option("--use", help="tdm, ai-train, genai-train, ai-input or search.")
    ],
    purpose: Annotated[str, typer.Option("--purpose", help="commercial or research.")],
    actor: Annotated[str, typer.Option("--actor", help="Organisation that would use it.")],
    at: Annotated[str | None, typer.Option("--at", help="Date judged (default today).")] = None,
    work: Annotated[str | None, typer.Option("--work", help="Work id.")] = None,
    isrc: Annotated[str | None, typer.Option("--isrc", help="Or the work's ISRC.")] = None,
    iswc: Annotated[str | None, typer.Option("--iswc", help="Or the work's ISWC.")] = None,
    iscc: Annotated[
        str | None,
        typer.Option("--iscc", help="Or an ISCC: the equal one, else the nearest Content-Code."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Decide keep / exclude / review for one work, with every reason."""
    service = open_service(ctx)
    info = service.find_work(CLI_ACTOR, work=work, isrc=isrc, iswc=iswc, iscc=iscc)
    result = service.decide(
        CLI_ACTOR,
        info,
        use=parse_uses([use])[0],
        purpose=parse_purposes([purpose])[0],
        org=actor,
        at=parse_date(at, flag="--at") or today(),
    )
    decision, the_use, the_purpose = result.decision, result.use, result.purpose
    near = service.find_by_iscc(CLI_ACTOR, iscc) if iscc is not None else []
    matched = next((m for m in near if m.work_id == info.id), None)
    if json_out:
        extra = {"iscc_match": matched.to_json()} if matched is not None else {}
        print_json(result.to_json() | extra)
    else:
        if matched is not None:
            how = "equal ISCC" if matched.exact else (
                f"Content-Code {matched.distance} bits from the ISCC given"
            )
            console.print(f"work {info.id} found by ISCC: {how}")
        console.print(
            f"[bold]{decision.kind.value}[/] {info.id} ({info.title}) for "
            f"{the_use.value}/{the_purpose.value} by {actor}"
        )
        for reason in decision.reasons:
            console.print(f"  - {reason.code}: {reason.detail}")


# -- index --------------------------------------------------------------------------------
@index_app.command("build")
def index_build(
    ctx: typer.Context,
    modality: Annotated[
        list[str] | None,
        typer.Option("--modality", help="audio, lyrics, melody or image (repeat; default: all)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Rebuild the fingerprint index from the registry (drops removed and stale entries)."""
    settings = settings_from(ctx)
    try:
        wanted = [Modality(m) for m in modality] if modality else list(Modality)
    except ValueError as exc:
        raise InputError(str(exc), where="--modality") from exc
    stats = open_service(ctx).build_index(CLI_ACTOR, wanted)
    if json_out:
        print_json({"index": str(settings.index_dir), "modalities": [s.to_json() for s in stats]})
    else:
        print_table(
            f"index {settings.index_dir}",
            ["modality", "works", "hashes", "size_bytes"],
            [s.to_json() for s in stats],
        )
        if not stats:
            console.print("nothing registered with media yet")


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
    app.add_typer(holder_app, name="holder")
    app.add_typer(work_app, name="work")
    app.command("reserve")(reserve)
    app.add_typer(reservation_app, name="reservation")
    app.add_typer(licence_app, name="licence")
    app.command("decide")(decide_cmd)
    app.add_typer(index_app, name="index")
