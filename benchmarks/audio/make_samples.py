"""Regenerate the committed audio samples (demo data and the unit-test fixture) from Debian.

    python -m benchmarks.audio.make_samples

Sources (CC-BY-SA-3.0, see src/tdmguard/demo/data/NOTICE.audio.md): ``singularity-music``
(Max McCracken) and ``fretsonfire-songs-muldjord`` (El Senator). Everything is mono Vorbis at
16 kHz, low bit rate, so the whole set stays a few hundred kB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from benchmarks.audio.data import tracks
from benchmarks.audio.distort import RATE, _noise, _pitch, _speed, _tempo

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "src" / "tdmguard" / "demo" / "data" / "audio"
FIXTURE = ROOT / "tests" / "fingerprint" / "audio" / "data"
OUT_RATE = 16000
QUALITY = 0.7  # libsndfile Vorbis compression level: ~30 kb/s mono at 16 kHz


def _cut(path: Path, start_s: float, length_s: float) -> np.ndarray:
    with sf.SoundFile(str(path)) as fh:
        fh.seek(int(start_s * fh.samplerate))
        x = fh.read(int(length_s * fh.samplerate), dtype="float32", always_2d=True).mean(axis=1)
        return np.asarray(soxr.resample(x, fh.samplerate, RATE), dtype=np.float32)


def _save(path: Path, x: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    y = soxr.resample(x, RATE, OUT_RATE)
    y = np.clip(y, -1.0, 1.0)
    sf.write(str(path), y, OUT_RATE, format="OGG", subtype="VORBIS", compression_level=QUALITY)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1000:.0f} kB")


def main() -> None:
    sing = {p.stem: p for p in tracks("singularity-music")}
    fof = {p.parent.name: p for p in tracks("fretsonfire-songs-muldjord")}
    rng = np.random.default_rng(5)
    # registered references (~22 s each)
    refs = {
        "awakening": _cut(sing["Awakening"], 40.0, 22.0),
        "nebula": _cut(sing["Nebula"], 60.0, 22.0),
        "chaos-god": _cut(fof["chaos_god"], 30.0, 22.0),
    }
    for name, x in refs.items():
        _save(DEMO / f"ref-{name}.ogg", x)
    # distorted queries derived from them (10 s excerpts)
    sec = RATE
    q1, _ = _speed(1.05)(refs["awakening"][6 * sec : 17 * sec], rng)
    q1, _ = _noise(15, pink=False)(q1[: 10 * sec], rng)
    _save(DEMO / "query-awakening-speed105-noise15db.ogg", q1)
    q2, _ = _pitch(2)(refs["nebula"][9 * sec : 19 * sec], rng)
    _save(DEMO / "query-nebula-pitch-up-2st.ogg", q2)
    q3, _ = _tempo(0.94)(refs["chaos-god"][2 * sec : 12 * sec], rng)
    _save(DEMO / "query-chaos-god-tempo94.ogg", q3[: int(10.5 * sec)])
    # never registered
    _save(DEMO / "unregistered-armygeddon.ogg", _cut(fof["armygeddon"], 50.0, 10.0))
    # unit-test fixture: two short real cuts
    _save(FIXTURE / "aberrations-12s.ogg", _cut(sing["Aberrations"], 70.0, 12.0))
    _save(FIXTURE / "coherence-12s.ogg", _cut(sing["Coherence"], 45.0, 12.0))


if __name__ == "__main__":
    main()
