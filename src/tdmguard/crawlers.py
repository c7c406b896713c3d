"""AI crawler product tokens (ai.robots.txt ``robots.json``), shipped as dated package data.

Shared by the readers (``signals``) and the emitters (``declare``), which are siblings, so it
sits in the bottom layer. The table is ``tdmguard/data/ai_robots.json`` (MIT, licence
beside it); refresh it with
``python scripts/refresh_ai_robots.py PATH-OR-URL-OF-robots.json`` (docs/signals.md).
Token-only agents (optout-protocols.md section 2.2) govern *use*, not crawling: another
crawler fetches for them, so their Disallow denies training and leaves search alone.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

__all__ = [
    "PURPOSE_OVERRIDES",
    "TOKEN_ONLY_CRAWLERS",
    "AgentPurpose",
    "AiAgent",
    "AiAgentTable",
    "build_agent_table",
    "load_ai_agents",
    "product_token",
]

# Token-only agents and the crawler that fetches for them (section 2.2 of the reference).
TOKEN_ONLY_CRAWLERS: Mapping[str, str] = MappingProxyType(
    {"google-extended": "Googlebot", "applebot-extended": "Applebot"}
)

_TOKEN = re.compile(r"[A-Za-z_-]+")


def product_token(value: str) -> str:
    """The product token of a user-agent line or UA string: its leading ``[A-Za-z_-]``
    characters (RFC 9309 section 2.2.1), e.g. ``MistralAI-User/1.0`` -> ``MistralAI-User``,
    ``ChatGPT Agent`` -> ``ChatGPT``."""
    m = _TOKEN.match(value.strip())
    return m.group() if m else ""


_TRAINING = re.compile(
    r"train|scrap|dataset|\bLLM\b|data provider|machine learning|crawl data", re.I
)
_SEARCH = re.compile(r"search", re.I)
_ASSIST = re.compile(r"assistant|agent|user-initiated|user prompts|retriev", re.I)


class AgentPurpose(enum.StrEnum):
    TRAINING = "training"  # collects data for model training
    SEARCH = "search"  # AI search index
    ASSISTANT = "assistant"  # user-triggered retrieval, agents
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AiAgent:
    name: str  # the key in robots.json, e.g. "MistralAI-User/1.0"
    token: str  # its RFC 9309 product token, lower-cased, e.g. "mistralai-user"
    operator: str
    function: str
    respect: str
    purpose: AgentPurpose
    token_only: bool


@dataclass(frozen=True, slots=True)
class AiAgentTable:
    source: str
    source_date: str
    agents: tuple[AiAgent, ...]
    training: frozenset[str]  # tokens of the agents that collect for training

    def by_token(self) -> Mapping[str, AiAgent]:
        return MappingProxyType({a.token: a for a in self.agents})

    def training_tokens(self) -> frozenset[str]:
        return self.training


# Entries whose ``function`` text the patterns above misread, by product token, with the
# operator's own description as the reason (ai.robots.txt writes "AI Data Providers" for
# crawlers that feed search APIs; Applebot-Extended's text names no training but Apple's
# documentation and the reference, section 2.2, say it governs foundation-model training).
PURPOSE_OVERRIDES: Mapping[str, AgentPurpose] = MappingProxyType(
    {
        "bravebot": AgentPurpose.SEARCH,  # the Brave Search crawler (its operator URL)
        "querit-searchbot": AgentPurpose.SEARCH,  # indexes for a search API
        "applebot-extended": AgentPurpose.TRAINING,  # token only: Apple model training
        "amazonbot": AgentPurpose.ASSISTANT,  # answers for Alexa users
    }
)


def _purpose(function: str, token: str = "") -> AgentPurpose:
    override = PURPOSE_OVERRIDES.get(token)
    if override is not None:
        return override
    if _TRAINING.search(function):
        return AgentPurpose.TRAINING
    if _SEARCH.search(function):
        return AgentPurpose.SEARCH
    if _ASSIST.search(function):
        return AgentPurpose.ASSISTANT
    return AgentPurpose.OTHER


def _plain(text: object) -> str:
    """robots.json values may hold Markdown links: keep their text."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", str(text)).strip()


def build_agent_table(
    robots_json: Mapping[str, object], *, source: str, source_date: str
) -> dict[str, object]:
    """The package-data document for a parsed ``robots.json`` (used by the refresh script)."""
    agents = []
    for name, info in sorted(robots_json.items(), key=lambda kv: kv[0].lower()):
        fields = info if isinstance(info, Mapping) else {}
        function = _plain(fields.get("function", ""))
        token = product_token(name).lower()
        if not token:
            continue
        agents.append(
            {
                "name": name,
                "token": token,
                "operator": _plain(fields.get("operator", "")),
                "function": function,
                "respect": _plain(fields.get("respect", "")),
                "purpose": _purpose(function, token).value,
            }
        )
    return {"source": source, "source_date": source_date, "agents": agents}


@lru_cache(maxsize=1)
def load_ai_agents() -> AiAgentTable:
    """The shipped table (read once per process)."""
    raw = resources.files("tdmguard").joinpath("data/ai_robots.json").read_text("utf-8")
    doc = json.loads(raw)
    agents = tuple(
        AiAgent(
            name=a["name"],
            token=a["token"],
            operator=a["operator"],
            function=a["function"],
            respect=a["respect"],
            purpose=PURPOSE_OVERRIDES.get(a["token"], AgentPurpose(a["purpose"])),
            token_only=a["token"] in TOKEN_ONLY_CRAWLERS,
        )
        for a in doc["agents"]
    )
    training = frozenset(a.token for a in agents if a.purpose is AgentPurpose.TRAINING)
    return AiAgentTable(doc["source"], doc["source_date"], agents, training)
