"""Registry commands: ``registry``, ``holder``, ``work``, ``reserve``, ``reservation``,
``licence``, ``decide``, ``index``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from tdmguard.cli.context import settings_from
from tdmguard.cli.output import console, print_json, print_table
from tdmguard.cli.params import parse_date, parse_purposes, parse_uses, today
from tdmguard.errors import InputError, IntegrityError
from tdmguard.registry.catalogue import default_kind
from tdmguard.registry.service import RegistryService
from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.vocab import Modality, WorkKind

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
HolderOpt = Annotated[str, typer.Option("--holder", help="Holder name or id.")]
OwnerOpt = Annotated[
    str | None,
    typer.Option("--holder", help="Refuse unless the entry is this holder's (name or id)."),
]

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
def registry_verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Check the audit log's hash chain; names the first edited, deleted or moved entry."""
    service = open_service(ctx, create=False)
    result = service.verify(CLI_ACTOR)
    if json_out:
        print_json(result.to_json() | {"head": service.state_digest()})
    elif result.ok:
        console.print(
            f"audit log intact: {result.entries} entries, head {service.state_digest()}"
        )
    if not result.ok:
        raise IntegrityError(
            result.problem or "audit chain broken", where=f"audit entry {result.first_broken_seq}"
        )


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
    media = [
        (m, p)
        for m, p in (
            (Modality.AUDIO, audio),
            (Modality.LYRICS, lyrics),
            (Modality.MELODY, melody),
            (Modality.IMAGE, image),
        )
        if p
    ]
    for modality, path in media:
        if not path.is_file():
            raise InputError("no such file", where=f"--{modality.value} {path}")
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
    catalogue: Annotated[Path, typer.Argument(help="Catalogue file (.csv, .tsv or .jsonl).")],
    holder: HolderOpt,
    json_out: JsonOpt = False,
) -> None:
    """Import a catalogue; a bad row fails the whole import, naming file, line and field."""
    service = open_service(ctx)
    service.get_holder(CLI_ACTOR, holder)  # fail early on an unknown holder
    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=json_out,
        transient=True,
    ) as progress:
        task = progress.add_task("fingerprinting", total=None)
        infos = service.import_catalogue(
            CLI_ACTOR,
            holder,
            catalogue,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if json_out:
        print_json({"imported": len(infos)})
    else:
        console.print(f"imported {len(infos)} works from {catalogue}")


@work_app.command("list")
def work_list(
    ctx: typer.Context,
    holder: Annotated[
        str | None, typer.Option("--holder", help="Only this holder's works.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List registered works."""
    works = open_service(ctx).list_works(CLI_ACTOR, holder)
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
        ["id", "uses", "purposes", "from", "until", "exempt", "revoked_on"],
        [r.to_json() for r in reservations],
    )
    print_table(
        "licences",
        ["id", "licensee", "uses", "from", "until", "revoked_on"],
        [lic.to_json() for lic in licences],
    )


# -- reservations and licences -----------------------------------------------------------
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
            [r.to_json() for r in items],
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
            [lic.to_json() for lic in items],
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
    json_out: JsonOpt = False,
) -> None:
    """Decide keep / exclude / review for one work, with every reason."""
    service = open_service(ctx)
    info = service.find_work(CLI_ACTOR, work=work, isrc=isrc, iswc=iswc)
    result = service.decide(
        CLI_ACTOR,
        info,
        use=parse_uses([use])[0],
        purpose=parse_purposes([purpose])[0],
        org=actor,
        at=parse_date(at, flag="--at") or today(),
    )
    decision, the_use, the_purpose = result.decision, result.use, result.purpose
    if json_out:
        print_json(result.to_json())
    else:
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
