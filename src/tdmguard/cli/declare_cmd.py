"""``tdmguard declare`` (write a holder's declaration bundle) and ``tdmguard stamp`` (write
the reservation into audio and image files).

The declaration is built here from the registry (``declare`` is a sibling of ``registry``
and does not import it), or read from a JSON file (``--from-json``, the shape of
``HolderDeclaration.to_json``) when there is no registry at hand.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tdmguard.cli.context import settings_from
from tdmguard.cli.output import console, err_console, print_json, print_table
from tdmguard.cli.params import parse_date, today
from tdmguard.errors import InputError, TdmguardError

if TYPE_CHECKING:
    from tdmguard.declare import HolderDeclaration
    from tdmguard.declare.stamp import C2paStamp
    from tdmguard.registry.store import Registry

# The declaration writers, stampers, signing keys and the registry are imported inside the
# functions that use them: other commands (and `tdmguard --help`) never load them.

__all__ = ["declaration_from_registry", "publish_demo", "register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
HolderOpt = Annotated[
    str | None, typer.Option("--holder", help="Holder name or id in the registry.")
]
FromJsonOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-json", help="Read the declaration from a JSON file instead of the registry."
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Origin the bundle is served from (default: https:// + the contact's e-mail domain).",
    ),
]
ContactOpt = Annotated[
    str | None, typer.Option("--contact", help="Licensing e-mail (default: the holder's contact).")
]
LicensingOpt = Annotated[
    str | None,
    typer.Option("--licensing-url", help="Licensing page (default: BASE_URL/ai-licensing)."),
]
PathsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--path",
        help="URL path prefix the reservation covers, once per prefix (default: / , the "
        "whole site); robots.txt, ai.txt, tdmrep.json, headers and RSL all follow it.",
    ),
]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="Date whose reservations count (default: today).")
]


def declaration_from_registry(
    registry: Registry,
    holder: str,
    *,
    base_url: str | None = None,
    contact: str | None = None,
    licensing_url: str | None = None,
    at: date | None = None,
    paths: list[str] | None = None,
) -> HolderDeclaration:
    """The declaration of ``holder``'s reservations in force at ``at`` (default today).

    Reserved uses and purposes are the union over the active reservations (not revoked,
    not ended, not exemptions); the works listed are every work of the holder when a
    reservation is holder-wide, else the works the reservations name."""
    from tdmguard.declare import DeclaredWork, declaration_for
    from tdmguard.registry.declaration_facts import declaration_facts

    facts = declaration_facts(registry, holder, at=at or today())
    if not paths and not facts.holder_wide:
        err_console.print(
            f"[yellow]note:[/] the reservations in force name {len(facts.works)} work(s), but "
            "the registry knows no URLs: the bundle reserves the whole site (/). Pass --path "
            "for the paths where those works are served.",
            highlight=False, soft_wrap=True,
        )
    return declaration_for(
        facts.holder,
        registered_contact=facts.contact,
        uses=facts.uses,
        purposes=facts.purposes,
        effective_from=facts.effective_from,
        works=[DeclaredWork(w.id, w.title, w.isrc or "", w.iswc or "") for w in facts.works],
        contact=contact,
        base_url=base_url,
        licensing_url=licensing_url,
        paths=paths or ("/",),
    )


def _load_declaration(
    ctx: typer.Context,
    holder: str | None,
    from_json: Path | None,
    *,
    base_url: str | None,
    contact: str | None,
    licensing_url: str | None,
    at: str | None,
    paths: list[str] | None = None,
) -> HolderDeclaration:
    from tdmguard.declare import HolderDeclaration
    from tdmguard.registry.store import Registry

    if from_json is not None:
        try:
            data = json.loads(from_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the declaration ({exc})", where=str(from_json)) from exc
        if not isinstance(data, dict):
            raise InputError("expected a JSON object", where=str(from_json))
        if base_url:
            data["base_url"] = base_url
        if paths:
            data["reserved_paths"] = paths
        return HolderDeclaration.from_json(data, where=str(from_json))
    if holder is None:
        raise InputError(
            "name the holder (--holder) or a declaration file (--from-json)", where="--holder"
        )
    registry = Registry.open(settings_from(ctx).db_url, create=False)
    try:
        return declaration_from_registry(
            registry,
            holder,
            base_url=base_url,
            contact=contact,
            licensing_url=licensing_url,
            at=parse_date(at, flag="--at"),
            paths=paths,
        )
    finally:
        registry.close()


def declare(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the bundle into.")],
    holder: HolderOpt = None,
    from_json: FromJsonOpt = None,
    base_url: BaseUrlOpt = None,
    contact: ContactOpt = None,
    licensing_url: LicensingOpt = None,
    at: AtOpt = None,
    paths: PathsOpt = None,
    sign_key: Annotated[Path | None, typer.Option(
        "--sign-key", help="Publish this signing key's public key (.well-known/"
        "tdmguard-keys.json) so developers can pin it.")] = None,
    public_key: Annotated[str | None, typer.Option(
        "--public-key", help="Or publish this public key (ed25519:... or a .pub file).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a holder's declaration bundle: robots.txt, ai.txt, tdmrep.json, TDM policy,
    RSL licence, declaration page, nginx/Apache/Caddy header snippets and a manifest (and,
    with --sign-key or --public-key, the key that signs its registry snapshots)."""
    from tdmguard.declare import write_bundle
    from tdmguard.declare.head_file import PublishedHead
    from tdmguard.registry.store import Registry
    from tdmguard.signing import load_public_key, load_signing_key

    decl = _load_declaration(
        ctx,
        holder,
        from_json,
        base_url=base_url,
        contact=contact,
        licensing_url=licensing_url,
        at=at,
        paths=paths,
    )
    keys = [load_signing_key(sign_key).public] if sign_key is not None else []
    keys += [load_public_key(public_key)] if public_key is not None else []
    head = None
    if from_json is None:  # built from the registry: publish its audit head to pin
        registry = Registry.open(settings_from(ctx).db_url, create=False)
        try:
            seq, digest = registry.head()
            head = PublishedHead(seq, digest, datetime.now(UTC).isoformat(timespec="seconds"),
                                 registry.content_digest())
        finally:
            registry.close()
    bundle = write_bundle(decl, out, keys=keys, head=head)
    if json_out:
        print_json(bundle.to_json() | {"declaration": decl.to_json()})
        return
    print_table(
        f"declaration bundle for {decl.holder} in {bundle.folder}",
        ["file", "serve at", "bytes", "sha256"],
        [(f.path, f.url or "(server config)", len(f.content), f.sha256[:16]) for f in bundle.files],
    )
    console.print(f"manifest.json sha256 {bundle.manifest_sha256}")


