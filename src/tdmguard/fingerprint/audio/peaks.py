"""Spectral peaks ("constellation points") of a mono signal.

A short-time power spectrum (Hann window) is computed in chunks of ``chunk_frames`` frames, so a
long file never needs its whole spectrogram in memory. A point is a local maximum of the log
power in a ``(2*time_radius+1) x (2*freq_radius+1)`` neighbourhood above an absolute floor
(silence gives no peaks). Each 1-second block keeps its ``peaks_per_block`` strongest points, which
fixes the density, hence the index size per hour. Position is refined by a parabola through
the log power of the neighbours (sub-frame time, sub-bin frequency), and frequency is put on a
log axis (semitones above ``fmin_hz``): a pitch shift is then a constant offset and a speed
change a constant offset plus a time scale, which is what makes the hashes invariant
(Panako, Six & Leman, ISMIR 2014, section 2).

:func:`noise_flatness` measures how noise-like a signal is (issue 14): the median over frames
of the spectral flatness (geometric over arithmetic mean of the power) once the spectrum is
tilted by +3 dB per octave, so that pink noise and white noise both read near 0.5 and music
near 0.03. It does not change the peaks; the engine uses it to give a noisy query a larger
hit budget.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PeakParams", "Peaks", "find_peaks", "noise_flatness"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PeakParams:
    rate_hz: int = 8000
    n_fft: int = 1024
    hop: int = 128  # 16 ms frames at 8 kHz
    fmin_hz: float = 110.0
    fmax_hz: float = 3520.0  # 5 octaves
    time_radius: int = 7  # frames: the neighbourhood is +-112 ms
    freq_radius: int = 9  # FFT bins: +-70 Hz
    block_frames: int = 64  # ~1 s density blocks
    peaks_per_block: int = 13
    floor_db: float = -70.0  # below full-scale sine power: silence
    chunk_frames: int = 64 * 60  # ~61 s of spectrogram in memory at a time
    flatness_frames: int = 8  # noise_flatness reads every 8th frame of the first chunk


@dataclass(frozen=True, slots=True, eq=False)
class Peaks:
    """Points sorted by time. ``t``: shape (n,), frames (fractional); ``f``: shape (n,),
    semitones above ``fmin_hz`` (fractional); ``level``: shape (n,), natural-log power.
    ``flatness``: :func:`noise_flatness` of the signal, measured on the same spectrum."""

    t: F64
    f: F64
    level: F64
    flatness: float = 0.0

    def __len__(self) -> int:
        return int(self.t.shape[0])



try:  # numba is part of the audio extra; without it the max filters below do the same job
    from numba import njit
except ModuleNotFoundError:  # pragma: no cover
    numba_peaks = None
    numba_power = None
else:

    @njit(cache=True, nogil=True)
    def numba_power(spec: npt.NDArray[np.complex64]) -> F32:
        """``re * re + im * im`` of a (frames, bins) complex64 array, in float32."""
        n, m = spec.shape
        out = np.empty((n, m), np.float32)
        for i in range(n):
            for j in range(m):
                z = spec[i, j]
                out[i, j] = z.real * z.real + z.imag * z.imag
        return out

    @njit(cache=True, nogil=True)
    def numba_peaks(
        logp: F32, floor: np.float32, t_radius: int, f_radius: int, row0: int, row1: int
    ) -> npt.NDArray[np.int64]:
        """Flat indices of :func:`_local_maxima`, row-major.

        First each cell's maximum over its frequency window (van Herk / Gil-Werman: block
        prefix and suffix maxima, three comparisons per cell whatever the radius); a cell
        is a peak when it equals that maximum (a local maximum in frequency: a few percent
        of cells) and no frequency-window maximum of the rows within ``t_radius`` exceeds
        it. Maxima are exact, so this equals the two max filters it replaces."""
        n, m = logp.shape
        w = 2 * f_radius + 1
        padded = m + 2 * f_radius
        blocks = (padded + w - 1) // w
        size = blocks * w
        row = np.empty(size, np.float32)
        pre = np.empty(size, np.float32)
        suf = np.empty(size, np.float32)
        fmax = np.empty((n, m), np.float32)
        neg = np.float32(-np.inf)
        for i in range(n):
            for x in range(size):
                row[x] = neg
            for j in range(m):
                row[j + f_radius] = logp[i, j]
            for b0 in range(0, size, w):
                acc = neg
                for x in range(b0, b0 + w):
                    acc = max(acc, row[x])
                    pre[x] = acc
                acc = neg
                for x in range(b0 + w - 1, b0 - 1, -1):
                    acc = max(acc, row[x])
                    suf[x] = acc
            # window of cell j: padded positions j .. j + w - 1
            for j in range(m):
                fmax[i, j] = max(suf[j], pre[j + w - 1])
        out = np.empty(max(0, row1 - row0) * m, np.int64)
        k = 0
        for i in range(row0, row1):
            i_lo = max(0, i - t_radius)
            i_hi = min(n, i + t_radius + 1)
            for j in range(1, m - 1):
                v = logp[i, j]
                if not v > floor or fmax[i, j] > v:
                    continue
                top = True
                for ii in range(i_lo, i_hi):
                    if fmax[ii, j] > v:
                        top = False
                        break
                if top:
                    out[k] = i * m + j
                    k += 1
        return out[:k].copy()


@functools.cache
def _hann(n: int) -> F32:
    window: F32 = np.hanning(n).astype(np.float32)
    window.flags.writeable = False
    return window


@functools.cache
def _power_floor(floor_log: float) -> np.float32:
    """The largest float32 power ``v`` with ``log(v + 1e-12) <= floor_log`` in float32 (the
    log the spectrogram used to be taken in): ``v > floor`` on powers is then exactly
    ``log(v + 1e-12) > floor`` on log powers, and only the kept points need a logarithm."""
    target = np.float32(floor_log)
    eps = np.float32(1e-12)

    def above(v: np.float32) -> bool:
        return bool(np.log(np.float32(v + eps)) > target)

    v = np.float32(np.exp(np.float64(target)))
    while above(v):
        v = np.nextafter(v, np.float32(0.0))
    while not above(np.nextafter(v, np.float32(np.inf))):
        v = np.nextafter(v, np.float32(np.inf))
    return np.float32(v)


def _log_at(power: F32, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]) -> F64:
    """``log(power + 1e-12)`` in float32 at the given cells, as float64."""
    out: F64 = np.log(power[rows, cols] + np.float32(1e-12)).astype(np.float64)
    return out


def _power(x: F32, start_frame: int, n_frames: int, p: PeakParams, lo: int, hi: int) -> F32:
    """Power spectrum of frames ``start_frame .. start_frame+n_frames-1``: shape (n, hi-lo)."""
    from scipy import fft

    first = start_frame * p.hop
    need = (n_frames - 1) * p.hop + p.n_fft
    seg = x[first : first + need]
    if seg.shape[0] < need:
        seg = np.concatenate([seg, np.zeros(need - seg.shape[0], np.float32)])
    frames = np.lib.stride_tricks.sliding_window_view(seg, p.n_fft)[:: p.hop][:n_frames]
    # the windowed copy is ours: the FFT may overwrite it
    spec = fft.rfft(frames * _hann(p.n_fft), axis=1, workers=1, overwrite_x=True)[:, lo:hi]
    if numba_power is not None:  # one pass over the complex spectrum, same float32 sums
        computed: F32 = numba_power(spec)
        return computed
    re, im = spec.real, spec.imag
    power: F32 = re * re
    power += im * im
    return power


def _sliding_max(a: F32, radius: int, axis: int) -> F32:
    """Maximum over ``[i - radius, i + radius]`` along ``axis`` (edges padded with -inf).

    Doubling trick: max over windows of 1, 2, 4, ... then two overlapping windows cover
    2*radius+1; about log2(2r+1) passes of ``np.maximum`` over the array (2-3x faster than
    ``scipy.ndimage.maximum_filter`` on a (frames, bins) float32 spectrogram).
    """
    width = 2 * radius + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    m = np.pad(a, pad, constant_values=-np.inf)
    n = a.shape[axis]

    def cut(arr: F32, start: int, stop: int) -> F32:
        index: list[slice] = [slice(None), slice(None)]
        index[axis] = slice(start, stop)
        return arr[tuple(index)]

    size = 1
    while 2 * size <= width:
        length = m.shape[axis] - size
        m = np.maximum(cut(m, 0, length), cut(m, size, size + length))
        size *= 2
    # m[i] = max over [i, i + size); cover [i, i + width) with two such windows
    out: F32 = np.maximum(cut(m, 0, n), cut(m, width - size, width - size + n))
    return out


def _local_maxima(
    logp: F32, floor: np.float32, t_radius: int, f_radius: int, row0: int, row1: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``np.nonzero`` of: rows ``row0 .. row1-1``, columns ``1 .. m-2`` of ``logp`` (shape
    (n, m)) that are above ``floor`` and equal to the maximum of their ``(2 t_radius + 1) x
    (2 f_radius + 1)`` neighbourhood (clipped at the edges), in row-major order."""
    if numba_peaks is None:  # numba missing: the same answer with numpy max filters
        local = _sliding_max(_sliding_max(logp, f_radius, 1), t_radius, 0)
        peak = logp == local
        peak &= logp > floor
        peak[:, 0] = peak[:, -1] = False
        peak[:row0] = False
        peak[max(row0, row1) :] = False
        ti, fi = np.nonzero(peak)
        return ti.astype(np.int64), fi.astype(np.int64)
    flat = numba_peaks(logp, floor, t_radius, f_radius, row0, row1)
    m = logp.shape[1]
    return flat // m, flat % m


