"""Peak triplets and their hash keys, invariant to time stretch and pitch shift.

A triplet joins an anchor peak 1 with two later peaks 2 and 3 of its target zone
(``dt_min..dt_max`` frames later, within ``df_max`` semitones). Its key packs five fields
(Panako, Six & Leman 2014, section 2.2, with two coarse context fields added):

====== ============================================== ===========================
field  value                                           invariant to
====== ============================================== ===========================
ratio  (t2 - t1) / (t3 - t1)                           speed, tempo, pitch
d21    f2 - f1 (semitones, log axis)                   speed, tempo, pitch
d32    f3 - f2                                         speed, tempo, pitch
span   log(t3 - t1), coarse                            pitch (tempo within +-12 %)
band   f1 in octaves, coarse                           tempo (pitch within +-3.7 st)
====== ============================================== ===========================

The index stores one key per triplet. Tolerance is added on the query side only: a field
whose value lies within its ``margin`` of a bin edge is also looked up in the neighbouring
bin (:func:`quantise` records which, :func:`expand_keys` looks them up), so quantisation
edges and the coarse fields' drift under speed/tempo/pitch changes cost extra look-ups,
never index space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tdmguard.fingerprint.audio.peaks import Peaks

__all__ = ["TripletParams", "Triplets", "expand_keys", "make_triplets", "quantise"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class TripletParams:
    dt_min: float = 2.0  # frames (32 ms)
    dt_max: float = 40.0  # frames (640 ms)
    df_max: float = 12.0  # semitones
    window: int = 48  # later peaks examined per anchor (in time order)
    fanout: int = 3  # nearest zone peaks per anchor -> fanout*(fanout-1)/2 triplets
    ratio_bins: int = 12
    diff_step: float = 0.5  # semitones per d21 / d32 bin
    span_step: float = 0.223  # ln(1.25): log-span bin width
    band_step: float = 12.0  # semitones per f1 band
    # query-side tolerance, in the field's own unit
    ratio_margin: float = 0.03
    diff_margin: float = 0.12
    span_margin: float = 0.11  # ln(1.12): +-12 % tempo
    band_margin: float = 3.7  # +-2 semitones pitch + 10 % speed


@dataclass(frozen=True, slots=True, eq=False)
class Triplets:
    """``fields``: shape (n, 5) float64 unquantised (ratio, d21, d32, log span, band) in field
    units; ``t1``: shape (n,), anchor frame; ``f1``: shape (n,), anchor semitones."""

    fields: F64
    t1: F64
    f1: F64

    def __len__(self) -> int:
        return int(self.t1.shape[0])


def make_triplets(peaks: Peaks, p: TripletParams) -> Triplets:
    """All triplets of ``peaks`` (vectorised over anchors: arrays of shape (n, window))."""
    n = len(peaks)
    if n < 3:
        z = np.zeros(0, np.float64)
        return Triplets(np.zeros((0, 5), np.float64), z, z)
    t, f = peaks.t, peaks.f
    idx = np.arange(n)[:, None] + np.arange(1, p.window + 1)[None, :]
    inside = idx < n
    idx = np.minimum(idx, n - 1)
    dt = t[idx] - t[:, None]
    df = f[idx] - f[:, None]
    ok = inside & (dt >= p.dt_min) & (dt <= p.dt_max) & (np.abs(df) <= p.df_max)
    # the fanout nearest (in time) zone peaks per anchor, in time order
    chosen = ok & (np.cumsum(ok, axis=1) <= p.fanout)
    pos = np.argsort(~chosen, axis=1, kind="stable")[:, : p.fanout]
    count = chosen.sum(axis=1)
    anchors: list[I64] = []
    seconds: list[I64] = []
    thirds: list[I64] = []
    rows = np.arange(n)
    for i in range(p.fanout):
        for j in range(i + 1, p.fanout):
            has = count > j
            anchors.append(rows[has])
            seconds.append(idx[rows[has], pos[has, i]])
            thirds.append(idx[rows[has], pos[has, j]])
    a = np.concatenate(anchors)
    b = np.concatenate(seconds)
    c = np.concatenate(thirds)
    span = t[c] - t[a]
    good = (t[c] - t[b]) >= 0.5  # peaks 2 and 3 distinct in time, so the ratio is defined
    a, b, c, span = a[good], b[good], c[good], span[good]
    fields = np.stack(
        [
            (t[b] - t[a]) / span,
            f[b] - f[a],
            f[c] - f[b],
            np.log(span / p.dt_min),
            f[a],
        ],
        axis=1,
    )
    order = np.argsort(t[a], kind="stable")
    return Triplets(fields[order], t[a][order], f[a][order])


def _steps(p: TripletParams) -> tuple[F64, F64, I64]:
    """Per field: bin width, offset added before binning, number of bins."""
    n_diff = int(np.ceil(2 * 2 * p.df_max / p.diff_step)) + 2
    n_span = int(np.ceil(np.log(p.dt_max / p.dt_min) / p.span_step)) + 2
    n_band = 16
    width = np.array([1.0 / p.ratio_bins, p.diff_step, p.diff_step, p.span_step, p.band_step])
    offset = np.array([0.0, 2 * p.df_max, 2 * p.df_max, 0.0, 0.0])
    bins = np.array([p.ratio_bins, n_diff, n_diff, n_span, n_band], dtype=np.int64)
    return width, offset, bins


def _pack(q: I64, bins: I64) -> U64:
    """Mixed-radix packing of the quantised fields (shape (n, 5)) into one integer each."""
    key = np.zeros(q.shape[0], np.uint64)
    for col in range(q.shape[1]):
        key = key * np.uint64(bins[col]) + np.clip(q[:, col], 0, bins[col] - 1).astype(np.uint64)
    return key


def _unpack(keys: U64, bins: I64) -> I64:
    """Inverse of :func:`_pack`: shape (n,) keys to shape (n, 5) quantised fields."""
    q = np.zeros((keys.shape[0], bins.shape[0]), np.int64)
    rest = keys.astype(np.uint64, copy=True)
    for col in range(bins.shape[0] - 1, -1, -1):
        q[:, col] = (rest % np.uint64(bins[col])).astype(np.int64)
        rest //= np.uint64(bins[col])
    return q


def quantise(trip: Triplets, p: TripletParams) -> tuple[U64, I64]:
    """Keys (shape (n,) uint64) and neighbour codes (shape (n,) int64, < 3**5).

    A neighbour code holds one base-3 digit per field: 0 no neighbour, 1 the bin below,
    2 the bin above (where the value lies within the field's margin of that edge). The code
    travels in the fingerprint's aux so that a query can be expanded later (:func:`expand_keys`)
    without the unquantised values.
    """
    width, offset, bins = _steps(p)
    margin = np.array([p.ratio_margin, p.diff_margin, p.diff_margin, p.span_margin, p.band_margin])
    v = (trip.fields + offset) / width
    m = margin / width
    base = np.floor(v).astype(np.int64)
    below = np.floor(v - m).astype(np.int64) < base
    above = np.floor(v + m).astype(np.int64) > base
    frac = v - base
    # at most one neighbour per field: the side whose edge is nearer
    digit = np.where(below & (~above | (frac < 0.5)), 1, np.where(above, 2, 0))
    code = np.zeros(base.shape[0], np.int64)
    for col in range(base.shape[1] - 1, -1, -1):
        code = code * 3 + digit[:, col]
    return _pack(base, bins), code


def expand_keys(keys: U64, codes: I64, p: TripletParams) -> tuple[U64, I64]:
    """Query keys plus their neighbours named by ``codes`` (see :func:`quantise`).

    Returns ``(keys, source)``: shape (m,), with ``source`` the row of each key in the input.
    """
    _, _, bins = _steps(p)
    if _numba_expand is not None:
        out: tuple[U64, I64] = _numba_expand(
            np.ascontiguousarray(keys, dtype=np.uint64),
            np.ascontiguousarray(codes, dtype=np.int64),
            bins,
        )
        return out
    base = _unpack(np.asarray(keys, dtype=np.uint64), bins)
    n, k = base.shape
    digits = np.zeros((n, k), np.int64)
    rest = np.asarray(codes, dtype=np.int64).copy()
    for col in range(k):
        digits[:, col] = rest % 3
        rest //= 3
    step = np.where(digits == 1, -1, np.where(digits == 2, 1, 0))
    alt = base + step
    has_alt = (digits != 0) & (alt >= 0) & (alt < bins[None, :])
    # mixed radix (see _pack): moving field ``col`` by one bin moves the key by its stride, so a
    # neighbour key is the key plus the strides of its changed fields (no re-packing)
    stride = np.ones(k, np.int64)
    for col in range(k - 2, -1, -1):
        stride[col] = stride[col + 1] * bins[col + 1]
    delta = np.where(has_alt, step * stride[None, :], 0)
    alt_fields = (has_alt.astype(np.int64) << np.arange(k, dtype=np.int64)[None, :]).sum(axis=1)
    key0 = _pack(base, bins).astype(np.int64)
    out_keys: list[U64] = []
    sources: list[I64] = []
    rows = np.arange(n, dtype=np.int64)
    for combo in range(1 << k):
        sel = (alt_fields & combo) == combo  # every field of the combination has a neighbour
        if not sel.any():
            continue
        shift = np.zeros(int(sel.sum()), np.int64)
        for col in range(k):
            if (combo >> col) & 1:
                shift += delta[sel, col]
        out_keys.append((key0[sel] + shift).astype(np.uint64))
        sources.append(rows[sel])
    if not out_keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate(out_keys), np.concatenate(sources)


try:  # numba is part of the audio extra; without it the numpy code above does the same
    from numba import njit
except ModuleNotFoundError:  # pragma: no cover
    _numba_expand = None
else:

    @njit(cache=True, nogil=True)
    def _numba_expand(keys: U64, codes: I64, bins: I64) -> tuple[U64, I64]:
        """:func:`expand_keys` in two passes over the rows, same keys in the same order
        (by combination of changed fields, then by row)."""
        n = keys.shape[0]
        k = bins.shape[0]
        stride = np.ones(k, np.int64)
        for col in range(k - 2, -1, -1):
            stride[col] = stride[col + 1] * bins[col + 1]
        alt = np.zeros(n, np.int64)
        delta = np.zeros((n, k), np.int64)
        total = 0
        for r in range(n):
            key = np.int64(keys[r])
            code = codes[r]
            n_alt = 0
            for col in range(k):
                digit = code % 3
                code //= 3
                if digit == 0:
                    continue
                value = (key // stride[col]) % bins[col]
                step = -1 if digit == 1 else 1
                if 0 <= value + step < bins[col]:
                    alt[r] |= 1 << col
                    delta[r, col] = step * stride[col]
                    n_alt += 1
            total += 1 << n_alt
        out_keys = np.empty(total, np.uint64)
        sources = np.empty(total, np.int64)
        m = 0
        for combo in range(1 << k):
            for r in range(n):
                if (alt[r] & combo) != combo:
                    continue
                shift = np.int64(0)
                for col in range(k):
                    if (combo >> col) & 1:
                        shift += delta[r, col]
                out_keys[m] = np.uint64(np.int64(keys[r]) + shift)
                sources[m] = r
                m += 1
        return out_keys, sources
