"""CAWG / C2PA training-mining: vectors of optout-protocols.md §8.2 and real signed files."""

from __future__ import annotations

from typing import Any

import pytest

from tdmguard.signals.metadata import read_embedded, training_mining_verdicts
from tdmguard.vocab import Stance, Use
from tests.declare.examples import CORPUS


def store(
    label: str, data: Any, *, state: str = "Trusted", active: str = "urn:a", urn: str = "urn:a"
) -> dict[str, Any]:
    return {
        "active_manifest": active,
        "manifests": {urn: {"assertions": [{"label": label, "data": data}]}},
        "validation_state": state,
    }


def stances(s: dict[str, Any]) -> tuple[dict[Use, Stance], tuple[str, ...]]:
    verdicts, problems = training_mining_verdicts(s, locator="f")
    out: dict[Use, Stance] = {}
    for v in verdicts:
        out.update(v.stances)
    return out, problems


def test_genai_training_not_allowed() -> None:
    got, _ = stances(
        store(
            "cawg.training-mining",
            {"entries": {"cawg.ai_generative_training": {"use": "notAllowed"}}},
        )
    )
    assert got == {Use.GENAI_TRAIN: Stance.DENY}


def test_constrained_is_not_allowed() -> None:
    data = {
        "entries": {
            "cawg.data_mining": {"use": "constrained", "constraint_info": "licence: ai@l.example"}
        }
    }
    got, _ = stances(store("cawg.training-mining", data))
    assert got == {u: Stance.DENY for u in Use}


def test_legacy_label_with_version_suffix_and_bare_entries_map() -> None:
    got, _ = stances(store("c2pa.training-mining.v2", {"c2pa.ai_training": {"use": "notAllowed"}}))
    assert got == {Use.AI_TRAIN: Stance.DENY, Use.GENAI_TRAIN: Stance.DENY}


def test_mixed_prefixes_are_read_with_a_warning() -> None:
    got, problems = stances(
        store("cawg.training-mining", {"entries": {"c2pa.ai_inference": {"use": "notAllowed"}}})
    )
    assert got == {Use.AI_INPUT: Stance.DENY}
    assert any("prefix" in p for p in problems)


def test_unverified_manifest_keeps_restrictions_but_not_permissions() -> None:
    data = {
        "entries": {
            "cawg.ai_training": {"use": "notAllowed"},
            "cawg.ai_inference": {"use": "allowed"},
        }
    }
    got, problems = stances(store("cawg.training-mining", data, state="Invalid"))
    assert got[Use.AI_TRAIN] is Stance.DENY and Use.AI_INPUT not in got
    assert any("not verified" in p for p in problems)
    trusted, _ = stances(store("cawg.training-mining", data, state="Trusted"))
    assert trusted[Use.AI_INPUT] is Stance.ALLOW


def test_ingredient_restriction_is_reported_not_applied() -> None:
    s = store(
        "cawg.training-mining",
        {"entries": {"cawg.ai_training": {"use": "notAllowed"}}},
        active="urn:top",
        urn="urn:ingredient",
    )
    got, problems = stances(s)
    assert got == {}
    assert any("non-active" in p for p in problems)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "x",
        [],
        {"entries": {"cawg.ai_training": "no"}},
        {"entries": {"cawg.ai_training": {"use": "maybe"}}},
    ],
)
def test_malformed_assertions_give_problems(data: Any) -> None:
    got, problems = stances(store("cawg.training-mining", data))
    assert got == {}
    assert problems


def test_real_signed_jpeg_with_cawg_assertion() -> None:
    pytest.importorskip("c2pa")
    reading = read_embedded(CORPUS / "coffee-c2pa-cawg.jpg")
    (verdict,) = [v for v in reading.verdicts if v.source.startswith("c2pa:")]
    assert verdict.source == "c2pa:cawg.training-mining"
    assert all(verdict.stance(u) is Stance.DENY for u in Use)  # data_mining constrained
    assert any("signingCredential.untrusted" in p for p in reading.problems)


def test_real_signed_mp3_with_legacy_label_ignores_untrusted_allowed() -> None:
    pytest.importorskip("c2pa")
    reading = read_embedded(CORPUS / "awakening-c2pa-legacy.mp3")
    (verdict,) = [v for v in reading.verdicts if v.source.startswith("c2pa:")]
    assert verdict.source == "c2pa:c2pa.training-mining"
    assert verdict.stance(Use.AI_TRAIN) is Stance.DENY
    assert verdict.stance(Use.AI_INPUT) is Stance.UNKNOWN  # "allowed", but the signer is untrusted


def test_truncated_c2pa_file_gives_problems(tmp_path: Any) -> None:
    pytest.importorskip("c2pa")
    data = (CORPUS / "coffee-c2pa-cawg.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    reading = read_embedded(path)
    assert not [v for v in reading.verdicts if v.source.startswith("c2pa:")]