@functools.cache
def _tilt(lo: int, hi: int) -> F32:
    """Per-bin weights ``k / lo`` (+3 dB per octave): pink noise's power falls as 1/f, so
    weighted it is as flat as white noise."""
    tilt: F32 = (np.arange(lo, hi, dtype=np.float32) / np.float32(lo)).astype(np.float32)
    tilt.flags.writeable = False
    return tilt


def _band(p: PeakParams) -> tuple[int, int]:
    """FFT bins ``lo .. hi-1`` of the ``fmin_hz .. fmax_hz`` band."""
    bin_hz = p.rate_hz / p.n_fft
    lo = max(1, int(np.floor(p.fmin_hz / bin_hz)))
    hi = min(p.n_fft // 2, int(np.ceil(p.fmax_hz / bin_hz)) + 1)
    return lo, hi


def noise_flatness(x: F32, p: PeakParams) -> float:
    """Median spectral flatness (0..1) of the tilted power spectrum over the peaks' band, on
    every ``flatness_frames``-th frame of the first ``chunk_frames`` frames. Frames below the
    silence floor are left out; 0.0 when none is left. :func:`find_peaks` measures the same
    on the spectrum it computes anyway (``Peaks.flatness``).

    Measured on 10 s excerpts of real music (benchmarks/audio/noise.py): clean music and
    codec copies 0.00-0.25 (median 0.04), the same with pink noise at 0 dB SNR 0.31-0.56,
    white noise at 0 dB 0.29-0.47."""
    n_frames = 0 if x.shape[0] < p.n_fft else 1 + (x.shape[0] - p.n_fft) // p.hop
    n_frames = min(n_frames, p.chunk_frames - p.chunk_frames % p.block_frames)
    if n_frames == 0:
        return 0.0
    lo, hi = _band(p)
    return _flatness(_power(x, 0, n_frames, p, lo, hi), p, lo, hi)


def _flatness(power: F32, p: PeakParams, lo: int, hi: int) -> float:
    """:func:`noise_flatness` of a (frames, hi - lo) power spectrum."""
    rows = power[:: max(1, p.flatness_frames)] * _tilt(lo, hi)
    floor = np.float32((p.n_fft / 4) ** 2 * 10 ** (p.floor_db / 10))
    mean = rows.mean(axis=1, dtype=np.float64)
    loud = mean > floor
    if not loud.any():
        return 0.0
    logs = np.log(rows[loud] + np.float32(1e-12)).mean(axis=1, dtype=np.float64)
    return float(np.median(np.exp(logs) / mean[loud]))


def find_peaks(x: F32, p: PeakParams) -> Peaks:
    """Peaks of signal ``x`` (shape (n,), float32 at ``p.rate_hz``, full scale +-1)."""
    n_frames = 0 if x.shape[0] < p.n_fft else 1 + (x.shape[0] - p.n_fft) // p.hop
    bin_hz = p.rate_hz / p.n_fft
    lo, hi = _band(p)
    # a full-scale sine has power (n_fft/4)^2 with a Hann window; the floor is a log power,
    # compared on powers (a log of the whole spectrogram cost an eighth of the fingerprint)
    floor = _power_floor(float(np.log((p.n_fft / 4) ** 2 * 10 ** (p.floor_db / 10))))
    pad = p.time_radius + 1
    out_t: list[F64] = []
    out_f: list[F64] = []
    out_l: list[F64] = []
    flatness = 0.0
    chunk = p.chunk_frames - p.chunk_frames % p.block_frames
    for c0 in range(0, n_frames, chunk):
        c1 = min(n_frames, c0 + chunk)
        a = max(0, c0 - pad)
        b = min(n_frames, c1 + pad)
        power = _power(x, a, b - a, p, lo, hi)
        if c0 == 0:  # the first chunk's own frames (a == 0 here)
            flatness = _flatness(power[: c1 - c0], p, lo, hi)
        # refinement needs both neighbours; keep only this chunk's own frames
        row0 = max(c0 - a, 1 if a == 0 else 0)
        row1 = min(c1 - a, power.shape[0] - 1 if b == n_frames else power.shape[0])
        # maxima of the power are the maxima of its log (monotone): the log is taken below,
        # at the points kept and their four neighbours only
        ti, fi = _local_maxima(power, floor, p.time_radius, p.freq_radius, row0, row1)
        if ti.shape[0] == 0:
            continue
        level = _log_at(power, ti, fi)
        # strongest peaks_per_block per density block
        block = (ti + a) // p.block_frames
        order = np.lexsort((-level, block))
        block_sorted = block[order]
        first = np.searchsorted(block_sorted, block_sorted, side="left")
        rank = np.arange(order.shape[0]) - first
        keep = order[rank < p.peaks_per_block]
        ti, fi, level = ti[keep], fi[keep], level[keep]
        # parabolic refinement on log power: offset = (l - r) / (2 (l - 2c + r)), in (-0.5, 0.5)
        c = level
        fl, fr = _log_at(power, ti, fi - 1), _log_at(power, ti, fi + 1)
        tl, tr = _log_at(power, ti - 1, fi), _log_at(power, ti + 1, fi)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.nan_to_num(0.5 * (fl - fr) / (fl - 2 * c + fr))
            dt = np.nan_to_num(0.5 * (tl - tr) / (tl - 2 * c + tr))
        df = np.clip(df, -0.5, 0.5)
        dt = np.clip(dt, -0.5, 0.5)
        hz = (fi + lo + df) * bin_hz
        out_t.append(ti + a + dt)
        out_f.append(12.0 * np.log2(hz / p.fmin_hz))
        out_l.append(level)
    if not out_t:
        empty = np.zeros(0, np.float64)
        return Peaks(empty, empty, empty, flatness)
    t = np.concatenate(out_t)
    order = np.argsort(t, kind="stable")
    t_sorted, f_sorted = t[order], np.concatenate(out_f)[order]
    return Peaks(t_sorted, f_sorted, np.concatenate(out_l)[order], flatness)
