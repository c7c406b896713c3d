"""Melody engine: real scores (the demo's music21-corpus samples and an Essen ABC collection
as distractors), generated transpositions, tempo changes and note edits, and bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest

import tdmguard
from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import get_engine
from tdmguard.fingerprint.melody import (
    BackgroundTable,
    MelodyFingerprinter,
    NoteLine,
    default_background,
    read_note_lines,
)
from tdmguard.fingerprint.melody import notes as notes_module
from tdmguard.fingerprint.melody.alignment import smith_waterman
from tdmguard.fingerprint.melody.encoding import (
    interval_keys,
    is_interval_key,
    ngram_keys,
    tokens,
)
from tdmguard.fingerprint.melody.notes import lines_from_music21, write_midi
from tdmguard.index import HashIndex, SegmentWriter
from tdmguard.vocab import Modality

DATA = Path(tdmguard.__file__).parent / "demo" / "data" / "melody"
REGISTERED = ("bach-bwv66.6.mxl", "foster-jeanie.mid", "essen-altdeu10-3.musicxml")


@pytest.fixture(scope="module")
def engine() -> MelodyFingerprinter:
    return MelodyFingerprinter()


@pytest.fixture(scope="module")
def ref_lines() -> dict[str, list[NoteLine]]:
    return {name: read_note_lines(DATA / name) for name in REGISTERED}


@pytest.fixture(scope="module")
def index(
    engine: MelodyFingerprinter, ref_lines: dict[str, list[NoteLine]],
    tmp_path_factory: pytest.TempPathFactory,
) -> HashIndex:
    """The three demo references plus 107 real Essen ballads as distractors."""
    from music21 import converter, corpus

    folder = tmp_path_factory.mktemp("melody-index")
    writer = SegmentWriter(engine.aux_width)
    for name in REGISTERED:
        fp = engine.extract(DATA / name)
        writer.add(name, fp.keys, fp.aux, dict(fp.meta))
    opus = converter.parse(str(corpus.getWork("ballad10.abc")), forceSource=True)
    for number, score in enumerate(opus.scores, start=1):
        fp = engine.fingerprint_lines(lines_from_music21(score))
        writer.add(f"ballad10#{number}", fp.keys, fp.aux, dict(fp.meta))
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    HashIndex.append_segment(folder, writer)
    return HashIndex.open(folder)


def _excerpt(line: NoteLine, start: int, count: int, *, shift: int, tempo: float) -> NoteLine:
    sl = slice(start, start + count)
    onsets = (line.onsets_q[sl] - line.onsets_q[start]) * tempo
    return NoteLine("q", onsets, (line.pitches[sl] + shift).astype(np.int16),
                    line.durations_q[sl] * tempo)


def _edit(line: NoteLine, rng: np.random.Generator, edits: int) -> NoteLine:
    on, pi, du = list(line.onsets_q), [int(p) for p in line.pitches], list(line.durations_q)
    for k in range(edits):
        i = int(rng.integers(2, len(on) - 2))
        if k % 3 == 0:
            pi[i] += 2
        elif k % 3 == 1:
            del on[i], pi[i], du[i]
        else:
            half = (on[i + 1] - on[i]) / 2
            on.insert(i + 1, on[i] + half)
            pi.insert(i + 1, pi[i] - 1)
            du[i] = half
            du.insert(i + 1, half)
    return NoteLine("q", np.asarray(on), np.asarray(pi, dtype=np.int16), np.asarray(du))


def _query_file(tmp_path: Path, line: NoteLine, bpm: float) -> Path:
    path = tmp_path / f"q-{bpm}.mid"
    write_midi(path, [line], bpm=bpm)
    return path


def test_engine_contract(engine: MelodyFingerprinter) -> None:
    got = get_engine(Modality.MELODY)
    assert isinstance(got, MelodyFingerprinter)
    assert got.modality is Modality.MELODY and got.engine.startswith("melody-")
    fp = engine.extract(DATA / "foster-jeanie.mid")
    assert fp.keys.dtype == np.uint64 and fp.aux.shape == (len(fp), engine.aux_width)
    back = Fingerprint.from_bytes(fp.to_bytes())
    assert np.array_equal(back.keys, fp.keys) and np.array_equal(back.aux, fp.aux)
    with pytest.raises(InputError):
        engine.extract_text("la la", where="x")


def test_tokens_invariant_to_transposition_and_tempo(
    ref_lines: dict[str, list[NoteLine]],
) -> None:
    line = ref_lines["foster-jeanie.mid"][0]
    moved = _excerpt(line, 0, len(line), shift=-7, tempo=2.0)
    assert np.array_equal(tokens(line), tokens(moved))
    assert np.array_equal(ngram_keys(tokens(line)), ngram_keys(tokens(moved)))


@pytest.mark.parametrize("name", REGISTERED)
@pytest.mark.parametrize(("shift", "tempo", "bpm"), [(5, 0.5, 140.0), (-3, 2.0, 60.0)])
def test_transposed_tempo_scaled_excerpt_is_identified(
    engine: MelodyFingerprinter, index: HashIndex, ref_lines: dict[str, list[NoteLine]],
    tmp_path: Path, name: str, shift: int, tempo: float, bpm: float,
) -> None:
    line = ref_lines[name][0]
    start = 6
    count = min(20, len(line) - start)
    path = _query_file(tmp_path, _excerpt(line, start, count, shift=shift, tempo=tempo), bpm)
    matches = engine.match(engine.extract(path), index)
    assert matches, "no match"
    top = matches[0]
    assert top.work_id == name and top.modality is Modality.MELODY
    assert 0.5 <= top.score <= 1.0
    # the whole excerpt is aligned, at the right place of the reference
    assert top.query_start <= 1 and top.query_end >= count - 1
    assert abs(top.ref_start - start - top.query_start) <= 1
    assert top.detail["ref_line"] == 0
    assert all(m.work_id != name for m in matches[1:])


@pytest.mark.parametrize("edits", [1, 2])
def test_excerpt_with_note_edits_is_identified(
    engine: MelodyFingerprinter, index: HashIndex, ref_lines: dict[str, list[NoteLine]],
    edits: int,
) -> None:
    rng = np.random.default_rng(edits)
    found = 0
    for name in ("foster-jeanie.mid", "bach-bwv66.6.mxl"):
        line = ref_lines[name][0]
        for start in (0, 8, 16):
            q = _edit(_excerpt(line, start, 20, shift=4, tempo=1.5), rng, edits)
            ranked = engine.rank(engine.fingerprint_lines([q]), index)
            found += bool(ranked) and ranked[0].work_id == name
    assert found == 6


@pytest.mark.parametrize("edits", [1, 2])
def test_edited_excerpt_is_reported_at_the_shipped_decision(
    engine: MelodyFingerprinter, index: HashIndex, ref_lines: dict[str, list[NoteLine]],
    edits: int,
) -> None:
    # issue 14: 16-note excerpts with up to 2 edits are *matched*, not only ranked first;
    # the per-query significance carries those the absolute raw-score rule misses
    rng = np.random.default_rng(10 + edits)
    by_significance = 0
    for name in ("foster-jeanie.mid", "bach-bwv66.6.mxl"):
        line = ref_lines[name][0]
        for start in (0, 8, 16):
            q = _edit(_excerpt(line, start, 16, shift=-2, tempo=0.5), rng, edits)
            ranked = engine.rank(engine.fingerprint_lines([q]), index)
            assert ranked and ranked[0].work_id == name
            top = ranked[0]
            assert engine.decide(top) >= 0.5, (name, start, top)
            by_significance += engine.calibrated(top.raw, top.query_tokens) < 0.5
            assert top.raw <= top.self_max + 1e-9
            matches = engine.match(engine.fingerprint_lines([q]), index)
            assert matches[0].work_id == name and matches[0].detail["significance"] > 0.5
    if edits == 2:
        assert by_significance >= 1  # the raw rule alone would have missed these


def test_exact_token_score_counts_only_equal_tokens(
    index: HashIndex, ref_lines: dict[str, list[NoteLine]],
) -> None:
    # issue 14: the exact-token alignment credits tokens equal in interval and rhythm only:
    # an unedited excerpt scores its raw alignment, an edited one less (its partial credits
    # are left out), and the significance adds ``exact_weight`` times its share
    from dataclasses import replace

    from tdmguard.fingerprint.melody import MelodySettings

    measuring = MelodyFingerprinter(replace(MelodySettings(), exact_always=True))
    line = ref_lines["foster-jeanie.mid"][0]
    plain = _excerpt(line, 8, 16, shift=3, tempo=1.0)
    top = measuring.rank(measuring.fingerprint_lines([plain]), index)[0]
    assert top.work_id == "foster-jeanie.mid"
    assert top.exact == pytest.approx(top.raw, abs=1e-6)
    edited = plain.pitches.copy()
    edited[5] += 1  # one note substituted: two tokens change
    q = NoteLine("q", plain.onsets_q, edited, plain.durations_q)
    top = measuring.rank(measuring.fingerprint_lines([q]), index)[0]
    assert top.work_id == "foster-jeanie.mid" and 0 < top.exact < top.raw
    weighted = MelodyFingerprinter(replace(MelodySettings(), exact_weight=0.5,
                                           vote_share_weight=0.0))
    got = weighted.rank(weighted.fingerprint_lines([q]), index)[0]
    assert got.exact == pytest.approx(top.exact)
    lead = 0.0
    if got.others >= weighted.settings.significance_others:
        lead = weighted.settings.significance_margin * max(0.0, got.raw - got.runner_up)
    assert weighted.significance(got) == pytest.approx(
        (got.raw + lead + 0.5 * got.exact) / got.self_max)
    # at weight 0 the shipped engine need not compute it
    unweighted = MelodyFingerprinter(replace(MelodySettings(), exact_weight=0.0))
    assert unweighted.rank(unweighted.fingerprint_lines([q]), index)[0].exact == 0.0


def test_significance_needs_other_candidates_for_the_margin(
    engine: MelodyFingerprinter,
) -> None:
    from tdmguard.fingerprint.melody import MelodyCandidate

    lone = MelodyCandidate(0, "w", 12.0, 30.0, 0, 0, 0, 16, 0, 16, 15, self_max=20.0,
                           runner_up=0.0, others=0)
    crowd = MelodyCandidate(0, "w", 12.0, 30.0, 0, 0, 0, 16, 0, 16, 15, self_max=20.0,
                            runner_up=4.0, others=5)
    assert engine.significance(lone) == pytest.approx(0.6)  # the share alone
    margin = engine.settings.significance_margin
    assert engine.significance(crowd) == pytest.approx((12 + margin * 8) / 20)
    assert engine.decide(lone) < 0.5 < engine.decide(
        MelodyCandidate(0, "w", 16.0, 30.0, 0, 0, 0, 16, 0, 16, 15, self_max=20.0))
    # under the floor the share does not count, however high
    tiny = MelodyCandidate(0, "w", 6.0, 9.0, 0, 0, 0, 8, 0, 8, 7, self_max=6.0)
    assert engine.decide(tiny) < 0.5


def test_rhythm_free_keys_find_another_rhythm_of_the_tune(
    engine: MelodyFingerprinter, index: HashIndex, ref_lines: dict[str, list[NoteLine]],
) -> None:
    # issue 14: another setting of the tune with other note values (re-barred): the
    # interval/rhythm n-grams change, the interval keys do not
    line = ref_lines["bach-bwv66.6.mxl"][0]
    rng = np.random.default_rng(3)
    ioi = rng.choice([0.5, 1.0, 1.5, 2.0], len(line))
    other = NoteLine("q", np.concatenate(([0.0], np.cumsum(ioi[:-1]))),
                     (line.pitches + 3).astype(np.int16), ioi.copy())
    assert not np.intersect1d(ngram_keys(tokens(line)), ngram_keys(tokens(other))).shape[0] > 5
    assert np.array_equal(interval_keys(tokens(line)), interval_keys(tokens(other)))
    fp = engine.fingerprint_lines([other])
    assert is_interval_key(fp.keys).sum() == len(line) - 1 - 4
    matches = engine.match(fp, index)
    assert matches and matches[0].work_id == "bach-bwv66.6.mxl"
    # dotted long-short throughout (every rhythm class changed): the rhythm-aware alignment
    # credits each interval in part only, the rhythm-free one in full, and decides
    dotted = np.where(np.arange(len(line)) % 2 == 0, 1.5, 0.5)
    other = NoteLine("q", np.concatenate(([0.0], np.cumsum(dotted[:-1]))),
                     (line.pitches - 2).astype(np.int16), dotted)
    fp = engine.fingerprint_lines([other])
    matches = engine.match(fp, index)
    assert matches and matches[0].work_id == "bach-bwv66.6.mxl"
    ranked = engine.rank(fp, index)
    top = ranked[0]
    assert top.free_raw > top.raw
    assert engine.calibrated(top.raw, top.query_tokens) < 0.5 <= engine.decide(top)
    assert matches[0].detail["rhythm_free_score"] == pytest.approx(top.free_raw, abs=1e-3)
    # an unrelated line of the same length in the same rhythm is not matched that way
    rng2 = np.random.default_rng(4)
    walk = (60 + np.cumsum(rng2.choice([-3, -2, -1, 1, 2, 3], len(line)))).astype(np.int16)
    other_tune = NoteLine("q", other.onsets_q, walk, other.durations_q)
    assert not engine.match(engine.fingerprint_lines([other_tune]), index)


def test_demo_query_matches_foster_and_unregistered_matches_nothing(
    engine: MelodyFingerprinter, index: HashIndex,
) -> None:
    matches = engine.match(engine.extract(DATA / "query-jeanie-excerpt.mid"), index)
    assert [m.work_id for m in matches] == ["foster-jeanie.mid"]
    assert 7 <= matches[0].ref_start <= 9 and matches[0].to_json()["modality"] == "melody"
    assert engine.match(engine.extract(DATA / "unregistered-essen-boehme10-12.mid"), index) == []


def test_random_melodies_do_not_match(engine: MelodyFingerprinter, index: HashIndex) -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        steps = rng.choice([-4, -3, -2, -1, 1, 2, 3, 5], 24)
        pitches = (64 + np.cumsum(steps)).astype(np.int16)
        onsets = np.cumsum(rng.choice([0.5, 1.0, 1.5], 24))
        line = NoteLine("r", onsets - onsets[0], pitches, np.full(24, 0.5))
        assert engine.match(engine.fingerprint_lines([line]), index) == []


def test_more_candidates_are_aligned_only_where_none_is_reported(
    index: HashIndex, ref_lines: dict[str, list[NoteLine]],
) -> None:
    # issue 14, seventh session: ``more_candidates`` more works (next by votes) are aligned
    # only when none of the first ``candidates`` is reported
    from dataclasses import replace

    from tdmguard.fingerprint.melody import MelodySettings

    one = MelodyFingerprinter(replace(MelodySettings(), candidates=1))
    more = MelodyFingerprinter(replace(MelodySettings(), candidates=1, more_candidates=5))
    copy = _excerpt(ref_lines["foster-jeanie.mid"][0], 8, 16, shift=3, tempo=1.0)
    fp = one.fingerprint_lines([copy])
    first = one.rank(fp, index)
    assert len(first) == 1 and one.decide(first[0]) >= 0.5
    assert more.rank(fp, index) == first  # reported at once: nothing more aligned
    rng = np.random.default_rng(3)
    widened = 0
    for _ in range(10):
        steps = rng.choice([-2, -1, 1, 2], 24)
        line = NoteLine("r", np.arange(24.0), (64 + np.cumsum(steps)).astype(np.int16),
                        np.full(24, 1.0))
        fp = one.fingerprint_lines([line])
        few, many = one.rank(fp, index), more.rank(fp, index)
        assert len(few) <= 1 and len(many) <= 6
        assert not any(more.decide(c) >= 0.5 for c in many)
        assert {c.work_id for c in few} <= {c.work_id for c in many}
        widened += len(many) > len(few)
    assert widened >= 1


def test_polyphony_skyline_and_drums(tmp_path: Path, engine: MelodyFingerprinter) -> None:
    midi = mido.MidiFile(type=0, ticks_per_beat=96)
    track = mido.MidiTrack()
    for pitch in (60, 62, 64, 65, 67, 69):  # a melody over a held bass and with a drum
        track.append(mido.Message("note_on", note=pitch, velocity=90, channel=0, time=0))
        track.append(mido.Message("note_on", note=pitch - 12, velocity=90, channel=0, time=0))
        track.append(mido.Message("note_on", note=36, velocity=90, channel=9, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, channel=0, time=96))
        track.append(mido.Message("note_off", note=pitch - 12, velocity=0, channel=0, time=0))
        track.append(mido.Message("note_off", note=36, velocity=0, channel=9, time=0))
    midi.tracks.append(track)
    path = tmp_path / "poly.mid"
    midi.save(str(path))
    lines = read_note_lines(path)
    assert len(lines) == 1  # drums (channel 10) left out
    assert lines[0].pitches.tolist() == [60, 62, 64, 65, 67, 69]
    assert lines[0].onsets_q.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_abc_and_kern_are_read(tmp_path: Path) -> None:
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A4|]\n")
    assert len(read_note_lines(abc)[0]) == 25
    kern = tmp_path / "tune.krn"
    kern.write_text("**kern\n*M4/4\n4c\n4d\n4e\n4f\n=\n2g\n2a\n=\n1b\n*-\n")
    assert read_note_lines(kern)[0].pitches.tolist() == [60, 62, 64, 65, 67, 69, 71]


def test_absurd_tempo_changes_nothing(
    tmp_path: Path, engine: MelodyFingerprinter, ref_lines: dict[str, list[NoteLine]],
) -> None:
    line = ref_lines["foster-jeanie.mid"][0]
    normal = _query_file(tmp_path, line, 120.0)
    midi = mido.MidiFile(str(normal))
    midi.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=1, time=0))
    midi.tracks[1].insert(5, mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0))
    absurd = tmp_path / "absurd.mid"
    midi.save(str(absurd))
    assert np.array_equal(engine.extract(absurd).keys, engine.extract(normal).keys)


def test_no_notes_gives_empty_fingerprint(
    tmp_path: Path, engine: MelodyFingerprinter, index: HashIndex,
) -> None:
    path = tmp_path / "empty.mid"
    mido.MidiFile().save(str(path))
    fp = engine.extract(path)
    assert len(fp) == 0 and engine.match(fp, index) == []
    assert "no pitched notes" in str(fp.meta["reason"])
    short = NoteLine("s", np.arange(3.0), np.array([60, 62, 64], np.int16), np.ones(3))
    assert engine.match(engine.fingerprint_lines([short]), index) == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("truncated.mid", "truncate"),
        ("garbage.mid", b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00"),
        ("zero-division.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00MTrk\x00\x00\x00\x00"),
        ("empty.musicxml", b""),
        ("broken.musicxml", b"<?xml version='1.0'?><score-partwise><part id='P1'><measure"),
        ("bomb.musicxml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'>"
                          b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]><score-partwise>&b;"
                          b"</score-partwise>"),
        ("notazip.mxl", b"PK\x03\x04 not really a zip"),
        ("tune.abc", b"\xff\xfe\x00garbage X: T: K:"),
        ("picture.png", b"\x89PNG\r\n"),
    ],
)
def test_bad_files_raise_media_error(
    tmp_path: Path, engine: MelodyFingerprinter, name: str, content: bytes | str,
) -> None:
    path = tmp_path / name
    if content == "truncate":
        write_midi(path, read_note_lines(DATA / "foster-jeanie.mid"))
        path.write_bytes(path.read_bytes()[:200])
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    try:
        fp = engine.extract(path)
    except MediaError as exc:
        assert str(path) in str(exc)
    else:  # a tolerant parser may read nothing: then there is nothing to match
        assert len(fp) == 0, f"{name} produced {len(fp)} keys"


def test_huge_files_are_refused_before_parsing(tmp_path: Path, engine: MelodyFingerprinter) -> None:
    huge = tmp_path / "huge.mid"
    with huge.open("wb") as fh:
        fh.truncate(notes_module.MAX_MIDI_BYTES + 1)
    with pytest.raises(MediaError, match="too large"):
        engine.extract(huge)
    bomb = tmp_path / "bomb.mxl"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("score.xml", b"<" + b" " * (notes_module.MAX_XML_BYTES + 10))
    bomb.write_bytes(buf.getvalue())
    assert bomb.stat().st_size < 100_000
    with pytest.raises(MediaError, match="unpacks to"):
        engine.extract(bomb)
    audio = tmp_path / "song.wav"
    audio.write_bytes(b"RIFF")
    with pytest.raises(MediaError, match="not a symbolic score"):
        engine.extract(audio)
    with pytest.raises(MediaError, match="cannot read"):
        engine.extract(tmp_path / "missing.mid")


def test_note_cap(monkeypatch: pytest.MonkeyPatch, engine: MelodyFingerprinter) -> None:
    monkeypatch.setattr(notes_module, "MAX_NOTES", 50)
    with pytest.raises(MediaError, match="more than 50 notes"):
        engine.extract(DATA / "foster-jeanie.mid")
    with pytest.raises(MediaError, match="more than 50 notes"):
        engine.extract(DATA / "bach-bwv66.6.mxl")


def test_wrong_engine_fingerprint_is_refused(engine: MelodyFingerprinter, index: HashIndex) -> None:
    fp = Fingerprint(Modality.MELODY, "melody-other/9", np.zeros(1, np.uint64),
                     np.zeros((1, engine.aux_width), np.int32))
    with pytest.raises(InputError):
        engine.match(fp, index)
    hostile = Fingerprint(Modality.MELODY, engine.engine, np.zeros(1, np.uint64),
                          np.array([[0, 2**31 - 1, 0, 0, 0, 0, 0, 0]], np.int32))
    with pytest.raises(InputError, match="malformed"):
        engine.match(hostile, index)


def test_smith_waterman_spans_and_note_edits() -> None:
    q = np.array([1, 2, 3, 4, 5])
    r = np.array([9, 9, 1, 2, 7, 3, 4, 5, 9])
    al = smith_waterman(np.where(q[:, None] == r[None, :], 1.0, -1.0), 1.0)
    assert (al.score, al.q_start, al.q_end, al.r_start, al.r_end) == (4.0, 0, 5, 2, 8)
    # consolidation: query token 1 stands for reference tokens 3 and 4 (a deleted note)
    sim = np.where(q[:, None] == r[None, :], 1.0, -1.0)
    cons = np.full(sim.shape, -np.inf)
    cons[1, 4] = 1.0
    merged = smith_waterman(sim, 1.0, cons=cons)
    assert (merged.score, merged.r_start, merged.r_end) == (5.0, 2, 8)
    # fragmentation: query tokens 1 and 2 together stand for reference token 3
    r2 = np.array([1, 7, 4, 5])
    sim = np.where(q[:, None] == r2[None, :], 1.0, -1.0)
    frag = np.full(sim.shape, -np.inf)
    frag[2, 1] = 1.0
    assert smith_waterman(sim, 1.0, frag=frag).score == 4.0
    # substitution: query tokens 1 and 2 together stand for reference tokens 1 and 2 (a
    # note changed: both intervals differ, the pair's sum does not)
    r3 = np.array([1, 7, 8, 4, 5])
    sim = np.where(q[:, None] == r3[None, :], 1.0, -1.0)
    subst = np.full(sim.shape, -np.inf)
    subst[2, 2] = 1.5
    al = smith_waterman(sim, 1.0, subst=subst)
    assert (al.score, al.q_start, al.q_end, al.r_start, al.r_end) == (4.5, 0, 5, 0, 5)


def test_substituted_note_scores_more_than_two_mismatches(engine: MelodyFingerprinter) -> None:
    # a note moved by a tone changes the intervals on both sides but not their sum
    rng = np.random.default_rng(5)
    pitches = (60 + np.cumsum(rng.choice([-4, -2, -1, 1, 2, 3, 5], 16))).astype(np.int16)
    onsets = np.cumsum(rng.choice([0.5, 1.0, 1.5], 16)) - 0.5
    line = NoteLine("r", onsets, pitches, np.full(16, 0.5))
    edited = pitches.copy()
    edited[8] += 2
    q = NoteLine("q", onsets, edited, np.full(16, 0.5))
    with_move = MelodyFingerprinter()
    from dataclasses import replace as dc_replace
    without = MelodyFingerprinter(settings=dc_replace(with_move.settings, subst_gain=0.0))
    t_r, t_q = tokens(line), tokens(q)
    w = np.ones(t_q.shape[0])
    sims = [e._similarity(t_q, w, t_r) for e in (with_move, without)]
    scores = [smith_waterman(sim, 1.0, frag, cons, sub).score for sim, frag, cons, sub in sims]
    assert sims[1][3] is None
    assert scores[0] == pytest.approx(13 + 2 * with_move.settings.subst_gain)
    assert scores[0] > scores[1]


def test_smith_waterman_three_token_note_moves() -> None:
    # ins3: query tokens 1, 2, 3 together stand for reference tokens 1 and 2
    q = np.array([1, 2, 8, 9, 4, 5])
    r = np.array([1, 2, 3, 4, 5])
    sim = np.where(q[:, None] == r[None, :], 1.0, -1.0)
    ins3 = np.full(sim.shape, -np.inf)
    ins3[3, 2] = 2.5
    al = smith_waterman(sim, 1.0, ins3=ins3)
    assert (al.score, al.q_start, al.q_end, al.r_start, al.r_end) == (5.5, 0, 6, 0, 5)
    assert smith_waterman(sim, 1.0).score < al.score
    # del3: query tokens 1, 2 together stand for reference tokens 1, 2 and 3
    del3 = np.full((r.shape[0], q.shape[0]), -np.inf)
    del3[2, 3] = 1.5
    al = smith_waterman(sim.T.copy(), 1.0, del3=del3)
    assert (al.score, al.q_start, al.q_end, al.r_start, al.r_end) == (4.5, 0, 5, 0, 6)


def test_note_moves_credit_a_split_note_with_its_rhythm_change() -> None:
    # a note split in two halves (the second a tone higher), as benchmarks/melody edits
    # a copy: the token before it changes rhythm class, the next two sum to the original
    from dataclasses import replace as dc_replace
    pitches = np.array([60, 62, 64, 65, 67, 65, 64, 62, 60, 59, 60, 62, 64, 67, 65, 64],
                       dtype=np.int16)
    onsets = np.array([0, 1, 1.5, 2, 3, 4, 4.5, 5, 6, 7, 7.5, 8, 9, 10, 10.5, 11])
    line = NoteLine("r", onsets, pitches, np.full(16, 0.5))
    q = NoteLine("q", np.insert(onsets, 5, 3.5), np.insert(pitches, 5, 69).astype(np.int16),
                 np.full(17, 0.5))
    off = MelodyFingerprinter()
    assert off._note_moves(tokens(q), np.ones(16), tokens(line)) == (None, None)
    on = MelodyFingerprinter(settings=dc_replace(off.settings, note_move_gain=0.5))
    t_r, t_q = tokens(line), tokens(q)
    w = np.ones(t_q.shape[0])
    ins3, del3 = on._note_moves(t_q, w, t_r)
    assert ins3 is not None and del3 is not None
    assert ins3[5, 4] == pytest.approx(2.0)  # query 3-5 for reference 3-4: 1 + 0.5 * 2
    assert np.isfinite(ins3).sum() == 1
    sim, frag, cons, sub = on._similarity(t_q, w, t_r)
    with_moves = smith_waterman(sim, 1.0, frag, cons, sub, ins3, del3).score
    assert with_moves == pytest.approx(15 - 1 + 0.5 * 2)  # 16 tokens, the split pair at half
    assert with_moves > smith_waterman(sim, 1.0, frag, cons, sub).score
    # the converse (the reference holds the split note): a deleted note
    ins3, del3 = on._note_moves(t_r, np.ones(15), t_q)
    assert ins3 is not None and del3 is not None and np.isfinite(del3).sum() == 1
    assert del3[4, 5] == pytest.approx(1.5)


def test_background_weights_common_ngrams_less() -> None:
    common = np.array([1, 2, 3], dtype=np.uint64)
    table = BackgroundTable.build([common, common, np.array([1, 4], np.uint64)], source="t")
    assert table.doc_freq(np.array([1, 2, 4, 99], np.uint64)).tolist() == [3, 2, 1, 1]
    bits = table.idf_bits(np.array([1, 4], np.uint64))
    assert bits[0] < bits[1]
    back = BackgroundTable.from_bytes(table.to_bytes(), where="t")
    assert np.array_equal(back.keys, table.keys) and back.works == 3
    shipped = default_background()
    assert shipped.works > 1000 and "music21" in shipped.source


def test_corrupt_compressed_musicxml_and_absurd_times(
    tmp_path: Path, engine: MelodyFingerprinter,
) -> None:
    data = bytearray((DATA / "bach-bwv66.6.mxl").read_bytes())
    data[200:260] = b"\xff" * 60  # inside the deflate stream of the score
    path = tmp_path / "corrupt.mxl"
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError):
        engine.extract(path)
    line = notes_module.skyline(
        np.array([0.0, 1.0, np.inf, np.nan, 1e300, 2.0]),
        np.array([60, 62, 64, 65, 67, 300], np.int16),
        np.ones(6),
        name="x",
    )
    assert line.pitches.tolist() == [60, 62]


def test_runner_up_leaves_out_a_work_scoring_exactly_as_much() -> None:
    from tdmguard.fingerprint.melody.engine import runner_ups

    # works a and b hold the same passage (tie); c is another work; "a" listed twice is one
    got = runner_ups([14.0, 14.0, 9.0, 8.0], ["a", "b", "c", "a"])
    assert got[0] == (9.0, 2) and got[1] == (9.0, 3)  # the lead is measured against c
    assert got[2] == (14.0, 3)
    assert runner_ups([5.0], ["a"]) == [(0.0, 0)]


def test_query_own_vote_is_the_most_a_work_can_get(
    engine: MelodyFingerprinter, index: HashIndex, ref_lines: dict[str, list[NoteLine]],
) -> None:
    line = max(ref_lines["essen-altdeu10-3.musicxml"], key=len)
    ranked = engine.rank(engine.fingerprint_lines([_excerpt(line, 2, 16, shift=3, tempo=1.0)]),
                         index)
    assert ranked and ranked[0].work_id == "essen-altdeu10-3.musicxml"
    assert all(0 < c.votes <= c.self_votes + 1e-9 for c in ranked)
    assert ranked[0].votes > 0.9 * ranked[0].self_votes  # an exact copy holds every key


def test_passage_registered_twice_keeps_its_lead(
    engine: MelodyFingerprinter, ref_lines: dict[str, list[NoteLine]], tmp_path: Path,
) -> None:
    """The same melody registered under two work ids (one tune printed in two collections):
    an edited excerpt ties them at the top, and each one's lead is measured against the
    other works, not against its twin."""
    writer = SegmentWriter(engine.aux_width)
    for name in REGISTERED:
        fp = engine.extract(DATA / name)
        writer.add(name, fp.keys, fp.aux, dict(fp.meta))
    twin = engine.extract(DATA / "essen-altdeu10-3.musicxml")
    writer.add("twin", twin.keys, twin.aux, dict(twin.meta))
    HashIndex.create(tmp_path, engine=engine.engine, aux_width=engine.aux_width)
    HashIndex.append_segment(tmp_path, writer)
    index = HashIndex.open(tmp_path)
    line = max(ref_lines["essen-altdeu10-3.musicxml"], key=len)
    q = _edit(_excerpt(line, 2, 16, shift=5, tempo=2.0), np.random.default_rng(3), 1)
    ranked = engine.rank(engine.fingerprint_lines([q]), index)
    top = [c for c in ranked if c.raw >= ranked[0].raw - 1e-9]
    assert {c.work_id for c in top} == {"essen-altdeu10-3.musicxml", "twin"}
    for c in top:
        assert c.runner_up < c.raw - 1.0
