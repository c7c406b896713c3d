"""A query's local features from one image pyramid and one FAST pass.

:func:`.local.detect` runs OpenCV's ORB three times on one image: the :data:`.local.FEATURES`
strongest keypoints with their descriptors, :data:`.local.SPREAD_CANDIDATES` candidates for the
spread keypoints, and the descriptors of the spread keypoints chosen. Each run builds the same
8-level pyramid and runs the same FAST detector on it. :func:`detect` builds the pyramid and
runs FAST once and makes both selections from that one detection as ORB makes them
(``ORB_Impl::computeKeyPoints``, OpenCV 4/5):

1. per level, the keypoints :data:`.local.EDGE_PX` or more from the border, in FAST's order;
   of those, the best 2 x n by FAST score (n: ORB's share of the features for the level);
2. their Harris response (ORB's own integer 7 x 7 formula, float32 arithmetic as in C);
3. the best n of them by Harris response;
4. the orientation (intensity centroid on the 31 px circle, OpenCV's ``fastAtan2``), for the
   keypoints kept only.

"The best n" is ``KeyPointsFilter::retainBest``: libstdc++'s ``std::nth_element``, then
``std::partition`` of the rest by the n-th response (ties at the cut are kept). Both are
followed step for step (:func:`.orb_kernels.retain_order`; it, the Harris responses and the
orientations are loops compiled by numba, :mod:`.orb_kernels`), so the keypoints come out in
ORB's order too: RANSAC samples the candidate pairs in keypoint order, and another order gave
other inlier counts (one crop of the benchmark's second draw lost). The keypoints, their
orientations, descriptors (one ORB ``compute`` call for both sets) and order are the ones
:func:`.local.detect` gives, bit for bit (tests; every query of the benchmark). Registration
keeps :func:`.local.detect`; so does a query without numba (the audio extra's), or where
ORB would take a path not followed here (nth_element's heap-select fallback, or a ``compute``
that drops a keypoint).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.fingerprint.image import local, orb_kernels

__all__ = ["detect"]

#: ORB's parameters (:func:`.local._orb`)
LEVELS = 8
#: ORB_create takes the scale factor as a C float: 1.2f, 1.2000000476837158 as a double
SCALE_FACTOR = float(np.float32(1.2))
PATCH = 31
FAST_THRESHOLD = 10
HARRIS_BLOCK = 7
HARRIS_K = np.float32(0.04)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_F = np.float32


def _per_level(features: int) -> list[int]:
    """ORB's share of ``features`` for each level (float32 arithmetic, as ORB's)."""
    factor = _F(1.0 / SCALE_FACTOR)
    desired = _F(features) * (_F(1) - factor) / (_F(1) - _F(math.pow(float(factor), LEVELS)))
    out = []
    for _ in range(LEVELS - 1):
        out.append(int(np.rint(desired)))
        desired = _F(desired * factor)
    out.append(max(features - sum(out), 0))
    return out


_SHARE_STRONG = _per_level(local.FEATURES)
_SHARE_SPREAD = _per_level(local.SPREAD_CANDIDATES)
_LAYER_SCALE = [_F(math.pow(SCALE_FACTOR, level)) for level in range(LEVELS)]


def _umax() -> I64:
    """Half-width of each row v (0..PATCH // 2) of ORB's circular patch
    (``computeKeyPoints``' ``umax``; row 0 spans the whole patch)."""
    half = PATCH // 2
    umax = [0] * (half + 2)
    vmax = math.floor(half * math.sqrt(2.0) / 2 + 1)
    vmin = math.ceil(half * math.sqrt(2.0) / 2)
    for v in range(vmax + 1):
        umax[v] = int(np.rint(math.sqrt(half * half - v * v)))
    v0 = 0
    for v in range(half, vmin - 1, -1):
        while umax[v0] == umax[v0 + 1]:
            v0 += 1
        umax[v] = v0
        v0 += 1
    return np.array(umax[: half + 1], np.int64)


_UMAX = _umax()

def _pyramid(grey: U8) -> list[U8]:
    """ORB's image pyramid (level sizes and INTER_LINEAR_EXACT resampling, each level from
    the one before)."""
    cv2 = local._cv2()
    height, width = grey.shape
    levels = [grey]
    for level in range(1, LEVELS):
        inv = _F(1) / _LAYER_SCALE[level]
        size = (int(np.rint(_F(width) * inv)), int(np.rint(_F(height) * inv)))
        levels.append(cv2.resize(levels[-1], size, interpolation=cv2.INTER_LINEAR_EXACT))
    return levels


_HARRIS_SCALE = _F(1) / _F((1 << 2) * HARRIS_BLOCK * 255.0)
_HARRIS_SCALE4 = _HARRIS_SCALE * _HARRIS_SCALE * _HARRIS_SCALE * _HARRIS_SCALE


def _angles(level: U8, x: I64, y: I64) -> F32:
    """ORB's ``ICAngles`` at (x, y) of one level: the orientation of the intensity
    centroid in the 31 px circle, degrees (:func:`.orb_kernels.orientations`)."""
    out: F32 = orb_kernels.orientations(level, x, y, _UMAX)
    return out


def _fast(level: U8, fast: Any) -> tuple[I64, I64, F32]:
    """(x, y, FAST score) of the level's FAST corners :data:`.local.EDGE_PX` or more from
    its border, in FAST's order (``KeyPointsFilter::runByImageBorder`` keeps it)."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, _F))
    height, width = level.shape
    edge = local.EDGE_PX
    if height <= 2 * edge or width <= 2 * edge:
        return empty
    found = fast.detect(level, None)
    if not found:
        return empty
    xy = np.asarray(local._cv2().KeyPoint_convert(found), dtype=_F).reshape(-1, 2)
    score = np.array([k.response for k in found], dtype=_F)
    inside = (xy[:, 0] >= edge) & (xy[:, 0] < width - edge)
    inside &= (xy[:, 1] >= edge) & (xy[:, 1] < height - edge)
    xy, score = xy[inside], score[inside]
    return np.rint(xy[:, 0]).astype(np.int64), np.rint(xy[:, 1]).astype(np.int64), score


@dataclass(frozen=True, slots=True)
class _Points:
    """Keypoints of one level: x, y in its px, Harris response."""

    level: int
    x: I64
    y: I64
    response: F32

    def level0(self) -> F32:
        """(n, 2) coordinates in the image's px, float32 as ORB computes them."""
        scale = _LAYER_SCALE[self.level]
        out = np.empty((self.x.shape[0], 2), _F)
        out[:, 0] = self.x
        out[:, 1] = self.y
        out *= scale
        return out

    def take(self, at: I64) -> _Points:
        return _Points(self.level, self.x[at], self.y[at], self.response[at])

    def join(self, other: _Points) -> _Points:
        return _Points(
            self.level,
            np.concatenate([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.response, other.response]),
        )


def detect(grey: U8) -> local.Features:
    """:func:`.local.detect`'s keypoints and descriptors, in its order (a contrast-stretched
    grey image), from one pyramid and one FAST pass (module docstring); :func:`.local.detect`
    itself without numba."""
    if orb_kernels.retain_order is None:
        return local.detect(grey)
    cv2 = local._cv2()
    pixels = np.ascontiguousarray(grey)
    levels = _pyramid(pixels)
    fast = cv2.FastFeatureDetector_create(FAST_THRESHOLD, True)
    strong: list[_Points] = []
    candidates: list[_Points] = []
    for number, level in enumerate(levels):
        x, y, score = _fast(level, fast)
        mine, theirs, response = orb_kernels.select_level(
            level, x, y, score, _SHARE_STRONG[number], _SHARE_SPREAD[number], HARRIS_K,
            _HARRIS_SCALE4,
        )  # fmt: skip
        if mine.shape[0] == 1 and mine[0] < 0:
            return local.detect(grey)  # nth_element's heap select: not followed here
        every = _Points(number, x, y, response)
        strong.append(every.take(mine))
        candidates.append(every.take(theirs))
    return _features(pixels, levels, strong, candidates)


def _features(
    grey: U8, levels: list[U8], strong: list[_Points], candidates: list[_Points]
) -> local.Features:
    """The strongest keypoints, then the spread ones chosen from ``candidates`` (in the
    candidates' order), with their orientations and descriptors, as :func:`.local.detect`
    gives them."""
    cv2 = local._cv2()
    picked = [p.take(np.zeros(0, np.int64)) for p in candidates]
    if local.SPREAD_PER_CELL > 0 and any(p.x.shape[0] for p in candidates):
        xy = np.concatenate([p.level0() for p in candidates]).astype(np.float64)
        response = np.concatenate([p.response for p in candidates]).astype(np.float64)
        strong_xy = np.concatenate([p.level0() for p in strong])
        chosen = local.spread_pick(grey.shape, strong_xy, xy, response)
        bounds = np.cumsum([0, *(p.x.shape[0] for p in candidates)])
        picked = [
            p.take(chosen[(chosen >= lo) & (chosen < hi)] - lo)
            for p, lo, hi in zip(candidates, bounds[:-1], bounds[1:], strict=True)
        ]
    # per level: its strongest and its spread keypoints (ORB's compute wants them by level)
    keypoints: list[Any] = []
    sizes = [(p.x.shape[0], q.x.shape[0]) for p, q in zip(strong, picked, strict=True)]
    for number in range(LEVELS):
        both = strong[number].join(picked[number])
        if both.x.shape[0]:
            angle = _angles(levels[number], both.x, both.y)
            keypoints.extend(_keypoints(both.level0(), angle, number))
    if not keypoints:
        return local.Features(np.zeros((0, 32), np.uint8), np.zeros((0, 2)), np.zeros(0, np.int64))
    described, descriptors = local._orb().compute(grey, keypoints)
    if descriptors is None or len(described) != len(keypoints):
        return local.detect(grey)  # not the ORB this module follows: its own answer
    # back to local.detect's order: every strongest keypoint (by level), then the spread ones
    is_strong = np.concatenate([np.repeat([True, False], size) for size in sizes])
    order = np.concatenate([np.flatnonzero(is_strong), np.flatnonzero(~is_strong)])
    xy0 = np.asarray(cv2.KeyPoint_convert(described), np.float64).reshape(-1, 2)
    octave = np.array([k.octave for k in described], np.int64)
    desc = np.asarray(descriptors, np.uint8).reshape(-1, 32)
    return local.Features(np.ascontiguousarray(desc[order]), xy0[order], octave[order])


def _keypoints(xy: F32, angle: F32, level: int) -> list[Any]:
    """cv2.KeyPoint objects of one level as ORB gives them (size: the patch at its scale)."""
    cv2 = local._cv2()
    size = float(_F(PATCH) * _LAYER_SCALE[level])
    return [
        cv2.KeyPoint(a, b, size, t, 0.0, level)
        for (a, b), t in zip(xy.tolist(), angle.tolist(), strict=True)
    ]
