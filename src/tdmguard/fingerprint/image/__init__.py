"""Artwork image engine: PDQ hashes, ORB local features and a colour layout (docs/image.md)."""

from tdmguard.fingerprint.image.decode import QUERY_SIDE, WORK_SIDE, load_grey, load_working
from tdmguard.fingerprint.image.engine import (
    ASPECTS,
    CROPS,
    KIND_LAYOUT,
    KIND_LOCAL,
    LAYOUT_MAX_DISTANCE,
    MARGIN_MIN,
    MATCH_MAX_DISTANCE,
    QUALITY_MIN,
    BinaryHashHits,
    BinaryHashSearch,
    ImageFingerprinter,
    Region,
    Variant,
)

__all__ = [
    "ASPECTS",
    "CROPS",
    "KIND_LAYOUT",
    "KIND_LOCAL",
    "LAYOUT_MAX_DISTANCE",
    "MARGIN_MIN",
    "MATCH_MAX_DISTANCE",
    "QUALITY_MIN",
    "QUERY_SIDE",
    "WORK_SIDE",
    "BinaryHashHits",
    "BinaryHashSearch",
    "ImageFingerprinter",
    "Region",
    "Variant",
    "load_grey",
    "load_working",
]
