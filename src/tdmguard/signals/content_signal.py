"""Cloudflare Content Signals (optout-protocols.md section 4): ``Content-Signal:`` lines in a
robots.txt group (also seen as an HTTP header and an HTML meta), ``key=yes|no`` pairs with
the keys ``search``, ``ai-input``, ``ai-train`` and the 2026 ``use=`` level."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tdmguard.signals.aipref import split_robots_rule
from tdmguard.vocab import Stance, Use, covered_uses, uses_for_label

__all__ = ["KEYS", "USE_LEVELS", "ContentSignals", "parse_content_signal"]

KEYS = frozenset({"search", "ai-input", "ai-train"})
USE_LEVELS = ("immediate", "reference", "full")  # least to most permissive


@dataclass(frozen=True, slots=True)
class ContentSignals:
    """One ``Content-Signal`` value. ``path`` is the optional leading path (several
    implementations scope signals like AIPREF does); ``use_level`` the ``use=`` value."""

    values: Mapping[str, Stance]
    use_level: str | None
    path: str | None
    problems: tuple[str, ...]

    def stances(self) -> dict[Use, Stance]:
        out: dict[Use, Stance] = {}
        for key, stance in self.values.items():
            for use in covered_uses(uses_for_label("content-signal", key)):
                if out.get(use) is not Stance.DENY:
                    out[use] = stance
        return out


def parse_content_signal(value: str) -> ContentSignals:
    """Parse one value; keys and values are read case-insensitively (with a problem when
    not lower-case, section 4.3). Never raises."""
    path, rest = split_robots_rule(value)
    values: dict[str, Stance] = {}
    problems: list[str] = []
    use_level: str | None = None
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        key, val = key.strip(), val.strip()
        if not sep:
            problems.append(f"{part[:40]!r}: not key=value, ignored")
            continue
        if key != key.lower() or val != val.lower():
            problems.append(f"{part[:40]!r}: not lower-case, read leniently")
        key, val = key.lower(), val.lower()
        if key == "use":
            if val in USE_LEVELS:
                use_level = val
            else:
                problems.append(f"use={val[:20]!r}: unknown level, ignored")
            continue
        if key not in KEYS:
            problems.append(f"{key[:40]!r}: unknown key, ignored")
            continue
        if val not in ("yes", "no"):
            problems.append(f"{key}={val[:20]!r}: value is not yes or no, ignored")
            continue
        values[key] = Stance.ALLOW if val == "yes" else Stance.DENY
    return ContentSignals(MappingProxyType(values), use_level, path, tuple(problems))
