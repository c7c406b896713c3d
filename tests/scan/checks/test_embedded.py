from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from tdmguard.declare import StampFields, stamp_file
from tdmguard.scan.checks import CHECK_FACTORIES, CheckContext, load_factory
from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import Stance, Use
from tests.declare.examples import CORPUS, example_declaration

pytest.importorskip("mutagen")


def _context(**options: str) -> CheckContext:
    return CheckContext(
        index_dir=Path("."), use=Use.AI_TRAIN, at=date(2026, 6, 1), actor="t", options=options
    )


def test_registered_and_built_by_its_factory() -> None:
    assert CHECK_FACTORIES["embedded-signals"] == "tdmguard.scan.checks.embedded:make_check"
    check = load_factory("embedded-signals")(_context())
    assert check is not None and check.name == "embedded-signals"
    assert check.media == frozenset({MediaKind.AUDIO, MediaKind.IMAGE})


def test_stamped_file_is_denied_unstamped_is_silent(tmp_path: Path) -> None:
    stamped = tmp_path / "stamped.ogg"
    shutil.copyfile(CORPUS / "awakening-excerpt.ogg", stamped)
    stamp_file(stamped, StampFields.from_declaration(example_declaration()))
    check = load_factory("embedded-signals")(_context(c2pa="0"))
    assert check is not None
    outcome = check.evaluate(Record("a", MediaKind.AUDIO, path=stamped))
    assert [v.stance(Use.AI_TRAIN) for v in outcome.verdicts] == [Stance.DENY]
    clean = check.evaluate(Record("b", MediaKind.AUDIO, path=CORPUS / "awakening-excerpt.ogg"))
    assert clean.verdicts == () and clean.problems == ()
    text = check.evaluate(Record("c", MediaKind.TEXT, text="lyrics"))
    assert text.verdicts == ()


def test_truncated_record_gives_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((CORPUS / "coffee-small.jpg").read_bytes()[:30])
    check = load_factory("embedded-signals")(_context())
    assert check is not None
    outcome = check.evaluate(Record("x", MediaKind.IMAGE, path=broken))
    assert outcome.verdicts == () and outcome.problems


def test_c2pa_verdicts_reach_the_scan() -> None:
    pytest.importorskip("c2pa")
    check = load_factory("embedded-signals")(_context())
    assert check is not None
    outcome = check.evaluate(Record("x", MediaKind.IMAGE, path=CORPUS / "coffee-c2pa-cawg.jpg"))
    assert any(v.source == "c2pa:cawg.training-mining" for v in outcome.verdicts)
