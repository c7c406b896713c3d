"""Local features for crops: ORB keypoints, locality-sensitive keys, geometric verification.

A global hash (PDQ) moves by tens of bits when the frame shifts by 1-2 % of its side, so a
crop at a random position (random-resized-crop, an aspect-ratio crop) is found only when it
happens to be close to a registered crop. Local features do not care where the frame is:

1. ORB (OpenCV; FAST corners at 8 scales, 256-bit rotated-BRIEF descriptors) on the
   contrast-stretched grey working image, at most :data:`FEATURES` keypoints.
2. Each descriptor is stored :data:`TABLES` times, under keys made of :data:`KEY_BITS` fixed
   descriptor bits each (bit sampling LSH for Hamming distance), with the whole descriptor
   and the keypoint's position and scale. An exact key look-up in the index then finds
   candidate keypoints whose descriptors are close, as the audio engine's hashes do.
3. Candidates within :data:`MAX_DESCRIPTOR_DISTANCE` bits are kept; per work, a similarity
   transform (scale, rotation, shift) is fitted with RANSAC; a work matches when at least
   :data:`MIN_INLIERS` distinct keypoints agree with it, with a plausible scale and a small
   rotation. Random descriptor collisions do not agree on one geometry, so unrelated images
   do not reach the count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import MissingExtraError

__all__ = [
    "FEATURES",
    "MIN_INLIERS",
    "Features",
    "LocalMatch",
    "detect",
    "row_keys",
    "verify",
]

#: the strongest keypoints of an image (ORB's own selection, by Harris response)
FEATURES = 200
#: ... plus up to SPREAD_PER_CELL more in each cell of a SPREAD_GRID x SPREAD_GRID grid,
#: strongest first, chosen from SPREAD_CANDIDATES: the strongest keypoints of a painting
#: crowd into its busiest part (172 of 200 in one fifth of a landscape's area), so a crop
#: that cuts that part away kept 16 of them and was not found; spread keypoints cover
#: every part of the image that has corners at all
SPREAD_GRID = 4
SPREAD_PER_CELL = 8
SPREAD_CANDIDATES = 1500
#: a spread keypoint this close to one of the strongest is the same point, px
SPREAD_SAME_PX = 3.0
#: hash tables (keys per keypoint) and descriptor bits per key
TABLES = 3
KEY_BITS = 20
#: key tag of local-feature rows (top 8 bits 0x4C, then the table number)
KEY_TAG = 0x4C
#: a candidate keypoint pair counts only within this many bits of 256
MAX_DESCRIPTOR_DISTANCE = 48
#: RANSAC reprojection tolerance, in px of the registered working image (longest side 512)
REPROJECTION_PX = 6.0
#: a work matches with at least this many geometrically consistent keypoints (this and RATIO
#: chosen on the benchmark's calibration split, benchmarks/image/sweep.py; the spread keypoints
#: give true crops more inliers, look-alike families of clip-art reached 10..13)
MIN_INLIERS = 14
#: accepted scale range (query px -> registered px) and largest rotation, degrees
SCALE_RANGE = (0.1, 10.0)
MAX_ROTATION_DEG = 12.0
#: coordinates are stored in 1/16 px
SUBPIXEL = 16
#: a query keypoint's closest registered keypoint counts only when every other one of the same
#: work (elsewhere in it) is farther than best / RATIO in descriptor bits (Lowe's ratio test)
RATIO = 0.7
#: ORB finds no keypoint this close to the image edge (its ``edgeThreshold``), px
EDGE_PX = 15

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# fixed, seeded bit positions of each table's key (part of the fingerprint format)
_KEY_POSITIONS = (
    np.random.default_rng(20261203).permutation(256)[: TABLES * KEY_BITS].reshape(TABLES, KEY_BITS)
)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
#: numpy >= 2.0 counts the bits of a 64-bit word in one instruction; older numpy: a lookup
_BITWISE_COUNT: Callable[[U64], npt.NDArray[np.uint8]] | None = getattr(np, "bitwise_count", None)


def _cv2() -> Any:
    try:
        import cv2
    except ModuleNotFoundError as exc:
        raise MissingExtraError("opencv-python-headless", "image") from exc
    cv2.setNumThreads(1)
    return cv2


_ORB: dict[int, Any] = {}


def _orb(features: int = FEATURES) -> Any:
    if features not in _ORB:
        _ORB[features] = _cv2().ORB_create(
            nfeatures=features,
            scaleFactor=1.2,
            nlevels=8,
            edgeThreshold=EDGE_PX,
            patchSize=31,
            fastThreshold=10,
        )
    return _ORB[features]


@dataclass(frozen=True, slots=True)
class Features:
    """``descriptors`` (n, 32) uint8; ``xy`` (n, 2) float64 px; ``octave`` (n,) int."""

    descriptors: U8
    xy: F64
    octave: I64

    def __len__(self) -> int:
        return int(self.descriptors.shape[0])


def stretch(grey: U8) -> U8:
    """Contrast stretch (0.5th..99.5th percentile grey level to 0..255): a dark or foggy
    image gets the corners a bright one has (FAST's threshold is absolute)."""
    cv2 = _cv2()
    pixels = np.ascontiguousarray(grey)
    if pixels.size < 1 << 24:  # OpenCV counts in float32: exact below 2**24 pixels
        # np.bincount's counts, without widening every pixel to 64 bits (a third the time)
        counts = np.rint(cv2.calcHist([pixels], [0], None, [256], [0, 256]).reshape(-1))
        cumulative = np.cumsum(counts.astype(np.int64))
    else:
        cumulative = np.cumsum(np.bincount(pixels.reshape(-1), minlength=256))
    total = int(cumulative[-1])
    lo = int(np.searchsorted(cumulative, total * 0.005, side="right"))
    hi = int(np.searchsorted(cumulative, total * 0.995, side="left"))
    if hi - lo < 1:
        return grey
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
    table = np.rint(lut).astype(np.uint8)
    return np.asarray(cv2.LUT(pixels, table), dtype=np.uint8)


def detect(grey: U8) -> Features:
    """ORB keypoints of a grey working image (already contrast-stretched): the
    :data:`FEATURES` strongest (the same keypoints earlier versions registered, so their
    fingerprints keep matching), then up to :data:`SPREAD_PER_CELL` more per grid cell."""
    pixels = np.ascontiguousarray(grey)
    keypoints, descriptors = _orb().detectAndCompute(pixels, None)
    if descriptors is None or not keypoints:
        keypoints, descriptors = [], np.zeros((0, 32), np.uint8)
    spread, spread_desc = _spread(pixels, keypoints)
    keypoints = [*keypoints, *spread]
    if not keypoints:
        return Features(np.zeros((0, 32), np.uint8), np.zeros((0, 2)), np.zeros(0, np.int64))
    xy = np.array([k.pt for k in keypoints], dtype=np.float64)
    octave = np.array([k.octave for k in keypoints], dtype=np.int64)
    both = np.concatenate([np.asarray(descriptors, np.uint8).reshape(-1, 32), spread_desc])
    return Features(np.ascontiguousarray(both, dtype=np.uint8), xy, octave)


def _spread(grey: U8, strongest: Sequence[Any]) -> tuple[list[Any], U8]:
    """Up to :data:`SPREAD_PER_CELL` keypoints per grid cell, strongest first, that are not
    already among ``strongest``; with their descriptors (n, 32)."""
    none: tuple[list[Any], U8] = ([], np.zeros((0, 32), np.uint8))
    if SPREAD_PER_CELL <= 0:
        return none
    orb = _orb(SPREAD_CANDIDATES)
    cv2 = _cv2()
    candidates = orb.detect(grey, None)
    if not candidates:
        return none
    xy = np.asarray(cv2.KeyPoint_convert(candidates), dtype=np.float64).reshape(-1, 2)
    response = np.array([k.response for k in candidates], dtype=np.float64)
    strong_xy = (
        np.asarray(cv2.KeyPoint_convert(list(strongest))).reshape(-1, 2)
        if strongest
        else np.zeros((0, 2), np.float32)
    )
    chosen = spread_pick(grey.shape, strong_xy, xy, response)
    if not chosen.shape[0]:
        return none
    picked, descriptors = orb.compute(grey, [candidates[j] for j in chosen])
    if descriptors is None or not picked:
        return none
    return list(picked), np.asarray(descriptors, np.uint8).reshape(-1, 32)


def spread_pick(shape: tuple[int, ...], strong_xy: npt.NDArray[Any], xy: F64, response: F64) -> I64:
    """Indices (ascending) of the spread keypoints among candidates at ``xy`` (n, 2) with
    their ORB ``response``: up to :data:`SPREAD_PER_CELL` per grid cell, strongest first,
    none within :data:`SPREAD_SAME_PX` of the strongest keypoints (``strong_xy``, (m, 2),
    float32 as ORB gives them) of an image of ``shape`` (height, width)."""
    cv2 = _cv2()
    height, width = int(shape[0]), int(shape[1])
    keep = np.ones(xy.shape[0], bool)
    if strong_xy.shape[0]:
        # pixels within SPREAD_SAME_PX of a strongest keypoint (a dilated occupancy map)
        taken = np.zeros((height, width), np.uint8)
        pts = np.rint(strong_xy)
        px = np.clip(pts.astype(np.int64), 0, [width - 1, height - 1])
        taken[px[:, 1], px[:, 0]] = 1
        side = 2 * int(SPREAD_SAME_PX) + 1
        taken = cv2.dilate(taken, np.ones((side, side), np.uint8))
        at = np.clip(np.rint(xy).astype(np.int64), 0, [width - 1, height - 1])
        keep = taken[at[:, 1], at[:, 0]] == 0
    cell = (
        np.minimum((xy[:, 1] * SPREAD_GRID / height).astype(np.int64), SPREAD_GRID - 1)
        * SPREAD_GRID
    ) + np.minimum((xy[:, 0] * SPREAD_GRID / width).astype(np.int64), SPREAD_GRID - 1)
    chosen: list[int] = []
    order = np.lexsort((-response, cell))
    order = order[keep[order]]
    cells = cell[order]
    first = np.flatnonzero(np.concatenate([[True], cells[1:] != cells[:-1]]))
    for start, end in zip(first, [*first[1:], order.shape[0]], strict=True):
        chosen.extend(int(j) for j in order[start : min(end, start + SPREAD_PER_CELL)])
    return np.array(sorted(chosen), dtype=np.int64)


def table_keys(descriptors: U8) -> U64:
    """(n, 32) descriptors -> (n, TABLES) uint64 keys."""
    bits = np.unpackbits(descriptors, axis=1)  # (n, 256)
    weights = (np.uint64(1) << np.arange(KEY_BITS, dtype=np.uint64)).astype(np.uint64)
    keys = np.zeros((descriptors.shape[0], TABLES), np.uint64)
    for table in range(TABLES):
        value = (bits[:, _KEY_POSITIONS[table]].astype(np.uint64) * weights).sum(axis=1)
        tag = np.uint64((KEY_TAG << 56) | (table << 48))
        keys[:, table] = np.asarray(value, dtype=np.uint64) | tag
    return keys


def row_keys(features: Features) -> tuple[U64, I64]:
    """Keys of every stored row and the keypoint each belongs to (TABLES rows a keypoint)."""
    keys = table_keys(features.descriptors)
    owner = np.repeat(np.arange(len(features), dtype=np.int64), TABLES)
    return keys.reshape(-1), owner


def hamming(a: U8, b: U8) -> I64:
    """Row-wise Hamming distance of two (n, 32) uint8 arrays.

    The descriptors are compared as 4 64-bit words each (a quarter of the byte-wise work:
    tens of thousands of candidate pairs a query)."""
    x = np.ascontiguousarray(a, dtype=np.uint8).reshape(-1, 32).view(np.uint64)
    y = np.ascontiguousarray(b, dtype=np.uint8).reshape(-1, 32).view(np.uint64)
    xor = np.bitwise_xor(x, y)
    if _BITWISE_COUNT is not None:
        return np.asarray(_BITWISE_COUNT(xor).sum(axis=1, dtype=np.int64))
    return np.asarray(_POPCOUNT[xor.view(np.uint8)].sum(axis=1, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class LocalMatch:
    """``query_points``: the query keypoints (indices) that agree with the geometry;
    ``coverage``: their share of the query keypoints that the geometry maps inside the
    registered image (1.0 when its size is unknown)."""

    work: int
    inliers: int
    scale: float
    rotation_deg: float
    query_points: frozenset[int] = frozenset()
    coverage: float = 1.0
    #: descriptor distance (bits) of each inlier query keypoint to its registered keypoint
    bits: Mapping[int, int] = field(default_factory=dict)


def _coverage(query: Features, matrix: F64, size: tuple[int, int] | None, inliers: int) -> float:
    """``inliers`` / query keypoints that ``matrix`` maps inside the registered image (its
    ORB edge margin left out). A copy or a crop has most of those keypoints repeated; a
    look-alike (another star of the family, another card of the suit) shares a few parts
    that happen to fit one geometry, and the rest of its keypoints fall on nothing."""
    if size is None or len(query) == 0:
        return 1.0
    width, height = size
    mapped = query.xy @ matrix[:, :2].T + matrix[:, 2]
    edge = float(EDGE_PX)
    inside = (
        (mapped[:, 0] >= edge)
        & (mapped[:, 0] < width - edge)
        & (mapped[:, 1] >= edge)
        & (mapped[:, 1] < height - edge)
    )
    return min(1.0, inliers / max(int(inside.sum()), inliers, 1))


def _distinctive(query_row: I64, ref_xy: F64, dist: I64) -> F64:
    """Candidate pairs of one work -> (n, 4) rows (query keypoint, x, y in 1/SUBPIXEL px,
    descriptor distance in bits):
    each query keypoint's closest registered keypoint, kept only when it is distinctive.

    Lowe's ratio test: when a second registered keypoint elsewhere in the same work (more
    than :data:`REPROJECTION_PX` away) is nearly as close in descriptor space
    (best > :data:`RATIO` x second), the query keypoint sits on a repeated part (a star's
    tips, a flag's stripes, a card's suit signs) and says nothing about where it is; such
    parts otherwise let two members of one design family line up on one geometry."""
    order = np.lexsort((dist, query_row))
    q, xy, d = query_row[order], ref_xy[order], dist[order]
    first = np.flatnonzero(np.concatenate([[True], q[1:] != q[:-1]]))
    group = np.repeat(np.arange(first.shape[0]), np.diff(np.append(first, q.shape[0])))
    best_xy = xy[first][group]
    far = np.hypot(*(xy - best_xy).T) > REPROJECTION_PX
    rival = np.where(far, d, np.iinfo(np.int64).max)
    second = np.minimum.reduceat(rival, first)
    keep = d[first] < RATIO * second
    rows = first[keep]
    return np.column_stack([q[rows], np.rint(xy[rows] * SUBPIXEL), d[rows]]).astype(np.float64)


def verify(
    query: Features,
    query_row: I64,
    work: I64,
    ref_descriptors: U8,
    ref_xy: F64,
    ref_size: Callable[[int], tuple[int, int] | None] | None = None,
    min_inliers: int | None = None,
    gate: int | None = None,
) -> Sequence[LocalMatch]:
    """Geometric verification of candidate keypoint pairs.

    ``query_row`` indexes ``query`` keypoints; ``work``, ``ref_descriptors`` (m, 32) and
    ``ref_xy`` (m, 2) describe the registered keypoint of each candidate pair; ``ref_size``
    gives a work's working-image (width, height), for the reported coverage; ``min_inliers``:
    the fewest inliers of a returned match (below :data:`MIN_INLIERS` only to measure the
    evidence of the runner-up works, never to report them); ``gate``: a work whose
    candidate pairs hold fewer distinct query keypoints than this is verified only when a
    work at or above it matched with at least ``gate`` inliers (it can be a rival then, never
    a match: inliers are distinct query keypoints); no gate when ``None``. A query that
    shows no registered work (most of a dataset) then fits no geometry at all: the chance
    hits of a few dozen works stay under the gate."""
    if min_inliers is None:
        min_inliers = MIN_INLIERS
    if query_row.shape[0] == 0:
        return []
    dist = hamming(query.descriptors[query_row], ref_descriptors)
    close = dist <= MAX_DESCRIPTOR_DISTANCE
    query_row, work, ref_xy, dist = query_row[close], work[close], ref_xy[close], dist[close]
    if query_row.shape[0] < min_inliers:
        return []
    # only works with enough candidate pairs are verified (most works have a few chance hits)
    enough = np.bincount(work)[work] >= min_inliers
    query_row, work, ref_xy, dist = query_row[enough], work[enough], ref_xy[enough], dist[enough]
    if query_row.shape[0] == 0:
        return []
    order = np.lexsort((query_row, work))  # by work, then query keypoint
    works, starts = np.unique(work[order], return_index=True)
    ends = np.append(starts[1:], order.shape[0])
    groups = list(zip(works, starts, ends, strict=True))

    def with_pairs(chosen: Sequence[tuple[Any, Any, Any]]) -> list[tuple[int, F64]]:
        # (work, its distinctive candidate pairs) of each (work, start, end) group
        return [
            (int(number), _distinctive(query_row[pick], ref_xy[pick], dist[pick]))
            for number, start, end in chosen
            for pick in (order[start:end],)
        ]

    if gate is None:
        return _fit_works(query, with_pairs(groups), ref_size, min_inliers)
    # distinct query keypoints per work: (work, keypoint) pairs counted once
    pair = work[order] * (int(query_row.max()) + 1) + query_row[order]
    first = np.concatenate([[True], pair[1:] != pair[:-1]])
    distinct_by_work = np.add.reduceat(first.astype(np.int64), starts)
    strong = with_pairs([g for g, n in zip(groups, distinct_by_work, strict=True) if n >= gate])
    # a work can match only when its distinctive pairs still hold `gate` query keypoints;
    # the other strong works are fitted, as the weak ones, only beside a match (as rivals,
    # the same fits in the same order as when all were fitted first): a query that shows no
    # registered work fits few geometries or none
    able = [np.unique(pairs[:, 0]).shape[0] >= gate for _g, pairs in strong]
    out = _fit_works(
        query, [s for s, ok in zip(strong, able, strict=True) if ok], ref_size, min_inliers
    )
    if not any(m.inliers >= gate for m in out):
        return out
    rest = [s for s, ok in zip(strong, able, strict=True) if not ok]
    rest += with_pairs([g for g, n in zip(groups, distinct_by_work, strict=True) if n < gate])
    out = [*out, *_fit_works(query, rest, ref_size, min_inliers)]
    return sorted(out, key=lambda m: m.work)


def _fit_works(
    query: Features,
    groups: Sequence[tuple[int, F64]],
    ref_size: Callable[[int], tuple[int, int] | None] | None,
    min_inliers: int,
) -> list[LocalMatch]:
    """:func:`verify`'s geometric fit of each work in ``groups``: (work, its distinctive
    candidate pairs, :func:`_distinctive`), in work order."""
    cv2 = _cv2()
    out: list[LocalMatch] = []
    for number, pairs in groups:
        if np.unique(pairs[:, 0]).shape[0] < min_inliers:
            continue
        src = query.xy[pairs[:, 0].astype(np.int64)].astype(np.float32)
        dst = (pairs[:, 1:3] / SUBPIXEL).astype(np.float32)
        matrix, inlier_mask = cv2.estimateAffinePartial2D(
            src,
            dst,
            method=cv2.RANSAC,
            ransacReprojThreshold=REPROJECTION_PX,
            maxIters=500,
            confidence=0.995,
            refineIters=5,
        )
        if matrix is None or inlier_mask is None:
            continue
        inl = inlier_mask.reshape(-1).astype(bool)
        distinct = min(
            np.unique(pairs[inl, 0]).shape[0], np.unique(pairs[inl, 1:3], axis=0).shape[0]
        )
        if distinct < min_inliers:
            continue
        a, b = float(matrix[0, 0]), float(matrix[1, 0])
        scale = float(np.hypot(a, b))
        rotation = float(np.degrees(np.arctan2(b, a)))
        if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] or abs(rotation) > MAX_ROTATION_DEG:
            continue
        size = ref_size(int(number)) if ref_size is not None else None
        # reported, not a gate: calibration found true crops as low as 5 % (ORB repeats few
        # keypoints across scales) and look-alikes under 30 %, so it separates nothing
        coverage = _coverage(query, np.asarray(matrix, np.float64), size, distinct)
        points = frozenset(int(p) for p in np.unique(pairs[inl, 0]))
        bits = {int(p): int(d) for p, d in zip(pairs[inl, 0], pairs[inl, 3], strict=True)}
        out.append(LocalMatch(int(number), int(distinct), scale, rotation, points, coverage, bits))
    return out
