"""Peak picking: the compiled local-maximum search equals the two numpy max filters."""

from __future__ import annotations

import numpy as np

from tdmguard.fingerprint.audio import peaks
from tdmguard.fingerprint.audio.peaks import PeakParams, _power, _sliding_max


def _filters(logp: np.ndarray, floor: np.float32, p: PeakParams, row0: int, row1: int
             ) -> tuple[np.ndarray, np.ndarray]:
    local = _sliding_max(_sliding_max(logp, p.freq_radius, 1), p.time_radius, 0)
    peak = (logp == local) & (logp > floor)
    peak[:, 0] = peak[:, -1] = False
    peak[:row0] = False
    peak[row1:] = False
    return np.nonzero(peak)


def test_local_maxima_equal_max_filters(signals: dict[str, np.ndarray]) -> None:
    assert peaks.numba_peaks is not None
    p = PeakParams()
    floor = np.float32(np.log((p.n_fft / 4) ** 2 * 10 ** (p.floor_db / 10)))
    rng = np.random.default_rng(4)
    for x in signals.values():
        n_frames = 1 + (x.shape[0] - p.n_fft) // p.hop
        logp = _power(x, 0, n_frames, p, 14, 452)
        logp += np.float32(1e-12)
        np.log(logp, out=logp)
        # plateaus (equal neighbours) and a silent stretch below the floor, as in real files
        logp[100:110, 200:230] = logp[100, 200]
        logp[300:340] = floor - 1
        for row0, row1 in ((0, n_frames), (1, n_frames - 1), (64, 200)):
            ti, fi = peaks._local_maxima(logp, floor, p.time_radius, p.freq_radius, row0, row1)
            want_t, want_f = _filters(logp, floor, p, row0, row1)
            assert np.array_equal(ti, want_t) and np.array_equal(fi, want_f)
            assert ti.shape[0] > 0
        noise = rng.standard_normal(logp.shape).astype(np.float32)
        ti, fi = peaks._local_maxima(noise, np.float32(-9), 3, 4, 0, noise.shape[0])
        want_t, want_f = _filters_r(noise, np.float32(-9), 3, 4)
        assert np.array_equal(ti, want_t) and np.array_equal(fi, want_f)


def _filters_r(logp: np.ndarray, floor: np.float32, tr: int, fr: int
               ) -> tuple[np.ndarray, np.ndarray]:
    local = _sliding_max(_sliding_max(logp, fr, 1), tr, 0)
    peak = (logp == local) & (logp > floor)
    peak[:, 0] = peak[:, -1] = False
    return np.nonzero(peak)


def test_power_floor_is_the_log_floor() -> None:
    """Peaks are picked on powers against ``_power_floor``: exactly the powers whose float32
    ``log(power + 1e-12)`` lies above the log floor."""
    p = PeakParams()
    floor = float(np.log((p.n_fft / 4) ** 2 * 10 ** (p.floor_db / 10)))
    v = peaks._power_floor(floor)
    eps = np.float32(1e-12)
    assert not np.log(np.float32(v + eps)) > np.float32(floor)
    assert np.log(np.float32(np.nextafter(v, np.float32(np.inf)) + eps)) > np.float32(floor)
    values = np.float32(v) * np.linspace(0.5, 2.0, 10_001, dtype=np.float32)
    assert np.array_equal(values > v, np.log(values + eps) > np.float32(floor))
