from __future__ import annotations

import json
from pathlib import Path

from tdmguard.crawlers import AgentPurpose, build_agent_table, load_ai_agents

SHARED_JSON = Path(__file__).resolve().parents[2].parent / "shared/data/ai-robots-txt/robots.json"


def test_shipped_table_is_dated_and_complete() -> None:
    table = load_ai_agents()
    assert table.source_date == "2026-08-22" and "738c80d" in table.source
    assert len(table.agents) == 166
    by = table.by_token()
    assert by["gptbot"].purpose is AgentPurpose.TRAINING
    assert by["google-extended"].token_only and by["applebot-extended"].token_only
    assert by["mistralai-user"].name == "MistralAI-User/1.0"
    assert {"gptbot", "ccbot", "claudebot", "bytespider"} <= table.training_tokens()


def test_shipped_table_matches_the_refresh_of_the_pinned_source() -> None:
    if not SHARED_JSON.is_file():
        return
    doc = build_agent_table(
        json.loads(SHARED_JSON.read_text("utf-8")),
        source=load_ai_agents().source,
        source_date="2026-08-22",
    )
    shipped = json.loads(
        (
            Path(__file__).resolve().parents[2] / "src/tdmguard/data/ai_robots.json"
        ).read_text("utf-8")
    )
    assert doc == shipped
