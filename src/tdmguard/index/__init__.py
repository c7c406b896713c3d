"""On-disk match indexes, one folder per modality, grown by immutable segments."""

from tdmguard.index.binary_index import BinaryHashIndex, BinaryHits, BinarySegmentWriter
from tdmguard.index.hash_index import HashIndex, SegmentHits, SegmentWriter

__all__ = [
    "BinaryHashIndex",
    "BinaryHits",
    "BinarySegmentWriter",
    "HashIndex",
    "SegmentHits",
    "SegmentWriter",
]
