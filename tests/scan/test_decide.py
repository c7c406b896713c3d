"""The decision step and graded match confidence: a content match the engine rates as thin
evidence (``detail["confidence"] == "review"``) sends a record to review, never to exclude;
end to end through a real scan (real lyrics engine, index and registry) and on the step."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tdmguard.policy import PolicyFacts, Reservation
from tdmguard.scan.checks.base import CheckOutcome
from tdmguard.scan.decide import DecisionSettings, RegistryView, WorkRef, decide_record
from tdmguard.scan.record import MediaKind, Record
from tdmguard.scan.runner import run_scan
from tdmguard.vocab import DecisionKind, Match, Modality, Purpose, Use
from tests.scan.conftest import ESSAY, JEANIE, LyricsWorld


def _rows(out: Path) -> dict[str, dict[str, object]]:
    rows = {}
    for name in ("kept", "excluded", "review", "errors"):
        for line in (out / f"{name}.jsonl").read_text("utf-8").splitlines():
            row = json.loads(line)
            rows[str(row["id"])] = row
    return rows


def test_scan_reviews_a_thin_lyric_overlap_and_excludes_a_quote(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    # words of two lines of the reserved lyric scattered thinly over an essay
    (ds / "thin.txt").write_text(ESSAY + "\nthe bright streams play.\n" + ESSAY[:200] +
                                 "\nHappy as the daisies that\n" + ESSAY, "utf-8")
    (ds / "quote.txt").write_text(ESSAY + "\n" + "\n".join(JEANIE.splitlines()[:3]) + "\n",
                                  "utf-8")
    (ds / "essay.txt").write_text(ESSAY, "utf-8")
    out = tmp_path / "out"
    report = run_scan(lyrics_world.job(ds, out))
    rows = _rows(out)
    thin = rows["thin.txt"]
    assert thin["decision"] == "review"
    codes = [r["code"] for r in thin["reasons"]]  # type: ignore[union-attr]
    assert "match-needs-review" in codes and "reserved-holder-wide" in codes
    match = thin["matches"][0]  # type: ignore[index]
    assert match["confidence"] == "review" and match["words"] == 9.0
    assert match["lines"] == 2 and match["lines_matched"] == 2
    assert match["score"] < 1
    quote = rows["quote.txt"]
    assert quote["decision"] == "exclude"
    assert quote["matches"][0]["confidence"] == "confident"  # type: ignore[index]
    assert "match-needs-review" not in [r["code"] for r in quote["reasons"]]  # type: ignore[union-attr]
    assert rows["essay.txt"]["decision"] == "keep"
    assert report["counts"] == {"kept": 1, "excluded": 1, "review": 1, "errors": 0}


def _decide(matches: list[Match], reserved: bool) -> DecisionKind:
    facts = PolicyFacts("Aurora", reservations=(Reservation(
        id=1, holder="Aurora", uses=frozenset({Use.TDM}), effective_from=date(2025, 1, 1)),)
        if reserved else ())
    view = RegistryView(works={"W1": WorkRef("Aurora", "Song")}, facts={"Aurora": facts},
                        digest="d")
    settings = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor="AI",
                                at=date(2026, 1, 1))
    record = Record(id="r", media=MediaKind.TEXT, text="x")
    decision, _ = decide_record(record, [CheckOutcome(matches=tuple(matches))], view, settings)
    return decision.kind


def test_review_level_match_caps_the_decision_at_review() -> None:
    review = Match("W1", Modality.LYRICS, 0.4, detail={"confidence": "review"})
    sure = Match("W1", Modality.LYRICS, 1.0, detail={"confidence": "confident"})
    plain = Match("W1", Modality.IMAGE, 1.0)  # engines without grading: as before
    assert _decide([review], reserved=True) is DecisionKind.REVIEW
    assert _decide([sure], reserved=True) is DecisionKind.EXCLUDE
    assert _decide([plain], reserved=True) is DecisionKind.EXCLUDE
    # a work nobody reserved stays kept whatever the confidence
    assert _decide([review], reserved=False) is DecisionKind.KEEP
