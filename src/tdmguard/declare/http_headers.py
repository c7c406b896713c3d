"""The HTTP response headers of a reserved path (optout-protocols.md §12 item 3), and the
snippets that make nginx, Apache httpd and Caddy send them.

``tdm-reservation`` / ``tdm-policy`` (TDMRep §1.3), ``Content-Usage`` (AIPREF attach-05
§2), ``X-Robots-Tag: noai, noimageai`` (§6.1) and ``Link: rel="license"`` to the RSL
licence (§5.1). The ASGI middleware (``server/middleware.py``) sends the same headers.
"""

from __future__ import annotations

from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.labels import ROBOTS_META_LABELS, labels_for, tdm_reservation
from tdmguard.declare.robots_files import content_usage_value

__all__ = ["render_apache", "render_caddy", "render_nginx", "reservation_headers"]


def reservation_headers(decl: HolderDeclaration) -> tuple[tuple[str, str], ...]:
    """``(name, value)`` pairs for every response under a reserved path."""
    out: list[tuple[str, str]] = []
    if tdm_reservation(decl.reserved_uses):
        out.append(("tdm-reservation", "1"))
        out.append(("tdm-policy", decl.policy_url))
    usage = content_usage_value(decl)
    if usage:
        out.append(("Content-Usage", usage))
    meta = labels_for("robots-meta", ROBOTS_META_LABELS, decl.reserved_uses)
    if meta:
        out.append(("X-Robots-Tag", ", ".join(meta)))
    out.append(("Link", f'<{decl.licence_url}>; rel="license"; type="application/rsl+xml"'))
    return tuple(out)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(
    decl: HolderDeclaration, title: str, block: str, line: str, end: str, matcher: str = "{path}"
) -> str:
    """One block per reserved path; ``block`` and ``line`` are templates with ``{path}`` /
    ``{name}``, ``{value}`` (already quoted)."""
    lines = [f"# tdmguard: AI reservation headers for {decl.holder} ({title})"]
    for path in decl.reserved_paths:
        shown = matcher.format(path=path if path.endswith("*") else path + "*", raw=path)
        lines.append(block.format(path=shown))
        lines.extend(
            line.format(name=name, value=_quoted(value))
            for name, value in reservation_headers(decl)
        )
        lines.append(end)
    return "\n".join(lines) + "\n"


def render_nginx(decl: HolderDeclaration) -> str:
    # "always" also adds the headers to error and redirect responses.
    return _render(
        decl, "nginx, inside server {}", "location {path} {{",
        "    add_header {name} {value} always;", "}", matcher="{raw}",
    )  # fmt: skip


def render_apache(decl: HolderDeclaration) -> str:
    return _render(
        decl, "Apache httpd, mod_headers", '<Location "{path}">',
        "    Header always set {name} {value}", "</Location>", matcher="{raw}",
    )  # fmt: skip


def render_caddy(decl: HolderDeclaration) -> str:
    return _render(
        decl, "Caddyfile, inside a site block", "header {path} {{", "    {name} {value}", "}"
    )
