"""The audio sample data shipped for ``tdmguard demo`` matches as NOTICE.audio.md promises."""

from __future__ import annotations

from pathlib import Path

import pytest

import tdmguard
from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.index.hash_index import HashIndex, SegmentWriter

DEMO = Path(tdmguard.__file__).parent / "demo" / "data" / "audio"


@pytest.fixture(scope="module")
def demo_index(engine: AudioFingerprinter, tmp_path_factory: pytest.TempPathFactory) -> HashIndex:
    folder = tmp_path_factory.mktemp("demo-audio")
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = SegmentWriter(engine.aux_width)
    for path in sorted(DEMO.glob("ref-*.ogg")):
        fp = engine.extract(path)
        writer.add(path.stem.removeprefix("ref-"), fp.keys, fp.aux, fp.meta)
    HashIndex.append_segment(folder, writer)
    return HashIndex.open(folder)


@pytest.mark.parametrize(
    ("query", "work", "time_factor", "pitch_factor"),
    [
        ("query-awakening-speed105-noise15db.ogg", "awakening", 1.05, 1.05),
        ("query-nebula-pitch-up-2st.ogg", "nebula", 1.0, 2 ** (2 / 12)),
        ("query-chaos-god-tempo94.ogg", "chaos-god", 0.94, 1.0),
    ],
)
def test_distorted_queries_find_their_reference(
    engine: AudioFingerprinter,
    demo_index: HashIndex,
    query: str,
    work: str,
    time_factor: float,
    pitch_factor: float,
) -> None:
    matches = engine.match(engine.extract(DEMO / query), demo_index)
    assert [m.work_id for m in matches] == [work]
    assert matches[0].time_factor == pytest.approx(time_factor, rel=0.01)
    assert matches[0].pitch_factor == pytest.approx(pitch_factor, rel=0.015)


def test_unregistered_clip_matches_nothing(
    engine: AudioFingerprinter, demo_index: HashIndex
) -> None:
    assert engine.match(engine.extract(DEMO / "unregistered-armygeddon.ogg"), demo_index) == []
