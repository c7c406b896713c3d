"""Signed snapshots: ``keys generate``, ``registry export``, ``registry pull`` and
``registry sources`` (the latter three join the ``registry`` group of ``registry_cmds``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.output import console, print_json, print_table
from tdmguard.cli.registry_cmds import registry_app
from tdmguard.errors import InputError

if TYPE_CHECKING:
    from tdmguard.registry.snapshot import PullResult
    from tdmguard.registry.store import Registry

# Snapshots, the registry (SQLAlchemy) and the signing keys are imported inside the commands:
# other commands (and `tdmguard --help`) never load them.

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

keys_app = typer.Typer(help="Ed25519 signing keys (for snapshots and declarations).",
                       no_args_is_help=True)


@keys_app.command("generate")
def keys_generate(
    out: Annotated[Path, typer.Option("--out", help="Private key file (PEM, mode 0600); the "
                                      "public key is written beside it as OUT.pub.")],
    json_out: JsonOpt = False,
) -> None:
    """Generate a signing key; prints the public key to publish and pin."""
    from tdmguard.signing import generate_signing_key, save_signing_key

    key = generate_signing_key()
    pub_path = save_signing_key(key, out)
    info = key.public.to_json() | {"private_key_file": str(out), "public_key_file": str(pub_path)}
    if json_out:
        print_json(info)
    else:
        console.print(f"signing key {out} (keep it secret); public key {pub_path}:")
        console.print(key.public.text, highlight=False)


def registry_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="New (or empty) snapshot folder.")],
    sign_key: Annotated[Path, typer.Option("--sign-key", help="Private key file to sign with.")],
    since: Annotated[int | None, typer.Option(
        "--since", help="Write a delta: what changed after this audit sequence number.")] = None,
    holder: Annotated[str | None, typer.Option(
        "--holder", help="Only this holder's part of the registry.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Export the registry's public state (never media) as a signed snapshot or delta."""
    from tdmguard.registry.snapshot import export_snapshot
    from tdmguard.registry.store import Registry
    from tdmguard.signing import load_signing_key

    key = load_signing_key(sign_key)
    registry = Registry.open(settings_from(ctx).db_url, create=False)
    try:
        result = export_snapshot(registry, out, key, since=since, holder=holder)
    finally:
        registry.close()
    info = result.to_json()
    if json_out:
        print_json({k: info[k] for k in ("snapshot", "seq", "head", "files")}
                   | {"kind": info["kind"], "since": info["since"], "folder": info["folder"]})
    else:
        m = result.manifest
        console.print(
            f"{m.kind} snapshot {m.snapshot_id} of registry {m.registry_id}"
            + (f" (holder {m.scope})" if m.scope else "")
            + f": entries {m.seq_from + 1}..{m.seq_to}, head {m.head[:16]}, "
            f"{len(m.files)} files in {result.folder}, signed by key {key.public.key_id}")


def registry_pull(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(
        help="Snapshot folder, file:// URL, or https:// URL of a tdmguard server.")],
    trust: Annotated[str, typer.Option(
        "--trust", help="The publisher's public key (ed25519:... or a .pub file).")],
    name: Annotated[str | None, typer.Option(
        "--name", help="Local name of a new source (default: the holder or registry id).")] = None,
    namespace: Annotated[str | None, typer.Option(
        "--namespace",
        help="Prefix this source's work ids and holder names with NS: (when they clash "
             "with another source's).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify a signed snapshot or delta and apply it to this registry (the mirror), all or
    nothing; a bad signature, digest, key or an older snapshot is refused (exit 6)."""
    from tdmguard.registry.snapshot import (
        FolderReader,
        HttpReader,
        folder_of,
        http_client,
        latest_chain,
        pull_snapshot,
    )
    from tdmguard.registry.store import Registry
    from tdmguard.signing import load_public_key

    key = load_public_key(trust)
    settings = settings_from(ctx)
    registry = Registry.open(settings.db_url)
    results: list[PullResult] = []
    try:
        folder = folder_of(source)
        if folder is not None:
            if not folder.is_dir():
                raise InputError("not a snapshot folder", where=source)
            results.append(pull_snapshot(registry, settings.index_dir, FolderReader(folder),
                                         key, name=name, namespace=namespace))
        else:
            with http_client() as client:
                for snapshot_id in latest_chain(client, source, _held_seq(registry)):
                    reader = HttpReader(client, source, snapshot_id)
                    results.append(pull_snapshot(registry, settings.index_dir, reader, key,
                                                 name=name, namespace=namespace))
    finally:
        registry.close()
    if json_out:
        last = results[-1].to_json() if results else {}
        print_json(last | {"applied": [r.to_json() for r in results],
                           "up_to_date": not results})
        return
    if not results:
        console.print("up to date: the server has nothing newer")
    for r in results:
        console.print(
            f"applied {r.kind} snapshot {r.snapshot_id} from source {r.source}: now at entry "
            f"{r.seq_to} (head {r.head[:16]}); " + ", ".join(f"{v} {k}" for k, v in
                                                             r.counts.items()))


def _held_seq(registry: Registry) -> Callable[[str, str], int | None]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tdmguard.registry.tables import SnapshotSource

    def held(registry_id: str, scope: str) -> int | None:
        with Session(registry.engine) as s:
            return s.execute(select(SnapshotSource.seq).where(
                SnapshotSource.registry_id == registry_id, SnapshotSource.scope == scope)
            ).scalar_one_or_none()

    return held


def registry_sources(
    ctx: typer.Context,
    drop: Annotated[str | None, typer.Option(
        "--drop", help="Remove this source and everything that came from it.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List the sources this registry mirrors: pinned key, snapshot, sequence and head."""
    from tdmguard.registry.snapshot import drop_source, list_sources, recover
    from tdmguard.registry.store import Registry

    settings = settings_from(ctx)
    registry = Registry.open(settings.db_url, create=False)
    try:
        recover(registry, settings.index_dir)
        dropped: dict[str, Any] | None = None
        if drop is not None:
            dropped = drop_source(registry, settings.index_dir, drop)
        sources = [s.to_json() for s in list_sources(registry)]
    finally:
        registry.close()
    if json_out:
        print_json({"sources": sources} | ({"dropped": dropped} if dropped else {}))
        return
    if dropped:
        console.print(f"dropped source {drop}")
    print_table("sources", ["name", "scope", "key_id", "snapshot", "seq", "head", "works",
                            "pulled_at"],
                [s | {"head": str(s["head"])[:16]} for s in sources])


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    registry_app.command("export")(registry_export)
    registry_app.command("pull")(registry_pull)
    registry_app.command("sources")(registry_sources)
