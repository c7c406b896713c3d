"""What the signal readers need from an HTML page: ``<meta name content>``, ``<link rel href
type>`` and inline ``<script type="application/rsl+xml">`` bodies. Tolerant: a broken page
gives what could be read plus a problem."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["MAX_HTML_BYTES", "HtmlLink", "HtmlMeta", "HtmlSignals", "parse_html_signals"]

# Signals live in <head>; reading more of a page costs time and memory for nothing.
MAX_HTML_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class HtmlMeta:
    name: str  # lower-cased
    content: str
    line: int


@dataclass(frozen=True, slots=True)
class HtmlLink:
    rel: frozenset[str]  # lower-cased tokens
    href: str
    type: str  # lower-cased, "" when absent
    line: int


@dataclass(frozen=True, slots=True)
class HtmlSignals:
    metas: tuple[HtmlMeta, ...]
    links: tuple[HtmlLink, ...]
    rsl_scripts: tuple[str, ...]
    problems: tuple[str, ...]

    def meta(self, name: str) -> list[HtmlMeta]:
        key = name.lower()
        return [m for m in self.metas if m.name == key]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[HtmlMeta] = []
        self.links: list[HtmlLink] = []
        self.scripts: list[str] = []
        self._in_rsl: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        line = self.getpos()[0]
        if tag == "meta" and "name" in a:
            self.metas.append(HtmlMeta(a["name"].strip().lower(), a.get("content", ""), line))
        elif tag == "link" and "rel" in a:
            rel = frozenset(t.lower() for t in a["rel"].split())
            self.links.append(
                HtmlLink(rel, a.get("href", "").strip(), a.get("type", "").strip().lower(), line)
            )
        elif tag == "script" and a.get("type", "").strip().lower() == "application/rsl+xml":
            self._in_rsl = []

    def handle_data(self, data: str) -> None:
        if self._in_rsl is not None:
            self._in_rsl.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_rsl is not None:
            self.scripts.append("".join(self._in_rsl))
            self._in_rsl = None


def parse_html_signals(data: str | bytes, *, encoding: str = "utf-8") -> HtmlSignals:
    """Read meta, link and RSL script elements. Never raises."""
    problems: list[str] = []
    if isinstance(data, bytes):
        if len(data) > MAX_HTML_BYTES:
            problems.append(f"page is {len(data)} bytes; only the first 512 KiB were read")
            data = data[:MAX_HTML_BYTES]
        text = data.decode(encoding if _known(encoding) else "utf-8", "replace")
    else:
        text = data[:MAX_HTML_BYTES]
    collector = _Collector()
    try:
        collector.feed(text)
        collector.close()
    except Exception as exc:  # html.parser may assert on some malformed markup
        problems.append(f"HTML parse stopped early: {type(exc).__name__}: {exc}"[:200])
    return HtmlSignals(
        tuple(collector.metas), tuple(collector.links), tuple(collector.scripts), tuple(problems)
    )


def _known(encoding: str) -> bool:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True
