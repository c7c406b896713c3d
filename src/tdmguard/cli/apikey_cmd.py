"""``tdmguard apikey create|list|revoke``: API keys of the registry server (stored hashed;
the key itself is printed once, at creation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.output import console, print_json, print_table
from tdmguard.errors import InputError
from tdmguard.registry.values import CLI_ACTOR, Scope

if TYPE_CHECKING:
    from tdmguard.registry.service import RegistryService

__all__ = ["register"]

apikey_app = typer.Typer(help="API keys of the registry server.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _service(ctx: typer.Context, *, create: bool) -> RegistryService:
    from tdmguard.registry.service import RegistryService  # heavy: only when a command runs

    return RegistryService.open(settings_from(ctx), create=create)


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    holder: Annotated[
        str | None,
        typer.Option("--holder", help="Holder the key acts for (required for --scope write)."),
    ] = None,
    scope: Annotated[
        str | None, typer.Option("--scope", help="write (the holder's records) or read.")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="An operator key: may do everything.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", help="Label (default: the holder, or the scope).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key; prints its id and the key (shown this once only: keep it)."""
    if admin and scope is not None:
        raise InputError("give --admin or --scope, not both", where="--scope")
    if admin:
        the_scope = Scope.ADMIN
    elif scope is None:
        raise InputError("give --scope write|read (or --admin)", where="--scope")
    else:
        try:
            the_scope = Scope(scope.strip().lower())
        except ValueError as exc:
            raise InputError(f"unknown scope {scope!r} (write or read)", where="--scope") from exc
        if the_scope is Scope.ADMIN:
            raise InputError("use --admin for an admin key", where="--scope")
    service = _service(ctx, create=True)
    info, key = service.create_api_key(
        CLI_ACTOR, name=name or holder or the_scope.value, scope=the_scope, holder=holder
    )
    if json_out:
        print_json({"id": info.id, "key": key})
    else:
        console.print(f"key {info.id} ({info.scope.value}"
                      + (f" for {info.holder}" if info.holder else "") + "):")
        console.print(key, highlight=False, soft_wrap=True)
        console.print("[dim]shown once: only its hash is stored[/]")


@apikey_app.command("list")
def apikey_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List keys (never the keys themselves)."""
    keys = _service(ctx, create=False).list_api_keys(CLI_ACTOR)
    if json_out:
        print_json([k.to_json() for k in keys])
    else:
        print_table("API keys", ["id", "name", "scope", "holder", "created_at", "revoked_at"],
                    [k.to_json() for k in keys])


@apikey_app.command("revoke")
def apikey_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key id (from `apikey list`).")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key: refused from the next request on."""
    info = _service(ctx, create=False).revoke_api_key(
        CLI_ACTOR, key_id
    )
    if json_out:
        print_json(info.to_json())
    else:
        console.print(f"key {info.id} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
