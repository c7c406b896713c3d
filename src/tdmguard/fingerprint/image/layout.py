"""Colour-layout descriptor for low-detail artworks (gradients, near-plain covers, fog).

PDQ thresholds DCT coefficients at their median; when an image has almost no structure
(a smooth gradient, a radial glow, a plain cover) most coefficients are ~0 and their bits are
noise, so PDQ cannot find copies of it. Such images are told apart by their colours and their
coarse tonal layout instead (in the spirit of MPEG-7's colour layout descriptor):

    bytes 0..15   luma on a 4 x 4 grid, shape only: (Y - mean) / max(std, 12), to 0..255
    bytes 16..23  chroma (Cb, Cr) on a 2 x 2 grid, 0..255
    bytes 24..27  mean Y, std of Y (x4), mean Cb, mean Cr
    bytes 28..31  zero (reserved)

The descriptor is 32 bytes, so it travels in the same 8 hash words as a PDQ hash. It is only
compared between two low-detail images (the engine decides which): a busy photograph never
matches a gradient by colour alone. It survives resizing, re-compression, moderate brightness
and contrast changes and aspect-ratio changes; not rotation, mirroring or cropping.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["LAYOUT_BYTES", "bucket_keys", "confirms", "describe", "distance", "structure"]

LAYOUT_BYTES = 32
#: key tag of layout rows in the index (top 16 bits); the low bits are the chroma bucket
KEY_TAG = np.uint64(0x7A1A << 48)
#: luma shape is normalised by the luma std, but never by less than this (a near-flat image
#: keeps its small amplitude instead of amplifying noise)
SHAPE_STD_FLOOR = 12.0
#: weight of the chroma difference against the luma-shape difference
CHROMA_WEIGHT = 1.5
#: a luma thumbnail whose std is under this many grey levels has no luma structure to compare
#: (a two-colour pastel gradient of nearly equal luma: its colours are all it has)
STRUCTURE_STD_MIN = 2.0
#: smallest correlation of two 16 x 16 luma thumbnails (:func:`confirms`) for a
#: colour-layout match, when either has luma structure
STRUCTURE_MIN_CORRELATION = 0.8
#: a near-flat pair must have colours: a mean chroma or a chroma difference of this many levels
CHROMA_MIN = 4
#: ... and mean lumas within this share of the brighter (a brightness change of 20 %) plus
#: MEAN_LUMA_SLACK levels
MEAN_LUMA_SHARE = 0.25
MEAN_LUMA_SLACK = 4.0
#: chroma bucket width (Cb and Cr means, 0..255), grey levels
BUCKET = 16

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]


def _ycbcr(colour: U8) -> F64:
    rgb = colour.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return np.stack([y, cb, cr], axis=-1)


def _grid(channel: F64, cells: int) -> F64:
    side = channel.shape[0]
    step = side // cells
    cut = channel[: step * cells, : step * cells].reshape(cells, step, cells, step)
    return np.asarray(cut.mean(axis=(1, 3)), dtype=np.float64)


def describe(colour: U8) -> U8:
    """(16, 16, 3) RGB thumbnail -> the 32-byte descriptor."""
    ycc = _ycbcr(colour)
    y = ycc[..., 0]
    mean_y, std_y = float(y.mean()), float(y.std())
    shape = (_grid(y, 4) - mean_y) / max(std_y, SHAPE_STD_FLOOR)
    out = np.zeros(LAYOUT_BYTES, np.float64)
    out[0:16] = np.clip(128 + 40 * shape, 0, 255).reshape(-1)
    out[16:20] = _grid(ycc[..., 1], 2).reshape(-1)
    out[20:24] = _grid(ycc[..., 2], 2).reshape(-1)
    out[24:28] = (mean_y, min(255.0, 4 * std_y), float(ycc[..., 1].mean()), ycc[..., 2].mean())
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def distance(query: U8, refs: U8) -> F64:
    """Distance of one descriptor (32,) to many (n, 32), in grey levels: mean luma-shape
    difference (scaled back to grey levels of a std-40 image) plus mean chroma difference."""
    q = query.astype(np.int16)
    r = refs.astype(np.int16).reshape(-1, LAYOUT_BYTES)
    shape = np.abs(r[:, 0:16] - q[0:16]).mean(axis=1)
    chroma = np.abs(r[:, 16:24] - q[16:24]).mean(axis=1)
    return np.asarray(shape + CHROMA_WEIGHT * chroma, dtype=np.float64)


def key_of(descriptor: U8) -> np.uint64:
    """Index key of a registered descriptor: its chroma bucket."""
    cb, cr = int(descriptor[26]) // BUCKET, int(descriptor[27]) // BUCKET
    return np.uint64(KEY_TAG | np.uint64(cb * 16 + cr))


def bucket_keys(descriptor: U8) -> U64:
    """Keys a query looks up: its chroma bucket and the 8 around it."""
    cb, cr = int(descriptor[26]) // BUCKET, int(descriptor[27]) // BUCKET
    keys = [
        int(KEY_TAG) | (b * 16 + c)
        for b in range(max(0, cb - 1), min(15, cb + 1) + 1)
        for c in range(max(0, cr - 1), min(15, cr + 1) + 1)
    ]
    return np.asarray(keys, dtype=np.uint64)


def structure(colour: U8) -> U8:
    """(16, 16, 3) RGB thumbnail -> its (16, 16) luma, uint8: the fine structure that the
    4 x 4 grid of :func:`describe` averages away (an outline, a small drawing on a plain
    ground: such images all have nearly the same coarse layout)."""
    y = _ycbcr(colour)[..., 0]
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _colourful(descriptor: U8) -> bool:
    """Whether a descriptor's colours say anything: a mean chroma, or a chroma difference
    across its 2 x 2 grid, of at least :data:`CHROMA_MIN` levels (white, grey and black
    grounds have none)."""
    d = descriptor.astype(np.int16)
    offset = max(abs(int(d[26]) - 128), abs(int(d[27]) - 128))
    spread = max(int(np.ptp(d[16:20])), int(np.ptp(d[20:24])))
    return max(offset, spread) >= CHROMA_MIN


def confirms(query: U8, query_luma: U8, ref: U8, ref_luma: U8) -> bool:
    """Whether a colour-layout match (descriptors within the distance) is confirmed by what
    the coarse layout cannot show.

    With luma structure on either side (a 16 x 16 luma std of :data:`STRUCTURE_STD_MIN` or
    more), the two luma thumbnails (:func:`structure`) must correlate at least
    :data:`STRUCTURE_MIN_CORRELATION`: a copy's does through resizing, JPEG and brightness;
    two outlines or drawings on white do not. With none on either side (a pastel
    gradient whose colours have nearly the same luma, a near-plain image), the colours are
    all there is: they must say something (:func:`_colourful`), and the mean lumas must be
    within :data:`MEAN_LUMA_SHARE` of each other; a white, grey or black image has no
    identity a colour layout could carry."""
    x = query_luma.astype(np.float64).reshape(-1)
    z = ref_luma.astype(np.float64).reshape(-1)
    sx, sz = float(x.std()), float(z.std())
    if max(sx, sz) >= STRUCTURE_STD_MIN:
        if min(sx, sz) < 1e-6:
            return False
        correlation = float(np.mean((x - x.mean()) * (z - z.mean())) / (sx * sz))
        return correlation >= STRUCTURE_MIN_CORRELATION
    if not (_colourful(query) or _colourful(ref)):
        return False
    mx, mz = float(x.mean()), float(z.mean())
    return abs(mx - mz) <= MEAN_LUMA_SHARE * max(mx, mz) + MEAN_LUMA_SLACK
