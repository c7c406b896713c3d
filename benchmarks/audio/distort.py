"""Query distortions of the issue-5 grid, applied to a 48 kHz mono excerpt.

Speed (tempo and pitch together) is a plain resampling with soxr. Tempo without pitch and
pitch without tempo use librosa's phase vocoder (``librosa.effects.time_stretch`` /
``pitch_shift``, n_fft 2048 = 43 ms at 48 kHz): it is the augmentation most training
pipelines apply (torchaudio and audiomentations do the same), it installs from PyPI with no
system library, and its smearing is a harder test than Rubber Band's transient-preserving
stretch. Codecs go through libsndfile (MP3 via LAME, Opus), at the compression level
calibrated to 64 kb/s.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache

import numpy as np
import soundfile as sf
import soxr

__all__ = ["DISTORTIONS", "RATE", "Distortion"]

RATE = 48000
Distortion = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, str]]


def _encode(x: np.ndarray, fmt: str, subtype: str, level: float) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, RATE, format=fmt, subtype=subtype, compression_level=level)
    return buf.getvalue()


@cache
def _level_for(fmt: str, subtype: str, kbps: float) -> float:
    """libsndfile's compression level (0..1) giving ``kbps``, by bisection on a test tone mix."""
    rng = np.random.default_rng(0)
    t = np.arange(RATE * 5) / RATE
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.shape[0])).astype(
        np.float32
    )
    lo, hi = 0.0, 1.0  # level 0 = highest bit rate
    for _ in range(8):
        mid = 0.5 * (lo + hi)
        rate = len(_encode(x, fmt, subtype, mid)) * 8 / 5 / 1000
        lo, hi = (mid, hi) if rate > kbps else (lo, mid)
    return 0.5 * (lo + hi)


def _codec(fmt: str, subtype: str, kbps: float, ext: str) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        blob = _encode(x, fmt, subtype, _level_for(fmt, subtype, kbps))
        return np.frombuffer(blob, dtype=np.uint8), ext

    return apply


def _noise(snr_db: float, pink: bool) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        n = rng.standard_normal(x.shape[0])
        if pink:  # 1/f power: shape white noise by 1/sqrt(f) in the frequency domain
            spec = np.fft.rfft(n)
            f = np.arange(spec.shape[0], dtype=np.float64)
            f[0] = 1.0
            n = np.fft.irfft(spec / np.sqrt(f), n=x.shape[0])
        p_sig = float(np.mean(x.astype(np.float64) ** 2)) + 1e-12
        n *= np.sqrt(p_sig / (np.mean(n**2) * 10 ** (snr_db / 10)))
        return (x + n).astype(np.float32), "wav"

    return apply


def _gain(db: float) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        # float WAV: +6 dB may exceed full scale without clipping, as in a float pipeline
        return (x * 10 ** (db / 20)).astype(np.float32), "wav"

    return apply


def _speed(factor: float) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        return soxr.resample(x, RATE * factor, RATE).astype(np.float32), "wav"

    return apply


def _tempo(factor: float) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        import librosa

        return librosa.effects.time_stretch(x, rate=factor).astype(np.float32), "wav"

    return apply


def _pitch(semitones: float) -> Distortion:
    def apply(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        import librosa

        y = librosa.effects.pitch_shift(x, sr=RATE, n_steps=semitones, res_type="soxr_hq")
        return y.astype(np.float32), "wav"

    return apply


def _clean(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    return x, "wav"


# name -> (excerpt length s, distortion). Speed/tempo excerpts are cut 10 % longer so that the
# query is still >= the nominal length after a speed-up (then trimmed to it).
DISTORTIONS: dict[str, tuple[float, Distortion]] = {
    "clean 5 s": (5.0, _clean),
    "clean 10 s": (10.0, _clean),
    "clean 20 s": (20.0, _clean),
    "mp3 64k": (10.0, _codec("MP3", "MPEG_LAYER_III", 64, "mp3")),
    "opus 64k": (10.0, _codec("OGG", "OPUS", 64, "opus")),
    "white 20 dB": (10.0, _noise(20, pink=False)),
    "white 10 dB": (10.0, _noise(10, pink=False)),
    "white 0 dB": (10.0, _noise(0, pink=False)),
    "pink 20 dB": (10.0, _noise(20, pink=True)),
    "pink 10 dB": (10.0, _noise(10, pink=True)),
    "pink 0 dB": (10.0, _noise(0, pink=True)),
    "gain +6 dB": (10.0, _gain(6)),
    "gain -6 dB": (10.0, _gain(-6)),
    "speed +5 %": (10.0, _speed(1.05)),
    "speed -5 %": (10.0, _speed(0.95)),
    "speed +10 %": (10.0, _speed(1.10)),
    "speed -10 %": (10.0, _speed(0.90)),
    "tempo +10 %": (10.0, _tempo(1.10)),
    "tempo -10 %": (10.0, _tempo(0.90)),
    "pitch +1 st": (10.0, _pitch(1)),
    "pitch -1 st": (10.0, _pitch(-1)),
    "pitch +2 st": (10.0, _pitch(2)),
    "pitch -2 st": (10.0, _pitch(-2)),
}
