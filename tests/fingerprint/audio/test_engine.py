"""The engine end to end on real music: excerpts, noise, codecs, speed and pitch changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tdmguard.errors import InputError
from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.index.hash_index import HashIndex
from tdmguard.vocab import Modality

RATE = 8000


def _speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster: tempo and pitch together (tape speed)."""
    return np.asarray(soxr.resample(x, RATE * factor, RATE), dtype=np.float32)


def _noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(x.shape[0])
    n *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / 10 ** (snr_db / 10))
    return (x + n).astype(np.float32)


def _pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    """Pitch shift without tempo change: resample, then restore the duration by overlap-add
    of 64 ms Hann grains (a crude granular stretch; enough to move every partial)."""
    factor = 2.0 ** (semitones / 12.0)
    y = _speed(x, factor)
    grain, hop_out = 512, 128
    hop_in = hop_out / factor
    n_out = x.shape[0]
    out = np.zeros(n_out + grain, np.float64)
    norm = np.zeros(n_out + grain, np.float64)
    win = np.hanning(grain)
    for k, start in enumerate(range(0, n_out - grain, hop_out)):
        src = int(k * hop_in)
        if src + grain > y.shape[0]:
            break
        out[start : start + grain] += y[src : src + grain] * win
        norm[start : start + grain] += win
    return (out[:n_out] / np.maximum(norm[:n_out], 1e-3)).astype(np.float32)


def _query(engine: AudioFingerprinter, index: HashIndex, x: np.ndarray) -> list[object]:
    return list(engine.match(engine.extract_samples(x), index))


def test_attributes(engine: AudioFingerprinter) -> None:
    assert engine.modality is Modality.AUDIO
    assert engine.engine.startswith("audio-")
    assert engine.aux_width == 2


def test_excerpt_matches_with_spans(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray]
) -> None:
    x = signals["aberrations"][3 * RATE : 9 * RATE]  # 6 s from 3 s
    matches = engine.match(engine.extract_samples(x), index)
    assert matches and matches[0].work_id == "aberrations"
    top = matches[0]
    assert top.modality is Modality.AUDIO
    assert abs(top.time_factor - 1.0) < 0.01 and abs(top.pitch_factor - 1.0) < 0.01
    assert top.query_start < 1.5 and top.query_end > 4.0
    # reference span = query span moved by the 3 s cut offset
    assert abs((top.ref_start - top.query_start) - 3.0) < 0.1
    assert all(m.work_id != "coherence" for m in matches)


@pytest.mark.parametrize("factor", [0.9, 0.95, 1.05, 1.1])
def test_speed_change_reports_both_factors(
    engine: AudioFingerprinter,
    index: HashIndex,
    signals: dict[str, np.ndarray],
    factor: float,
) -> None:
    x = _speed(signals["coherence"][2 * RATE : 11 * RATE], factor)
    matches = engine.match(engine.extract_samples(x), index)
    assert matches and matches[0].work_id == "coherence"
    assert matches[0].time_factor == pytest.approx(factor, rel=0.01)
    assert matches[0].pitch_factor == pytest.approx(factor, rel=0.015)


@pytest.mark.parametrize("semitones", [-2.0, 2.0])
def test_pitch_shift_keeps_tempo(
    engine: AudioFingerprinter,
    index: HashIndex,
    signals: dict[str, np.ndarray],
    semitones: float,
) -> None:
    x = _pitch(signals["aberrations"][1 * RATE : 11 * RATE], semitones)
    matches = engine.match(engine.extract_samples(x), index)
    assert matches and matches[0].work_id == "aberrations"
    assert matches[0].time_factor == pytest.approx(1.0, abs=0.01)
    assert matches[0].pitch_factor == pytest.approx(2 ** (semitones / 12), rel=0.02)


def test_noise_at_10_db(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray]
) -> None:
    x = _noise(signals["coherence"][1 * RATE : 11 * RATE], 10.0)
    matches = engine.match(engine.extract_samples(x), index)
    assert matches and matches[0].work_id == "coherence"


