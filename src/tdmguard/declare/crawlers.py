"""The AI crawlers the emitters name, from the shared table (:mod:`tdmguard.crawlers`).

optout-protocols.md §2.2: a raw ``User-Agent`` header must be matched against the tokens as
whole words, not substrings (``GPTBot`` must not match ``NotGPTBotX``).

Each crawler serves the uses of its category in the list (``AgentPurpose``), and a
reservation blocks exactly the crawlers whose uses it reserves: an ``ai-train`` reservation
turns training crawlers away and leaves AI search crawlers (OAI-SearchBot, Applebot,
Bravebot) and assistants alone, so the holder keeps the search visibility it did not give up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from tdmguard.crawlers import AgentPurpose, load_ai_agents, product_token
from tdmguard.vocab import Use, covered_uses

__all__ = [
    "PURPOSE_USES",
    "AICrawler",
    "ai_crawlers",
    "crawler_in_user_agent",
    "crawler_tokens",
    "crawlers_for_uses",
    "crawlers_in_user_agent",
    "robots_user_agents",
]

# What a crawler of each category collects for. "other" (the list gives no clear purpose:
# Alexa-like answers, data resold) is read as both training and AI input, never as search,
# so an unclear collector is blocked by any AI reservation and a search-only one spares it.
PURPOSE_USES = MappingProxyType(
    {
        AgentPurpose.TRAINING: frozenset({Use.AI_TRAIN, Use.GENAI_TRAIN}),
        AgentPurpose.SEARCH: frozenset({Use.SEARCH}),
        AgentPurpose.ASSISTANT: frozenset({Use.AI_INPUT}),
        AgentPurpose.OTHER: frozenset({Use.AI_TRAIN, Use.GENAI_TRAIN, Use.AI_INPUT}),
    }
)


@dataclass(frozen=True, slots=True)
class AICrawler:
    """One entry of the list: its key as the list writes it and what the list says it does."""

    token: str
    operator: str = ""
    function: str = ""
    respect: str = ""
    purpose: AgentPurpose = AgentPurpose.OTHER

    @property
    def uses(self) -> frozenset[Use]:
        """The uses this crawler collects for (``PURPOSE_USES``)."""
        return PURPOSE_USES[self.purpose]

    def reserved_by(self, reserved_uses: Iterable[Use]) -> bool:
        """True when a reservation of ``reserved_uses`` covers what this crawler collects."""
        return bool(self.uses & covered_uses(reserved_uses))


@cache
def ai_crawlers() -> tuple[AICrawler, ...]:
    """Every AI crawler of the shipped list (cached per process)."""
    return tuple(
        AICrawler(
            token=a.name, operator=a.operator, function=a.function, respect=a.respect,
            purpose=a.purpose,
        )
        for a in load_ai_agents().agents
    )  # fmt: skip


def crawler_tokens() -> tuple[str, ...]:
    return tuple(c.token for c in ai_crawlers())


def crawlers_for_uses(reserved_uses: Iterable[Use]) -> tuple[AICrawler, ...]:
    """The crawlers a reservation of ``reserved_uses`` blocks, in list order."""
    uses = frozenset(reserved_uses)
    return tuple(c for c in ai_crawlers() if c.reserved_by(uses))


def robots_user_agents(reserved_uses: Iterable[Use] = (Use.TDM,)) -> tuple[str, ...]:
    """``User-agent`` values for robots.txt: every key of a crawler the reservation blocks as
    written (readers that compare whole lines, such as protego) and, when it differs, its
    product token (RFC 9309 readers), without duplicates, in list order.

    A product token shared by crawlers of different categories (``AI2Bot`` training and
    ``AI2Bot-DeepResearchEval`` an assistant both read as ``ai``) is written when any crawler
    behind it is blocked (the reservation fails closed), unless a search crawler the
    reservation spares reads as the same token: search visibility is never lost through
    another crawler's token."""
    blocked = crawlers_for_uses(reserved_uses)
    spared = {
        (product_token(c.token) or c.token).lower()
        for c in ai_crawlers()
        if c not in blocked and c.purpose is AgentPurpose.SEARCH
    }
    out: list[str] = []
    seen: set[str] = set()
    for crawler in blocked:
        key = crawler.token
        for value in (key, product_token(key) or key):
            if value.lower() not in seen and (value == key or value.lower() not in spared):
                seen.add(value.lower())
                out.append(value)
    return tuple(out)


@cache
def _token_pattern() -> re.Pattern[str]:
    # Longest first, so "Claude-SearchBot" wins over "ClaudeBot"-like prefixes; whole words
    # only ("\b" does not fit tokens ending in "." or "/", hence the look-arounds).
    tokens = sorted(crawler_tokens(), key=len, reverse=True)
    alternatives = "|".join(re.escape(t) for t in tokens)
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])", re.IGNORECASE)


_MAX_UA_CHARS = 2048
# Contact URLs in a user agent ("+https://openai.com/searchbot") are not crawler names: the
# "OpenAI" entry of the list must not match OAI-SearchBot's URL.
_URL = re.compile(r"\+?\b(?:https?://|www\.)[^\s;()]*", re.IGNORECASE)


def crawlers_in_user_agent(user_agent: str) -> tuple[AICrawler, ...]:
    """Every AI crawler named in a raw ``User-Agent`` header (first 2,048 characters), in
    the order they appear; a header naming two crawlers is judged by all of them."""
    found: list[AICrawler] = []
    by_key: dict[str, list[AICrawler]] = {}
    for crawler in ai_crawlers():
        by_key.setdefault(crawler.token.lower(), []).append(crawler)
    for match in _token_pattern().finditer(_URL.sub(" ", user_agent[:_MAX_UA_CHARS])):
        for crawler in by_key.get(match.group(1).lower(), []):
            if crawler not in found:
                found.append(crawler)
    return tuple(found)


def crawler_in_user_agent(user_agent: str) -> AICrawler | None:
    """The first AI crawler named in a raw ``User-Agent`` header, or None."""
    found = crawlers_in_user_agent(user_agent)
    return found[0] if found else None
