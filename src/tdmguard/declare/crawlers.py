"""The AI crawler product tokens, from ai.robots.txt's ``robots.json`` (MIT; a copy ships
as package data, ``data/ai-robots.json``, with its licence).

optout-protocols.md §2.2: a raw ``User-Agent`` header must be matched against the tokens as
whole words, not substrings (``GPTBot`` must not match ``NotGPTBotX``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tdmguard.errors import InputError

__all__ = [
    "AICrawler",
    "ai_crawlers",
    "crawler_in_user_agent",
    "crawler_tokens",
    "product_token",
    "robots_user_agents",
]

_DATA = "ai-robots.json"


@dataclass(frozen=True, slots=True)
class AICrawler:
    """One entry of the list: its product token and what the list says it does."""

    token: str
    operator: str = ""
    function: str = ""
    respect: str = ""


@cache
def ai_crawlers() -> tuple[AICrawler, ...]:
    """Every AI crawler of the shipped list, in the list's order (cached per process)."""
    raw = resources.files("tdmguard.declare").joinpath("data", _DATA).read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"invalid JSON: {exc}", where=f"tdmguard/declare/data/{_DATA}") from exc
    if not isinstance(data, dict):
        raise InputError(
            "expected an object keyed by token", where=f"tdmguard/declare/data/{_DATA}"
        )
    out = []
    for token, info in data.items():
        info = info if isinstance(info, dict) else {}
        out.append(
            AICrawler(
                token=str(token),
                operator=str(info.get("operator", "")),
                function=str(info.get("function", "")),
                respect=str(info.get("respect", "")),
            )
        )
    return tuple(out)


def crawler_tokens() -> tuple[str, ...]:
    return tuple(c.token for c in ai_crawlers())


_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")


def product_token(key: str) -> str:
    """The RFC 9309 §2.2.1 product token of a list key: its leading ``[A-Za-z_-]+`` run, as
    Google's parser reads a ``User-agent`` value (``MistralAI-User/1.0`` -> ``MistralAI-User``,
    ``ChatGPT Agent`` -> ``ChatGPT``)."""
    match = _PRODUCT_TOKEN.match(key)
    return match.group(0) if match else key


def robots_user_agents() -> tuple[str, ...]:
    """``User-agent`` values for robots.txt: every list key as written (readers that compare
    whole lines, such as protego) and, when it differs, its product token (RFC 9309
    readers), without duplicates, in list order."""
    out: list[str] = []
    seen: set[str] = set()
    for key in crawler_tokens():
        for value in (key, product_token(key)):
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