def test_mp3_reencode_through_a_file(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "clip.mp3"
    sf.write(str(path), signals["aberrations"][2 * RATE : 10 * RATE], RATE, format="MP3")
    matches = engine.match(engine.extract(path), index)
    assert matches and matches[0].work_id == "aberrations"


def test_unrelated_audio_does_not_match(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray]
) -> None:
    rng = np.random.default_rng(3)
    noise = (0.1 * rng.standard_normal(10 * RATE)).astype(np.float32)
    assert engine.match(engine.extract_samples(noise), index) == []
    # a chord progression of pure tones: music-like peaks, not a registered recording
    t = np.arange(10 * RATE) / RATE
    chords = sum(0.1 * np.sin(2 * np.pi * f * t * (1 + (t // 2) / 12)) for f in (220, 277, 330))
    assert engine.match(engine.extract_samples(np.asarray(chords, np.float32)), index) == []


def test_fingerprint_round_trip_and_shape(
    engine: AudioFingerprinter, signals: dict[str, np.ndarray]
) -> None:
    fp = engine.extract_samples(signals["coherence"])
    assert fp.keys.dtype == np.uint64 and fp.aux.shape == (len(fp), engine.aux_width)
    # density sets the index size: ~28 hashes per second of music
    assert 15 < len(fp) / float(fp.meta["duration_s"]) < 40
    again = Fingerprint.from_bytes(fp.to_bytes())
    assert np.array_equal(again.keys, fp.keys) and np.array_equal(again.aux, fp.aux)


def test_foreign_fingerprint_is_refused(engine: AudioFingerprinter, index: HashIndex) -> None:
    other = Fingerprint(
        Modality.AUDIO, "audio-other/9", np.zeros(1, np.uint64), np.zeros((1, 2), np.int32)
    )
    with pytest.raises(InputError):
        engine.match(other, index)
    with pytest.raises(InputError):
        engine.extract_text("la la la", where="lyrics.txt")


def test_hit_budget_keeps_the_rare_keys(
    index: HashIndex, signals: dict[str, np.ndarray]
) -> None:
    """A query's look-up is capped by ``max_hits``: the most frequent keys go first, so a
    tight budget still finds the excerpt, and a budget of nothing finds nothing."""
    from dataclasses import replace

    from tdmguard.fingerprint.audio import AudioParams
    from tdmguard.fingerprint.audio.triplets import expand_keys

    x = signals["coherence"][2 * RATE : 10 * RATE]
    params = AudioParams()
    fp = AudioFingerprinter().extract_samples(x)
    keys, _ = expand_keys(fp.keys, fp.aux[:, 1].astype(np.int64) & 255, params.triplets)
    everything = index.lookup(keys, max_per_key=params.max_hits_per_key).query_row.shape[0]
    budget = everything - 1  # the most frequent keys no longer fit
    capped = index.lookup(keys, max_per_key=params.max_hits_per_key, max_hits=budget)
    assert 0 < capped.query_row.shape[0] <= budget
    matches = AudioFingerprinter(replace(params, max_hits=budget)).match(fp, index)
    assert matches and matches[0].work_id == "coherence"
    assert AudioFingerprinter(replace(params, max_hits=0)).match(fp, index) == []


class _GatheringIndex:
    """The index seen only through ``lookup`` (gathered hits), as any HashLookup."""

    def __init__(self, index: HashIndex) -> None:
        self._index = index

    def lookup(self, keys: np.ndarray, max_per_key: int | None = None,
               max_hits: int | None = None) -> object:
        return self._index.lookup(keys, max_per_key=max_per_key, max_hits=max_hits)

    def work_meta(self, work: int) -> object:
        return self._index.work_meta(work)


def test_hits_filtered_in_place_equal_gathered_hits(
    engine: AudioFingerprinter, signals: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """HashIndex hands the engine key ranges (hits filtered where they are stored); over
    two segments and a removed work, the matches must equal those of gathered hits."""
    from tdmguard.index.hash_index import SegmentWriter

    folder = tmp_path / "idx"
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    for work_id, x in signals.items():
        writer = SegmentWriter(engine.aux_width)
        fp = engine.extract_samples(x)
        writer.add(work_id, fp.keys, fp.aux)
        writer.add(f"{work_id}-copy", fp.keys, fp.aux)
        HashIndex.append_segment(folder, writer)
    HashIndex.remove_works(folder, ["coherence-copy"])
    index = HashIndex.open(folder)
    for work_id, x in signals.items():
        fp = engine.extract_samples(_noise(x[1 * RATE : 9 * RATE], 5.0))
        in_place = engine.match(fp, index)
        assert in_place == engine.match(fp, _GatheringIndex(index))
        assert in_place and in_place[0].work_id.startswith(work_id)
        assert "coherence-copy" not in {m.work_id for m in in_place}


def _pink(n: int, seed: int) -> np.ndarray:
    """Pink noise (1/f power), unit power."""
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / np.sqrt(f), n=n)
    return y / np.sqrt(np.mean(y**2))


def test_noise_flatness_tells_music_from_noisy_music(
    engine: AudioFingerprinter, signals: dict[str, np.ndarray]
) -> None:
    """Clean music reads well under the noisy-query threshold, and so does a codec copy; the
    same music with pink or white noise at 0 dB SNR reads over it. The threshold was chosen
    on the benchmark's excerpts, not on these fixtures."""
    from tdmguard.fingerprint.audio.peaks import noise_flatness

    p = engine.params
    for x in signals.values():
        clip = x[: 10 * RATE]
        power = np.sqrt(np.mean(clip.astype(np.float64) ** 2))
        assert noise_flatness(clip, p.peaks) < p.noisy_flatness
        pink = (clip + power * _pink(clip.shape[0], 1)).astype(np.float32)
        assert noise_flatness(pink, p.peaks) >= p.noisy_flatness
        assert noise_flatness(_noise(clip, 0.0), p.peaks) >= p.noisy_flatness
    assert noise_flatness(np.zeros(10 * RATE, np.float32), p.peaks) == 0.0
    assert noise_flatness(np.zeros(100, np.float32), p.peaks) == 0.0


def test_noisy_query_gets_the_larger_budget(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray]
) -> None:
    """The budget follows the fingerprint's flatness: a clean query keeps ``max_hits`` (its
    keys and matches are those of the engine without the noisy budget), a noisy one gets
    ``noisy_max_hits``, and a fingerprint without the field (made before) the plain budget.
    The larger budget looks up a superset of the hits."""
    from dataclasses import replace
    from types import MappingProxyType

    from tdmguard.fingerprint.audio.engine import NOISY_MAX_HITS
    from tdmguard.fingerprint.audio.triplets import expand_keys

    assert engine.params.noisy_max_hits == NOISY_MAX_HITS  # on by default (sixth wave)
    p = engine.params
    x = signals["coherence"][1 * RATE : 11 * RATE]
    clean = engine.extract_samples(x)
    power = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    noisy = engine.extract_samples((x + power * _pink(x.shape[0], 2)).astype(np.float32))
    assert engine.hit_budget(clean) == p.max_hits
    assert engine.hit_budget(noisy) == NOISY_MAX_HITS
    bare = Fingerprint(clean.modality, clean.engine, clean.keys, clean.aux, MappingProxyType({}))
    assert engine.hit_budget(bare) == p.max_hits
    plain = AudioFingerprinter(replace(p, noisy_max_hits=None))
    assert plain.hit_budget(noisy) == p.max_hits
    assert engine.match(clean, index) == plain.match(clean, index)
    assert AudioFingerprinter(replace(p, max_hits=None)).hit_budget(noisy) is None
    # budgets small enough to bind on this two-work index: the larger one keeps more hits
    keys, _ = expand_keys(noisy.keys, noisy.aux[:, 1].astype(np.int64) & 255, p.triplets)
    counts = np.sum([r.count for r in index.key_ranges(keys)], axis=0)
    rarest = int(counts[counts == counts[counts > 0].min()].sum())  # hits of the rarest keys
    total = int(counts.sum())
    assert rarest < total
    small = replace(p, max_hits=rarest, noisy_max_hits=total)
    budget = AudioFingerprinter(small).hit_budget(noisy)
    assert budget == total
    few = index.lookup(keys, max_hits=rarest)
    more = index.lookup(keys, max_hits=budget)
    assert few.query_row.shape[0] < more.query_row.shape[0] <= budget
    assert set(few.query_row.tolist()) <= set(more.query_row.tolist())
