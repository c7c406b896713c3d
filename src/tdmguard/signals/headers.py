"""HTTP header access for the signal parsers: names compared case-insensitively and every
repeated instance kept (optout-protocols.md section 13, item 4: datadiligence loses both)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["HeaderPairs", "as_pairs", "header_values"]

HeaderPairs = Sequence[tuple[str, str]]
"""Response headers in arrival order, one pair per instance (``httpx.Headers.multi_items()``)."""


def as_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Normalise a mapping or an iterable of pairs into a tuple of ``(name, value)``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), str(v)) for k, v in items)


def header_values(headers: HeaderPairs, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in order."""
    key = name.lower()
    return [v for k, v in headers if k.lower() == key]