def stamp(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Audio or image files to stamp in place.")],
    holder: HolderOpt = None,
    work: Annotated[
        str | None, typer.Option("--work", help="Work id: adds its ISRC and id to the tags.")
    ] = None,
    from_json: FromJsonOpt = None,
    base_url: BaseUrlOpt = None,
    contact: ContactOpt = None,
    licensing_url: LicensingOpt = None,
    c2pa: Annotated[
        bool,
        typer.Option(
            "--c2pa",
            help="Also embed a signed C2PA manifest with the cawg.training-mining assertion"
            " (JPEG, PNG, MP3, WAV, M4A, FLAC; needs --cert and --key).",
        ),
    ] = False,
    cert: Annotated[
        Path | None,
        typer.Option("--cert", help="C2PA signing certificate chain (PEM, signer first)."),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="Private key of the --cert certificate (PEM).")
    ] = None,
    c2pa_legacy: Annotated[
        bool,
        typer.Option(
            "--c2pa-legacy-label",
            help="Also write the C2PA 1.x label c2pa.training-mining for older readers.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write the holder's reservation into FILES (ID3 / Vorbis / MP4 tags and XMP in audio;
    XMP plus:DataMining and IPTC in JPEG/PNG) without re-encoding them; with --c2pa also a
    C2PA manifest signed with the holder's certificate."""
    from tdmguard.declare import StampFields, stamp_file
    from tdmguard.declare.c2pa_sign import load_c2pa_credentials
    from tdmguard.declare.stamp import C2paStamp

    c2pa_stamp: C2paStamp | None = None
    if c2pa or cert or key or c2pa_legacy:
        if not (c2pa and cert and key):
            raise typer.BadParameter("--c2pa needs both --cert and --key (and they need --c2pa)")
        c2pa_stamp = C2paStamp(load_c2pa_credentials(cert, key), legacy_label=c2pa_legacy)
    decl = _load_declaration(
        ctx,
        holder,
        from_json,
        base_url=base_url,
        contact=contact,
        licensing_url=licensing_url,
        at=None,
    )
    fields = StampFields.from_declaration(decl, work)
    results: list[dict[str, object]] = []
    rows: list[tuple[str, str, int, str]] = []
    failures: list[TdmguardError] = []
    for path in files:
        try:
            result = stamp_file(path, fields, c2pa=c2pa_stamp)
        except TdmguardError as exc:
            failures.append(exc)
            results.append({"path": str(path), "error": str(exc)})
            rows.append((str(path), "-", 0, str(exc)))
            continue
        results.append(result.to_json())
        rows.append((str(path), result.container, len(result.fields), "; ".join(result.notes)))
    if json_out:
        uses = sorted(u.value for u in decl.reserved_uses)
        print_json({"holder": decl.holder, "reserved_uses": uses, "files": results})
    else:
        print_table(f"stamped for {decl.holder}", ["file", "container", "fields", "notes"], rows)
    if failures:
        raise (
            failures[0]
            if len(failures) == 1
            else InputError(
                f"{len(failures)} of {len(files)} files not stamped; first: {failures[0]}"
            )
        )


def register(app: typer.Typer) -> None:
    app.command("declare")(declare)
    app.command("stamp")(stamp)


def publish_demo(
    registry: Registry, holder: str, workdir: Path, *, base_url: str | None = None
) -> dict[str, object]:
    """For ``tdmguard demo``: write ``holder``'s bundle into ``workdir/declaration`` and
    stamp copies of the sample media (``demo/data/declare``) into ``workdir/stamped``.
    The stamped files are not registered works: a scan excludes them by their embedded
    signals alone."""
    import shutil

    from tdmguard.declare import StampFields, stamp_file, write_bundle
    from tdmguard.demo import demo_data_dir

    decl = declaration_from_registry(registry, holder, base_url=base_url)
    bundle = write_bundle(decl, workdir / "declaration")
    stamped_dir = workdir / "stamped"
    stamped_dir.mkdir(parents=True, exist_ok=True)
    fields = StampFields.from_declaration(decl)
    stamped = []
    for sample in sorted((demo_data_dir() / "declare").iterdir()):
        if sample.suffix in {".ogg", ".png"}:
            target = stamped_dir / sample.name
            shutil.copyfile(sample, target)
            stamped.append(stamp_file(target, fields).to_json())
    return {"bundle": bundle.to_json(), "stamped": stamped}
