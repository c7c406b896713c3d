"""Compiled loops of :mod:`.orb_once`: what ORB's ``computeKeyPoints`` does in C, step for step.

``retain_order`` is ``KeyPointsFilter::retainBest`` (libstdc++'s ``std::nth_element``:
introselect with median-of-three Hoare partitions and a final insertion sort; then the
bidirectional ``std::partition``), ``harris_at`` is ``HarrisResponses``, ``orientations`` is
``ICAngles`` with ``fastAtan2``; ``select_level`` is both of a query's ORB runs on one pyramid
level. Compiled by numba (the audio extra's); every name here is ``None`` without it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["fast_atan2", "harris_at", "orientations", "retain_order", "select_level"]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_F = np.float32

# OpenCV's fastAtan2 (atan_f32): a 7th-order polynomial, in float32
_DEG = _F(180.0 / math.pi)
_P1 = _F(0.9997878412794807) * _DEG
_P3 = _F(-0.3258083974640975) * _DEG
_P5 = _F(0.1555786518463281) * _DEG
_P7 = _F(-0.04432655554792128) * _DEG
_EPS = _F(np.finfo(np.float64).eps)


try:  # numba comes with the audio extra; without it orb_once runs local.detect (same answer)
    from numba import njit
except ModuleNotFoundError:  # pragma: no cover
    retain_order: Any = None
    harris_at: Any = None
    select_level: Any = None
    orientations: Any = None
    fast_atan2: Any = None
else:

    @njit(cache=True, nogil=True)
    def _swap(key: F32, idx: I64, i: int, j: int) -> None:
        key[i], key[j] = key[j], key[i]
        idx[i], idx[j] = idx[j], idx[i]

    @njit(cache=True, nogil=True)
    def _median_to_first(key: F32, idx: I64, result: int, a: int, b: int, c: int) -> None:
        # libstdc++ __move_median_to_first, comparator: response greater
        if key[a] > key[b]:
            if key[b] > key[c]:
                _swap(key, idx, result, b)
            elif key[a] > key[c]:
                _swap(key, idx, result, c)
            else:
                _swap(key, idx, result, a)
        elif key[a] > key[c]:
            _swap(key, idx, result, a)
        elif key[b] > key[c]:
            _swap(key, idx, result, c)
        else:
            _swap(key, idx, result, b)

    @njit(cache=True, nogil=True)
    def _unguarded_partition(key: F32, idx: I64, first: int, last: int, pivot: int) -> int:
        while True:
            while key[first] > key[pivot]:
                first += 1
            last -= 1
            while key[pivot] > key[last]:
                last -= 1
            if not first < last:
                return first
            _swap(key, idx, first, last)
            first += 1

    @njit(cache=True, nogil=True)
    def _insertion_sort(key: F32, idx: I64, first: int, last: int) -> None:
        if first == last:
            return
        for i in range(first + 1, last):
            value, item = key[i], idx[i]
            if value > key[first]:
                for j in range(i, first, -1):
                    key[j], idx[j] = key[j - 1], idx[j - 1]
                key[first], idx[first] = value, item
            else:
                hole = i
                while value > key[hole - 1]:
                    key[hole], idx[hole] = key[hole - 1], idx[hole - 1]
                    hole -= 1
                key[hole], idx[hole] = value, item

    @njit(cache=True, nogil=True)
    def harris_at(level: U8, x: I64, y: I64, k: Any, scale4: Any) -> F32:
        """ORB's ``HarrisResponses``: over the 7 x 7 block around each (x, y), the sums of
        Ix^2, Iy^2 and Ix Iy (3 x 3 Sobel, integers), then float32 arithmetic as in C."""
        out = np.empty(x.shape[0], np.float32)
        for i in range(x.shape[0]):
            a, b, c = 0, 0, 0
            for row in range(y[i] - 3, y[i] + 4):
                up, mid, down = level[row - 1], level[row], level[row + 1]
                for col in range(x[i] - 3, x[i] + 4):
                    left, right = col - 1, col + 1
                    ix = (int(mid[right]) - int(mid[left])) * 2
                    ix += int(up[right]) - int(up[left])
                    ix += int(down[right]) - int(down[left])
                    iy = (int(down[col]) - int(up[col])) * 2
                    iy += int(down[left]) - int(up[left])
                    iy += int(down[right]) - int(up[right])
                    a += ix * ix
                    b += iy * iy
                    c += ix * iy
            fa, fb, fc = np.float32(a), np.float32(b), np.float32(c)
            s = fa + fb
            out[i] = (fa * fb - fc * fc - k * s * s) * scale4
        return out

    @njit(cache=True, nogil=True)
    def _atan_f32(y: Any, x: Any) -> Any:
        """OpenCV's ``fastAtan2`` (``atan_f32``, degrees 0..360) in float32, bit for bit."""
        ax, ay = abs(x), abs(y)
        if ax >= ay:
            c = ay / (ax + _EPS)
            c2 = c * c
            a = (((_P7 * c2 + _P5) * c2 + _P3) * c2 + _P1) * c
        else:
            c = ax / (ay + _EPS)
            c2 = c * c
            a = _F(90) - (((_P7 * c2 + _P5) * c2 + _P3) * c2 + _P1) * c
        if x < 0:
            a = _F(180) - a
        if y < 0:
            a = _F(360) - a
        return a

    @njit(cache=True, nogil=True)
    def fast_atan2(y: F32, x: F32) -> F32:
        """OpenCV's ``fastAtan2`` of float32 arrays, degrees."""
        out = np.empty(y.shape[0], np.float32)
        for i in range(y.shape[0]):
            out[i] = _atan_f32(y[i], x[i])
        return out

    @njit(cache=True, nogil=True)
    def orientations(level: U8, x: I64, y: I64, umax: I64) -> F32:
        """ORB's ``ICAngles``: the moments m01, m10 of the circular patch (integers), then
        ``fastAtan2(m01, m10)`` in float32."""
        out = np.empty(x.shape[0], np.float32)
        half = umax.shape[0] - 1
        for i in range(x.shape[0]):
            cy, cx = y[i], x[i]
            m10, m01 = 0, 0
            for u in range(-half, half + 1):
                m10 += u * int(level[cy, cx + u])
            for v in range(1, half + 1):
                d, total = umax[v], 0
                for u in range(-d, d + 1):
                    plus, minus = int(level[cy + v, cx + u]), int(level[cy - v, cx + u])
                    total += plus - minus
                    m10 += u * (plus + minus)
                m01 += v * total
            out[i] = _atan_f32(np.float32(m01), np.float32(m10))
        return out

    @njit(cache=True, nogil=True)
    def retain_order(score: F32, n: int) -> I64:
        """``KeyPointsFilter::retainBest(keypoints, n)`` on keypoints with these responses,
        in this order: the indices it keeps, in the order it leaves them (libstdc++'s
        std::nth_element, then std::partition of the rest by the n-th response). Returns
        [-1] where nth_element would fall back to a heap select (not followed here)."""
        m = score.shape[0]
        idx = np.arange(m)
        if n < 0 or m <= n:
            return idx
        if n == 0:
            return idx[:0]
        key = score.copy()
        first, last, nth = 0, m, n - 1
        depth = 0  # 2 x std::__lg(m)
        while m >> (depth // 2 + 1):
            depth += 2
        while last - first > 3:
            if depth == 0:
                return np.full(1, -1, np.int64)
            depth -= 1
            mid = first + (last - first) // 2
            _median_to_first(key, idx, first, first + 1, mid, last - 1)
            cut = _unguarded_partition(key, idx, first + 1, last, first)
            if cut <= nth:
                first = cut
            else:
                last = cut
        _insertion_sort(key, idx, first, last)
        # std::partition (bidirectional) of [n, m) by response >= the n-th
        cut_value = key[n - 1]
        first, last = n, m
        while True:
            while first != last and key[first] >= cut_value:
                first += 1
            if first == last:
                break
            last -= 1
            while first != last and not key[last] >= cut_value:
                last -= 1
            if first == last:
                break
            _swap(key, idx, first, last)
            first += 1
        return idx[:first]


    @njit(cache=True, nogil=True)
    def select_level(
        level: U8, x: I64, y: I64, score: F32, strong: int, spread: int, k: Any, scale4: Any
    ) -> tuple[I64, I64, F32]:
        """Both ORB runs on one level's FAST corners (in FAST's order): each keeps the best
        2 n by FAST score, then the best n of those by Harris response (n: ``strong``,
        ``spread``). Returns (the strongest run's keypoints, the spread run's, the Harris
        responses), or [-1] twice where a selection is not followed (:func:`retain_order`)."""
        response = np.zeros(x.shape[0], np.float32)
        failed = np.full(1, -1, np.int64)
        wide = retain_order(score, 2 * spread)
        narrow = retain_order(score, 2 * strong)
        if (wide.shape[0] == 1 and wide[0] < 0) or (narrow.shape[0] == 1 and narrow[0] < 0):
            return failed, failed, response
        if wide.shape[0]:
            # the strongest run's pool is within the spread run's (ties at the cut are kept)
            response[wide] = harris_at(level, x[wide], y[wide], k, scale4)
        best_narrow = retain_order(response[narrow], strong)
        best_wide = retain_order(response[wide], spread)
        if (best_narrow.shape[0] == 1 and best_narrow[0] < 0) or (
            best_wide.shape[0] == 1 and best_wide[0] < 0
        ):
            return failed, failed, response
        return narrow[best_narrow], wide[best_wide], response
