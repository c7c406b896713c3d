"""IETF AIPREF usage preferences: the ``Content-Usage`` HTTP header (attach-05 section 2)
and robots.txt rule (attach-05 section 3), as RFC 9651 Dictionaries parsed with http-sf.

Current vocabulary (vocab-07): ``train-ai`` (training models that generate synthetic
content) and ``search``. Labels of earlier drafts (``ai``, ``tdm``, ``all``, ``bots``,
``genai``, ``train-genai``, ``inference``, ``ai-use``, ``ai-output``) are read too, with a
problem naming the draft, since deployed files still carry them (section 3.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tdmguard.vocab import Stance, Use, covered_uses, uses_for_label

__all__ = [
    "CURRENT_LABELS",
    "LEGACY_LABELS",
    "UsagePreferences",
    "combine_preferences",
    "parse_content_usage",
    "split_robots_rule",
]

CURRENT_LABELS = frozenset({"train-ai", "search"})
# label -> the draft revisions that defined it (section 3.1).
LEGACY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "tdm": "vocab-01",
        "ai": "vocab-01",
        "genai": "vocab-01",
        "inference": "vocab-01",
        "all": "vocab-02",
        "train-genai": "vocab-02/03",
        "ai-use": "vocab-02",
        "bots": "vocab-03/04",
        "ai-output": "vocab-04",
    }
)


@dataclass(frozen=True, slots=True)
class UsagePreferences:
    """One statement: label -> ``allow``/``deny`` for the labels whose value was the Token
    ``y`` or ``n``. ``parse_failed``: the bytes were not an SF Dictionary, so every category
    is unknown (vocab-07 section 3.4)."""

    labels: Mapping[str, Stance]
    parse_failed: bool
    problems: tuple[str, ...]

    def stances(self) -> dict[Use, Stance]:
        """Per use, through the crosswalk: any deny wins; else any allow; else unknown
        (section 3.3). Current labels use the current meanings."""
        out: dict[Use, Stance] = {}
        for label, stance in self.labels.items():
            protocol = "aipref" if label in CURRENT_LABELS else "aipref-legacy"
            for use in covered_uses(uses_for_label(protocol, label)):
                if out.get(use) is not Stance.DENY:
                    out[use] = stance
        return out


_EMPTY: Mapping[str, Stance] = MappingProxyType({})


def parse_content_usage(value: str | bytes) -> UsagePreferences:
    """Parse one ``Content-Usage`` value (header or robots rule preference). Never raises."""
    from http_sf import Token
    from http_sf import parse as sf_parse  # the web extra

    raw = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
    try:
        parsed = sf_parse(raw.strip(), tltype="dictionary")
    except Exception as exc:  # http-sf raises ValueError; anything else is treated alike
        return UsagePreferences(_EMPTY, True, (f"not an RFC 9651 dictionary ({exc}); all unknown",))
    if not isinstance(parsed, Mapping):
        return UsagePreferences(_EMPTY, True, ("not an RFC 9651 dictionary; all unknown",))
    labels: dict[str, Stance] = {}
    problems: list[str] = []
    for key, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        token = str(item) if isinstance(item, Token) else None
        if token not in ("y", "n"):
            if key in CURRENT_LABELS or key in LEGACY_LABELS:
                problems.append(f"{key}: value {_show(item)} is not the token y or n; unknown")
            continue
        if key not in CURRENT_LABELS and key not in LEGACY_LABELS:
            problems.append(f"{key}: unknown label, ignored")
            continue
        if key in LEGACY_LABELS:
            problems.append(f"{key}: legacy AIPREF label ({LEGACY_LABELS[key]})")
        labels[key] = Stance.ALLOW if token == "y" else Stance.DENY
    return UsagePreferences(MappingProxyType(labels), False, tuple(problems))


def _show(item: object) -> str:
    return repr(item)[:40]


def combine_preferences(prefs: Iterable[UsagePreferences]) -> dict[Use, Stance]:
    """Section 3.3: any disallow -> disallowed; otherwise any allow -> allowed."""
    out: dict[Use, Stance] = {}
    for p in prefs:
        for use, stance in p.stances().items():
            if out.get(use) is not Stance.DENY:
                out[use] = stance
    return out


def split_robots_rule(value: str) -> tuple[str | None, str]:
    """attach-05 section 3: a value starting with ``/`` holds a path up to the first SP or
    HTAB, then the preference; otherwise the whole value is the preference."""
    value = value.strip()
    if value.startswith("/"):
        for i, ch in enumerate(value):
            if ch in " \t":
                return value[:i], value[i:].strip()
        return value, ""
    return None, value
