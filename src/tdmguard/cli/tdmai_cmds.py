"""``tdmguard declaration export|import``: TDM·AI declarations of a holder's reservations,
bound to its works' ISCC codes and signed with the holder's Ed25519 key (docs/declare.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tdmguard.cli.output import console, print_json, print_table
from tdmguard.cli.params import parse_date, today
from tdmguard.cli.registry_cmds import open_service
from tdmguard.errors import InputError, NotFoundError
from tdmguard.registry.values import CLI_ACTOR, ReservationInfo, WorkInfo
from tdmguard.vocab import Use, covered_uses

if TYPE_CHECKING:
    from tdmguard.declare.tdmai import TdmAiEntry

# The TDM·AI codec, the signing keys (cryptography) and the registry are imported inside the
# commands: other commands (and `tdmguard --help`) never load them.

__all__ = ["entries_for_holder", "register"]

declaration_app = typer.Typer(
    help="TDM·AI declarations: export a holder's reservations signed, import verified ones.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _in_force(r: ReservationInfo, at: date) -> bool:
    if r.exempt or r.effective_from > at:
        return False
    if r.effective_until is not None and r.effective_until <= at:
        return False
    return r.revoked_on is None or r.revoked_on > at


def _exempted(reservations: list[ReservationInfo], at: date) -> dict[str, frozenset[Use]]:
    """Per work, the uses a per-work exemption in force lifts (policy rule 2)."""
    out: dict[str, frozenset[Use]] = {}
    for r in reservations:
        if r.exempt and _in_force(replace(r, exempt=False), at):
            for work_id in r.work_ids:
                out[work_id] = out.get(work_id, frozenset()) | covered_uses(frozenset(r.uses))
    return out


def entries_for_holder(
    works_of_holder: list[WorkInfo], reservations: list[ReservationInfo], at: date
) -> tuple[list[TdmAiEntry], list[str]]:
    """One entry per (reservation in force at ``at``, work with an ISCC), less the uses a
    per-work exemption lifts from a holder-wide reservation; and the ids of the works left
    out for want of an ISCC. Licences are not part of a TDM·AI declaration."""
    from tdmguard.declare.tdmai import TdmAiEntry

    works = {w.id: w for w in works_of_holder}
    exempted = _exempted(reservations, at)
    entries: list[TdmAiEntry] = []
    skipped: set[str] = set()
    for r in reservations:
        if not _in_force(r, at):
            continue
        for work_id in r.work_ids or tuple(works):
            uses = frozenset(r.uses)
            if not r.work_ids and work_id in exempted:
                uses = frozenset(u for u in uses if u not in exempted[work_id])
                if not uses:
                    continue
            work = works.get(work_id)
            if work is None:
                continue
            if not work.iscc:
                skipped.add(work_id)
                continue
            entries.append(
                TdmAiEntry(
                    iscc=work.iscc,
                    reserved=uses,
                    effective_from=r.effective_from,
                    effective_until=r.effective_until,
                    work_id=work.id,
                    title=work.title,
                    kind=work.kind.value,
                    purposes=frozenset(r.purposes),
                    declared_at=r.declared_at,
                )
            )
    return entries, sorted(skipped)


@declaration_app.command("export")
def declaration_export(
    ctx: typer.Context,
    holder: Annotated[str, typer.Option("--holder", help="Holder name or id.")],
    key: Annotated[Path, typer.Option("--key", help="The holder's Ed25519 signing key (PEM).")],
    out: Annotated[Path, typer.Option("--out", help="File to write the declarations to.")],
    at: Annotated[
        str | None, typer.Option("--at", help="Date whose reservations count (default: today).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write HOLDER's reservations in force as TDM·AI declarations, one per work with an
    ISCC, signed with KEY."""
    from tdmguard.atomic import write_bytes_atomic
    from tdmguard.declare.tdmai import export_declarations
    from tdmguard.signing import load_signing_key

    service = open_service(ctx, create=False)
    info = service.get_holder(CLI_ACTOR, holder)
    signing_key = load_signing_key(key)
    entries, skipped = entries_for_holder(
        service.list_works(CLI_ACTOR, info.name),
        service.list_reservations(CLI_ACTOR, info.name),
        parse_date(at, flag="--at") or today(),
    )
    if not entries:
        raise NotFoundError(
            f"no reservation in force on a work with an ISCC for {info.name!r}"
            + (f" ({len(skipped)} works have no ISCC)" if skipped else ""),
            where="--holder",
        )
    data = export_declarations(info.name, entries, signing_key, contact=info.contact)
    write_bytes_atomic(out, data)
    result = {
        "file": str(out),
        "holder": info.name,
        "declarations": len(entries),
        "key_id": signing_key.public.key_id,
        "public_key": signing_key.public.text,
        "works_without_iscc": skipped,
    }
    if json_out:
        print_json(result)
        return
    console.print(
        f"{len(entries)} declarations of {info.name} written to {out}, signed by key"
        f" {signing_key.public.key_id} ({signing_key.public.text})"
    )
    if skipped:
        console.print(f"left out (no ISCC): {', '.join(skipped)}")


@declaration_app.command("import")
def declaration_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A declarations file from `declaration export`.")],
    pin: Annotated[
        str,
        typer.Option("--pin", help="The holder's public key: ed25519:... or a .pub file."),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Verify FILE against the pinned key and record its declarations as reservations (the
    holder and works are created when missing). A file that does not verify changes nothing
    (exit 6)."""
    from tdmguard.declare.tdmai import verify_declarations
    from tdmguard.registry.declarations import DeclaredReservation
    from tdmguard.signing import load_public_key

    pinned = load_public_key(pin)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where=str(file)) from exc
    doc = verify_declarations(data, pinned, where=str(file))
    items = [
        DeclaredReservation(
            iscc=e.iscc,
            uses=e.reserved,
            effective_from=e.effective_from,
            effective_until=e.effective_until,
            purposes=e.purposes,
            work_id=e.work_id,
            title=e.title,
            kind=e.kind,
            source=(
                f"tdmai:{file.name}#{i} sha256:{doc.digest} signed by ed25519 key"
                f" {pinned.key_id} ({doc.issued_at})"
            ),
        )
        for i, e in enumerate(doc.entries)
    ]
    service = open_service(ctx)
    result = service.import_declarations(CLI_ACTOR, doc.holder, items, contact=doc.contact)
    if json_out:
        print_json(result.to_json() | {"problems": list(doc.problems), "key_id": pinned.key_id})
        return
    print_table(
        f"imported for {doc.holder} (key {pinned.key_id})",
        ["id", "works", "uses", "purposes", "from", "until"],
        [r.to_json() for r in result.reservations],
    )
    if result.already_present:
        console.print(f"{result.already_present} declarations were imported before (skipped)")
    for problem in doc.problems:
        console.print(f"[yellow]note[/]: {problem}")


def register(app: typer.Typer) -> None:
    app.add_typer(declaration_app, name="declaration")
