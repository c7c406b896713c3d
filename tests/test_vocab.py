from __future__ import annotations

from tdmguard.vocab import (
    CROSSWALK,
    Evidence,
    Match,
    Modality,
    Stance,
    Use,
    Verdict,
    covered_uses,
    merge_verdicts,
    uses_for_label,
)


def test_coverage() -> None:
    assert covered_uses([Use.TDM]) == frozenset(Use)
    assert covered_uses([Use.AI_TRAIN]) == {Use.AI_TRAIN, Use.GENAI_TRAIN}
    assert covered_uses([Use.GENAI_TRAIN]) == {Use.GENAI_TRAIN}


def test_crosswalk_follows_section_0_2() -> None:
    # Current AIPREF train-ai only reaches generative training (optout-protocols.md 0.2).
    assert uses_for_label("aipref", "train-ai") == {Use.GENAI_TRAIN}
    assert uses_for_label("aipref-legacy", "train-ai") == {Use.AI_TRAIN}
    assert uses_for_label("content-signal", "ai-train") == {Use.AI_TRAIN}
    assert uses_for_label("iptc", "DMI-PROHIBITED") == {Use.TDM}
    assert uses_for_label("cawg", "ai_generative_training") == {Use.GENAI_TRAIN}
    assert uses_for_label("tdmrep", "1") == {Use.TDM}
    assert uses_for_label("rsl", "unknown-token") == frozenset()
    assert all(k[1] == k[1].lower() for k in CROSSWALK)


def test_merge_any_deny_wins_and_disagreements_reported() -> None:
    a = Verdict("robots.txt", {Use.AI_TRAIN: Stance.DENY}, (Evidence("robots.txt", "u"),))
    b = Verdict("content-signal", {Use.AI_TRAIN: Stance.ALLOW, Use.SEARCH: Stance.ALLOW})
    merged = merge_verdicts([a, b])
    assert merged.stances[Use.AI_TRAIN] is Stance.DENY
    assert merged.stances[Use.SEARCH] is Stance.ALLOW
    assert merged.stances[Use.TDM] is Stance.UNKNOWN  # no signal is unknown, never allow
    assert merged.disagreements == (
        "ai-train: denied by robots.txt; allowed by content-signal",)


def test_match_json_names_units() -> None:
    audio = Match("w", Modality.AUDIO, 0.91234, 1.5, 11.5, 30.0, 40.0, 1.05, 1.05).to_json()
    assert audio["query_start_s"] == 1.5 and audio["ref_end_s"] == 40
    assert audio["time_factor"] == 1.05
    lyrics = Match("w", Modality.LYRICS, 0.8, 100, 250, 3, 6).to_json()
    assert lyrics["query_start_char"] == 100 and lyrics["ref_end_line"] == 6
    assert "time_factor" not in lyrics
    assert "query_start" not in str(Match("w", Modality.IMAGE, 1.0).to_json())
