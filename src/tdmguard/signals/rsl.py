"""RSL (Really Simple Licensing, optout-protocols.md section 5): discovery through robots.txt
``License:`` lines (a group's lines beat the global ones), ``Link: <...>; rel="license"``
headers and HTML ``<link rel="license">`` / ``<script type="application/rsl+xml">``, and the
evaluation of the licence XML: ``prohibits`` beats ``permits``, a ``permits`` list is closed,
conflicts resolve to the most restrictive reading, and a licence that cannot be obtained
means the asset is unlicensed (section 5.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urljoin, urlsplit

from tdmguard.signals.headers import HeaderPairs, header_values
from tdmguard.signals.html_meta import HtmlSignals
from tdmguard.signals.robots import RobotsTxt, escape_pattern, pattern_matches, url_path
from tdmguard.signals.xml_safe import parse_xml
from tdmguard.vocab import Stance, Use, covered_uses, uses_for_label

__all__ = [
    "MAX_RSL_BYTES",
    "RSL_MEDIA_TYPE",
    "RSL_NS",
    "USAGE_TOKENS",
    "RslContent",
    "RslDocument",
    "RslEvaluation",
    "RslLicense",
    "evaluate_rsl",
    "licence_urls_from_html",
    "licence_urls_from_link_headers",
    "licence_urls_from_robots",
    "parse_link_header",
    "parse_rsl",
]

RSL_NS = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
USAGE_TOKENS = frozenset({"all", "ai-all", "ai-train", "ai-input", "ai-index", "search"})
# Tokens seen in the wild that are not RSL 1.0 (section 5.3): read leniently, with a problem.
_LEGACY_USAGE = MappingProxyType(
    {"train-ai": "ai-train", "ai-use": "ai-input", "inference": "ai-input"}
)
_FREE = frozenset({"", "free"})
# RSL has no size limit of its own; RFC 9309's 500 KiB is for robots.txt only.
MAX_RSL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RslLicense:
    """``permits`` / ``prohibits`` per type (``usage``, ``user``, ``geo``) -> tokens;
    ``payments`` the payment types (empty means free)."""

    permits: Mapping[str, frozenset[str]]
    prohibits: Mapping[str, frozenset[str]]
    payments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RslContent:
    url: str  # a path pattern (``*``, ``$``) or a full URL
    server: str | None
    licenses: tuple[RslLicense, ...]


@dataclass(frozen=True, slots=True)
class RslDocument:
    contents: tuple[RslContent, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RslEvaluation:
    stances: Mapping[Use, Stance]
    content: RslContent | None  # the <content> that applied
    problems: tuple[str, ...]


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _tokens(text: str | None) -> frozenset[str]:
    # 1.0 separates with spaces, 0.9 documents showed commas: accept both (section 5.2).
    return frozenset(t.lower() for t in re.split(r"[\s,]+", text or "") if t)


def parse_rsl(data: str | bytes) -> RslDocument:
    """Parse an RSL document (``<rsl>`` root or a bare ``<content>``). Never raises. A
    document cut by a size limit is read as far as its ``<content>`` elements are
    complete, with a problem saying so."""
    root, problem = parse_xml(data, max_bytes=MAX_RSL_BYTES, partial=True)
    if root is None:
        return RslDocument((), (problem,))
    problems: list[str] = [problem] if problem else []
    ns, name = _local(root.tag)
    if ns not in (RSL_NS, ""):
        problems.append(f"root element is in namespace {ns!r}, not {RSL_NS}")
    if name == "content":
        content_elements = [root]
    elif name == "rsl":
        content_elements = [c for c in root if _local(c.tag)[1] == "content"]
    else:
        return RslDocument((), (f"root element <{name}> is not <rsl> or <content>",))
    contents: list[RslContent] = []
    for c in content_elements:
        url = (c.attrib.get("url") or "").strip()
        if not url:
            problems.append("<content> without url, skipped")
            continue
        licenses: list[RslLicense] = []
        for lic in c:
            if _local(lic.tag)[1] != "license":
                continue
            permits: dict[str, frozenset[str]] = {}
            prohibits: dict[str, frozenset[str]] = {}
            payments: list[str] = []
            for el in lic:
                el_ns, el_name = _local(el.tag)
                kind = (el.attrib.get("type") or "usage").strip().lower()
                if el_name in ("permits", "prohibits"):
                    target = permits if el_name == "permits" else prohibits
                    tokens = _tokens(el.text)
                    if kind == "usage":
                        tokens = _normalise_usage(tokens, problems)
                    target[kind] = target.get(kind, frozenset()) | tokens
                elif el_name == "payment":
                    payments.append(kind)
                elif el_ns == RSL_NS and el_name not in _KNOWN_LICENSE_CHILDREN:
                    problems.append(f"unknown RSL element <{el_name}> (non-conformant)")
            licenses.append(
                RslLicense(
                    MappingProxyType(permits),
                    MappingProxyType(prohibits),
                    tuple(p for p in payments if p not in _FREE),
                )
            )
        contents.append(RslContent(url, c.attrib.get("server"), tuple(licenses)))
    return RslDocument(tuple(contents), tuple(problems))


_KNOWN_LICENSE_CHILDREN = frozenset(
    {"legal", "copyright", "terms", "schema", "alternate", "reporting"}
)


def _normalise_usage(tokens: frozenset[str], problems: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for t in tokens:
        if t in USAGE_TOKENS:
            out.add(t)
        elif t in _LEGACY_USAGE:
            problems.append(f"usage token {t!r} is not RSL 1.0; read as {_LEGACY_USAGE[t]!r}")
            out.add(_LEGACY_USAGE[t])
        else:
            problems.append(f"unknown usage token {t[:40]!r}, ignored")
    return frozenset(out)


def _usage_uses(tokens: Iterable[str]) -> frozenset[Use]:
    return covered_uses(u for t in tokens for u in uses_for_label("rsl", t))


def _content_specificity(content: RslContent, url: str) -> int:
    """-1 when ``content`` does not cover ``url``, else the length of its pattern."""
    target = content.url
    if "://" in target:
        t, u = urlsplit(target), urlsplit(url)
        if (t.scheme, t.netloc.lower()) != (u.scheme, u.netloc.lower()):
            return -1
        pattern = url_path(target)
    else:
        pattern = target
    pattern = escape_pattern(pattern)
    return len(pattern) if pattern_matches(pattern, url_path(url)) else -1


def evaluate_rsl(
    doc: RslDocument, url: str, *, geo: str | None = None, user: str | None = None
) -> RslEvaluation:
    """Stances for ``url``: the most specific ``<content>`` covering it applies; within it,
    every licence is read and the most restrictive reading wins. A ``permits`` list is
    closed: uses it does not list are not permitted. A permitted use with a payment term
    is licensable, not free: it reads ``deny`` (a reservation with a known licensing route).
    ``geo`` / ``user`` restrictions that the caller's ``geo`` / ``user`` does not meet (or
    that cannot be judged because they are None) make that licence's permits void."""
    problems: list[str] = list(doc.problems)
    best: RslContent | None = None
    best_len = -1
    for content in doc.contents:
        n = _content_specificity(content, url)
        if n > best_len:
            best, best_len = content, n
    if best is None:
        return RslEvaluation(MappingProxyType({}), None, tuple(problems))
    stances: dict[Use, Stance] = {}

    def put(uses: Iterable[Use], stance: Stance) -> None:
        for use in uses:
            if stances.get(use) is not Stance.DENY:
                stances[use] = stance

    if best.server:
        problems.append(f"licence server {best.server}: a licence token must be obtained (OLP)")
    for lic in best.licenses:
        put(_usage_uses(lic.prohibits.get("usage", ())), Stance.DENY)
        for kind, given in (("geo", geo), ("user", user)):
            if given is not None and given.lower() in lic.prohibits.get(kind, frozenset()):
                put(Use, Stance.DENY)
        if "usage" not in lic.permits:
            continue
        permitted = _usage_uses(lic.permits["usage"])
        conditions_met = True
        for kind, given in (("geo", geo), ("user", user)):
            allowed = lic.permits.get(kind)
            if allowed is None:
                continue
            if given is None or given.lower() not in allowed:
                conditions_met = False
                problems.append(
                    f"permits limited to {kind} {' '.join(sorted(allowed))}; "
                    f"{kind} {given or 'unknown'} does not qualify"
                )
        put(frozenset(Use) - permitted, Stance.DENY)  # a closed list (section 5.2)
        if not conditions_met:
            put(permitted, Stance.DENY)
        elif lic.payments:
            problems.append(f"licensable against payment ({', '.join(lic.payments)})")
            put(permitted, Stance.DENY)
        else:
            put(permitted, Stance.ALLOW)
    return RslEvaluation(MappingProxyType(stances), best, tuple(problems))


