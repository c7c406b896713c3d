"""Declarations and fixture paths shared by the declare, metadata, server and scan tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tdmguard.declare import DeclaredWork, HolderDeclaration
from tdmguard.vocab import Purpose, Use

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "metadata"


def example_declaration(
    uses: frozenset[Use] = frozenset({Use.TDM}),
    *,
    paths: tuple[str, ...] = ("/",),
    purposes: frozenset[Purpose] = frozenset({Purpose.COMMERCIAL}),
    base_url: str = "https://label.example",
) -> HolderDeclaration:
    return HolderDeclaration(
        holder="Example Music",
        contact_email="ai-licensing@label.example",
        licensing_url="https://label.example/ai-licensing",
        base_url=base_url,
        reserved_uses=uses,
        purposes=purposes,
        effective_from=date(2026, 1, 1),
        works=(
            DeclaredWork("awakening", "Awakening", isrc="GB-ABC-26-00001", iswc="T-345.246.800-1"),
            DeclaredWork("coffee", "Coffee (artwork)"),
        ),
        reserved_paths=paths,
    )
