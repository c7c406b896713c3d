"""The AI crawlers the emitters name, from the shared table (:mod:`tdmguard.crawlers`).

optout-protocols.md §2.2: a raw ``User-Agent`` header must be matched against the tokens as
whole words, not substrings (``GPTBot`` must not match ``NotGPTBotX``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from tdmguard.crawlers import load_ai_agents, product_token

__all__ = [
    "AICrawler",
    "ai_crawlers",
    "crawler_in_user_agent",
    "crawler_tokens",
    "robots_user_agents",
]


@dataclass(frozen=True, slots=True)
class AICrawler:
    """One entry of the list: its key as the list writes it and what the list says it does."""

    token: str
    operator: str = ""
    function: str = ""
    respect: str = ""


@cache
def ai_crawlers() -> tuple[AICrawler, ...]:
    """Every AI crawler of the shipped list (cached per process)."""
    return tuple(AICrawler(token=a.name, operator=a.operator, function=a.function,
                           respect=a.respect) for a in load_ai_agents().agents)


def crawler_tokens() -> tuple[str, ...]:
    return tuple(c.token for c in ai_crawlers())


def robots_user_agents() -> tuple[str, ...]:
    """``User-agent`` values for robots.txt: every list key as written (readers that compare
    whole lines, such as protego) and, when it differs, its product token (RFC 9309
    readers), without duplicates, in list order."""
    out: list[str] = []
    seen: set[str] = set()
    for key in crawler_tokens():
        for value in (key, product_token(key) or key):
            if value.lower() not in seen:
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


def crawler_in_user_agent(user_agent: str) -> AICrawler | None:
    """The AI crawler named in a raw ``User-Agent`` header, or None."""
    match = _token_pattern().search(user_agent[:2048])
    if match is None:
        return None
    found = match.group(1).lower()
    for crawler in ai_crawlers():
        if crawler.token.lower() == found:
            return crawler
    return None
