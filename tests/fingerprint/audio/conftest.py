"""Fixtures: two 12 s cuts of real music (singularity-music, CC-BY-SA-3.0, Max McCracken;
regenerate with ``python -m benchmarks.audio.make_samples``) and an index holding both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tdmguard.fingerprint.audio import AudioFingerprinter
from tdmguard.fingerprint.audio.decode import decode_mono
from tdmguard.index.hash_index import HashIndex, SegmentWriter

DATA = Path(__file__).parent / "data"
WORKS = {"aberrations": DATA / "aberrations-12s.ogg", "coherence": DATA / "coherence-12s.ogg"}


@pytest.fixture(scope="session")
def engine() -> AudioFingerprinter:
    return AudioFingerprinter()


@pytest.fixture(scope="session")
def signals(engine: AudioFingerprinter) -> dict[str, np.ndarray]:
    """Each fixture decoded to mono float32 at the engine's rate (8 kHz)."""
    rate = engine.params.peaks.rate_hz
    return {w: decode_mono(p, rate_hz=rate, max_duration_s=60).samples for w, p in WORKS.items()}


@pytest.fixture(scope="session")
def index(engine: AudioFingerprinter, tmp_path_factory: pytest.TempPathFactory) -> HashIndex:
    folder = tmp_path_factory.mktemp("audio-index")
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = SegmentWriter(engine.aux_width)
    for work_id, path in WORKS.items():
        fp = engine.extract(path)
        writer.add(work_id, fp.keys, fp.aux, fp.meta)
    HashIndex.append_segment(folder, writer)
    return HashIndex.open(folder)
