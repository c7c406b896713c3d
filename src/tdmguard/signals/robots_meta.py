"""``noai`` / ``noimageai`` in ``X-Robots-Tag`` headers and ``<meta name="robots">``
(optout-protocols.md section 6), with user-agent-scoped forms (``X-Robots-Tag: GPTBot:
noai``, ``<meta name="GPTBot" content="noai">``). Every header instance is read; directive
names are case-insensitive."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["AI_DIRECTIVES", "RobotsDirectives", "parse_meta_robots", "parse_x_robots_tag"]

AI_DIRECTIVES = frozenset({"noai", "noimageai"})
# Directives that take a value after a colon, so "name: value" is not a user-agent scope.
_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_UA = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class RobotsDirectives:
    """``everyone``: directives for all agents; ``scoped``: lower-cased agent -> its
    directives. Directive names lower-cased; each keeps the text it came from."""

    everyone: frozenset[str]
    scoped: Mapping[str, frozenset[str]]
    sources: Mapping[str, str]  # directive (or "agent:directive") -> raw text

    def for_agent(self, agent: str) -> frozenset[str]:
        return self.everyone | self.scoped.get(agent.strip().lower(), frozenset())


def parse_x_robots_tag(values: Iterable[str]) -> RobotsDirectives:
    """Read every ``X-Robots-Tag`` instance. A leading ``token:`` (not a valued directive
    such as ``unavailable_after``) scopes the directives that follow it to that agent."""
    everyone: set[str] = set()
    scoped: dict[str, set[str]] = {}
    sources: dict[str, str] = {}
    for raw in values:
        scope: str | None = None
        head, sep, tail = raw.partition(":")
        head_l = head.strip().lower()
        if sep and _UA.fullmatch(head.strip()) and head_l not in _VALUED and "," not in head:
            scope, body = head_l, tail
        else:
            body = raw
        for item in body.split(","):
            name = item.split(":", 1)[0].strip().lower()
            if not name:
                continue
            if scope is None:
                everyone.add(name)
                sources.setdefault(name, raw.strip()[:200])
            else:
                scoped.setdefault(scope, set()).add(name)
                sources.setdefault(f"{scope}:{name}", raw.strip()[:200])
    return RobotsDirectives(
        frozenset(everyone),
        MappingProxyType({k: frozenset(v) for k, v in scoped.items()}),
        MappingProxyType(sources),
    )


def parse_meta_robots(metas: Iterable[tuple[str, str]]) -> RobotsDirectives:
    """``(name, content)`` of a page's meta elements: ``robots`` applies to every agent,
    any other name that is a product token scopes its content to that agent (the general
    robots-meta pattern, e.g. ``googlebot``). Non-robots meta names (description, ...) are
    filtered by the caller through ``for_agent``: only the asking agent's name is read."""
    everyone: set[str] = set()
    scoped: dict[str, set[str]] = {}
    sources: dict[str, str] = {}
    for name, content in metas:
        name_l = name.strip().lower()
        directives = {d.split(":", 1)[0].strip().lower() for d in content.split(",")} - {""}
        if name_l == "robots":
            everyone |= directives
            for d in directives:
                sources.setdefault(d, f'<meta name="{name}" content="{content[:150]}">')
        elif _UA.fullmatch(name_l):
            scoped.setdefault(name_l, set()).update(directives)
            for d in directives:
                sources.setdefault(
                    f"{name_l}:{d}", f'<meta name="{name}" content="{content[:150]}">'
                )
    return RobotsDirectives(
        frozenset(everyone),
        MappingProxyType({k: frozenset(v) for k, v in scoped.items()}),
        MappingProxyType(sources),
    )
