"""Writes a declaration bundle into a folder: every file at the URL path it is served from,
the server snippets under ``server/``, and ``manifest.json`` with the SHA-256 of each file.

Each file is written to a temporary name in its final folder, flushed, then renamed over
the old one (``os.replace`` is atomic on POSIX and Windows), so a web server serving the
folder never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tdmguard import __version__
from tdmguard.atomic import write_bytes_atomic
from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.head_file import HEAD_PATH, PublishedHead, render_head_json
from tdmguard.declare.http_headers import render_apache, render_caddy, render_nginx
from tdmguard.declare.keys_file import KEYS_PATH, render_keys_json
from tdmguard.declare.page import render_declaration_page
from tdmguard.declare.robots_files import render_ai_txt, render_robots_txt
from tdmguard.declare.rsl_licence import render_rsl_xml
from tdmguard.declare.tdmrep_files import render_tdm_policy, render_tdmrep_json
from tdmguard.errors import InputError
from tdmguard.signing import PublicKey

__all__ = ["MANIFEST_NAME", "BundleFile", "DeclarationBundle", "bundle_files", "write_bundle"]

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True, slots=True)
class BundleFile:
    """One file of the bundle: where it lies in the folder, where it is served (None for
    server snippets), its media type and content."""

    path: str
    media_type: str
    content: bytes
    url: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "path": self.path,
            "media_type": self.media_type,
            "size_bytes": len(self.content),
            "sha256": self.sha256,
        }
        if self.url:
            out["url"] = self.url
        return out


@dataclass(frozen=True, slots=True)
class DeclarationBundle:
    """What :func:`write_bundle` wrote: the folder, the files and the manifest's digest."""

    folder: Path
    files: tuple[BundleFile, ...]
    manifest_sha256: str

    def to_json(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "files": [f.to_json() for f in self.files],
            "manifest": MANIFEST_NAME,
            "manifest_sha256": self.manifest_sha256,
        }


_Render = Callable[[HolderDeclaration], str]


def _served(decl: HolderDeclaration) -> list[tuple[str, str, _Render]]:
    # (URL path, media type, renderer)
    return [
        ("/robots.txt", "text/plain; charset=utf-8", render_robots_txt),
        ("/ai.txt", "text/plain; charset=utf-8", render_ai_txt),
        ("/.well-known/tdmrep.json", "application/json", render_tdmrep_json),
        (decl.policy_path, "application/ld+json", render_tdm_policy),
        (decl.licence_path, "application/rsl+xml", render_rsl_xml),
        (decl.page_path, "text/html; charset=utf-8", render_declaration_page),
    ]


def bundle_files(
    decl: HolderDeclaration,
    *,
    keys: Sequence[PublicKey] = (),
    head: PublishedHead | None = None,
) -> tuple[BundleFile, ...]:
    """Every file of the bundle, in memory (the manifest excepted); with ``keys``, also the
    holder's public signing keys at ``/.well-known/tdmguard-keys.json``; with ``head``, the
    registry's audit head at ``/.well-known/tdmguard-head.json`` (to pin in verify)."""
    files = [
        BundleFile(url_path.lstrip("/"), media, render(decl).encode(), decl.base_url + url_path)
        for url_path, media, render in _served(decl)
    ]
    if keys:
        files.append(BundleFile(KEYS_PATH.lstrip("/"), "application/json",
                                render_keys_json(decl.holder, keys).encode(),
                                decl.base_url + KEYS_PATH))
    if head is not None:
        files.append(BundleFile(HEAD_PATH.lstrip("/"), "application/json",
                                render_head_json(decl.holder, head).encode(),
                                decl.base_url + HEAD_PATH))
    for name, render in (
        ("server/nginx.conf", render_nginx),
        ("server/apache.conf", render_apache),
        ("server/Caddyfile", render_caddy),
    ):
        files.append(BundleFile(name, "text/plain; charset=utf-8", render(decl).encode()))
    paths = [f.path for f in files]
    if len(paths) != len(set(paths)) or MANIFEST_NAME in paths:
        raise InputError(
            "two bundle files share one path (policy, licence and page paths must differ)",
            where="declaration",
        )
    return tuple(files)


def write_bundle(
    decl: HolderDeclaration,
    folder: Path,
    *,
    generated_at: datetime | None = None,
    keys: Sequence[PublicKey] = (),
    head: PublishedHead | None = None,
) -> DeclarationBundle:
    """Write the bundle into ``folder`` (created if needed; other files there are left
    alone). Raises :class:`InputError` naming the path when it cannot be written."""
    files = bundle_files(decl, keys=keys, head=head)
    stamp = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    manifest = {
        "generator": f"tdmguard {__version__}",
        "generated_at": stamp,
        "declaration": decl.to_json(),
        "files": [f.to_json() for f in files],
    }
    if head is not None:
        manifest["registry_audit_head"] = head.to_json()
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    root = folder.resolve()
    try:
        for f in files:
            write_bytes_atomic(root / f.path, f.content, file_mode=0o644)
        write_bytes_atomic(root / MANIFEST_NAME, manifest_bytes, file_mode=0o644)
    except OSError as exc:
        raise InputError(
            f"cannot write the bundle: {exc.strerror or exc}", where=str(folder)
        ) from exc
    return DeclarationBundle(root, files, hashlib.sha256(manifest_bytes).hexdigest())
