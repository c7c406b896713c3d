"""Bad input: every file gives a fingerprint, an empty fingerprint or a MediaError."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tdmguard.errors import MediaError
from tdmguard.fingerprint.audio import AudioFingerprinter, AudioParams
from tdmguard.fingerprint.audio.decode import decode_mono
from tdmguard.index.hash_index import HashIndex

from .conftest import WORKS


def test_missing_and_empty_files(engine: AudioFingerprinter, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        engine.extract(tmp_path / "nothing.ogg")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty") as info:
        engine.extract(empty)
    assert info.value.where == str(empty)


def test_garbage_and_truncated_files(engine: AudioFingerprinter, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(20_000))
    truncated = tmp_path / "truncated.ogg"
    truncated.write_bytes(WORKS["coherence"].read_bytes()[:3000])
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    for path in (garbage, truncated, header_only):
        try:
            fp = engine.extract(path)
        except MediaError as exc:
            assert exc.where == str(path)
        else:  # a decodable prefix is fine: it just yields a (possibly empty) fingerprint
            assert fp.aux.shape == (len(fp), engine.aux_width)


def test_silent_and_very_short_files(
    engine: AudioFingerprinter, index: HashIndex, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(5 * 44100, np.float32), 44100)
    fp = engine.extract(silent)
    assert len(fp) == 0 and engine.match(fp, index) == []
    short = tmp_path / "short.flac"
    sf.write(
        str(short), np.random.default_rng(1).standard_normal(2000).astype(np.float32) * 0.1, 44100
    )
    fp = engine.extract(short)
    assert len(fp) == 0 and engine.match(fp, index) == []


def test_nan_samples_are_zeroed(engine: AudioFingerprinter, tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    x = np.random.default_rng(2).standard_normal(3 * 8000).astype(np.float32) * 0.1
    x[100:200] = np.nan
    sf.write(str(path), x, 8000, subtype="FLOAT")
    fp = engine.extract(path)
    assert np.isfinite(float(fp.meta["duration_s"]))


def test_long_files_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(str(path), np.zeros(30 * 8000, np.int16), 8000)
    decoded = decode_mono(path, rate_hz=8000, max_duration_s=10.0)
    assert decoded.truncated and decoded.samples.shape[0] == 10 * 8000
    engine = AudioFingerprinter(AudioParams(max_duration_s=10.0))
    fp = engine.extract(path)
    assert fp.meta["truncated"] == 1 and fp.meta["duration_s"] == 10.0


def test_multichannel_and_rates(tmp_path: Path) -> None:
    path = tmp_path / "stereo.flac"
    t = np.arange(22050 * 2) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
    sf.write(str(path), 0.3 * stereo, 22050)
    decoded = decode_mono(path, rate_hz=8000, max_duration_s=60)
    assert decoded.source_rate_hz == 22050 and decoded.samples.ndim == 1
    assert abs(decoded.samples.shape[0] - 2 * 8000) < 50


def test_unsupported_format_without_pyav_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # as if the audio-av extra were absent
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(64))
    with pytest.raises(MediaError, match="audio-av") as info:
        decode_mono(path, rate_hz=8000, max_duration_s=60)
    assert info.value.where == str(path)
