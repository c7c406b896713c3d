"""The PyAV (FFmpeg) fallback decoder: AAC in an M4A container, which libsndfile cannot read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tdmguard.errors import MediaError
from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.index.hash_index import HashIndex

av = pytest.importorskip("av")


def _write_m4a(path: Path, x: np.ndarray, rate: int) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        stream.bit_rate = 64_000
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        for start in range(0, pcm.shape[0], 1024):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, start : start + 1024], format="s16", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_aac_m4a_is_decoded_and_matched(
    engine: AudioFingerprinter, index: HashIndex, signals: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "clip.m4a"
    _write_m4a(path, signals["coherence"][2 * 8000 : 10 * 8000], 8000)
    fp = engine.extract(path)
    assert fp.meta["decoder"] == "pyav"
    matches = engine.match(fp, index)
    assert matches and matches[0].work_id == "coherence"


def test_non_media_is_a_media_error(engine: AudioFingerprinter, tmp_path: Path) -> None:
    path = tmp_path / "notes.m4a"
    path.write_text("these are not the samples you are looking for\n" * 50)
    with pytest.raises(MediaError) as info:
        engine.extract(path)
    assert info.value.where == str(path)