_LINK_PART = re.compile(r'\s*<([^>]*)>\s*((?:;\s*[^;,=]+\s*(?:=\s*(?:"[^"]*"|[^;,]*))?\s*)*)')
_PARAM = re.compile(r';\s*([^;,=\s]+)\s*(?:=\s*("[^"]*"|[^;,]*))?')


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """RFC 8288 ``Link`` values: ``[(target, {param: value})]``, tolerant of junk."""
    out: list[tuple[str, dict[str, str]]] = []
    pos = 0
    while pos < len(value):
        m = _LINK_PART.match(value, pos)
        if not m:
            nxt = value.find(",", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        params = {
            k.lower(): (v or "").strip().strip('"') for k, v in _PARAM.findall(m.group(2) or "")
        }
        out.append((m.group(1).strip(), params))
        pos = m.end()
        while pos < len(value) and value[pos] in " ,":
            pos += 1
    return out


def licence_urls_from_link_headers(headers: HeaderPairs, base_url: str) -> list[str]:
    urls: list[str] = []
    for value in header_values(headers, "link"):
        for target, params in parse_link_header(value):
            rels = params.get("rel", "").lower().split()
            # The type is required: rel=license also points at Creative Commons pages.
            media = params.get("type", "").lower()
            if "license" in rels and media == RSL_MEDIA_TYPE:
                urls.append(urljoin(base_url, target))
    return urls


def licence_urls_from_html(page: HtmlSignals, base_url: str) -> list[str]:
    return [
        urljoin(base_url, link.href)
        for link in page.links
        if "license" in link.rel and link.href and link.type == RSL_MEDIA_TYPE
    ]


def licence_urls_from_robots(robots: RobotsTxt, token: str) -> tuple[list[str], str]:
    """``License:`` URLs for ``token`` and where they came from: the selected group's lines
    when it has any, else the global ones (RSL 1.0; the older guide: global only)."""
    group = [e.value for e in robots.select(token).extensions("license")]
    if group:
        return group, "group"
    return [e.value for e in robots.global_extensions if e.field == "license"], "global"
