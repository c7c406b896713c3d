"""Background frequency table: n-grams common in ordinary text.

Shipped as package data (``data/background-ngrams.npy``, built by
``benchmarks/lyrics/build_background.py`` from a real corpus; see ``data/README.md``): a
sorted uint64 array of n-gram hashes whose two lowest bits are replaced by a frequency
class. An n-gram of class :attr:`FrequencyClass.FREQUENT` is dropped from fingerprints (it
says nothing about which lyric a text quotes: "at the end of", "i do not know"); one of
class :attr:`FrequencyClass.COMMON` counts half in a match's weight. Everything else counts
one. Replacing two hash bits makes a random n-gram look common with probability
(table size) / 2**62: never, in practice.
"""

from __future__ import annotations

import enum
import functools
from importlib import resources

import numpy as np
import numpy.typing as npt

from tdmguard.errors import IndexStoreError

__all__ = ["TABLE_FILE", "BackgroundTable", "FrequencyClass", "encode_table"]

U64 = npt.NDArray[np.uint64]
F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

TABLE_FILE = "background-ngrams.npy"
_CLASS_MASK = np.uint64(3)
_HASH_MASK = ~_CLASS_MASK
_BUCKET_BITS = 20


class FrequencyClass(enum.IntEnum):
    FREQUENT = 0  # dropped
    COMMON = 1  # weight 0.5


_WEIGHT = {FrequencyClass.FREQUENT: 0.0, FrequencyClass.COMMON: 0.5}


def encode_table(keys: U64, classes: npt.NDArray[np.integer]) -> U64:
    """The on-disk table for ``keys`` (shape (n,)) with their frequency ``classes``."""
    table = (keys & _HASH_MASK) | classes.astype(np.uint64)
    table = np.unique(table)
    return table


class BackgroundTable:
    """Look-up of frequency classes; empty table = every n-gram weighs one."""

    def __init__(self, table: U64) -> None:
        self._table = np.ascontiguousarray(table, dtype=np.uint64)
        self._hashes = self._table & _HASH_MASK
        # direct-address filter on the top bits: most keys are answered by one gather from
        # a 1 MB array, only the few whose bucket is occupied need the binary search
        self._bucket = np.zeros(1 << _BUCKET_BITS, dtype=np.bool_)
        self._bucket[self._hashes >> np.uint64(64 - _BUCKET_BITS)] = True
        self._weights = np.array(
            [_WEIGHT[FrequencyClass(int(c))] for c in (self._table & _CLASS_MASK)],
            dtype=np.float32,
        )

    @classmethod
    @functools.cache
    def packaged(cls) -> BackgroundTable:
        """The table shipped with tdmguard (loaded once per process)."""
        try:
            ref = resources.files("tdmguard.fingerprint.lyrics").joinpath("data", TABLE_FILE)
            with resources.as_file(ref) as path:
                table = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexStoreError(f"lyrics background table unreadable ({exc})",
                                  where=TABLE_FILE) from exc
        return cls(np.asarray(table, dtype=np.uint64))

    def __len__(self) -> int:
        return int(self._table.shape[0])

    def weights(self, keys: U64) -> F32:
        """Weight of every key: 1 if not in the table, else its class weight. Shape (n,)."""
        out = np.ones(keys.shape[0], np.float32)
        if self._table.shape[0] == 0 or keys.shape[0] == 0:
            return out
        maybe = np.flatnonzero(self._bucket[keys >> np.uint64(64 - _BUCKET_BITS)])
        if maybe.shape[0] == 0:
            return out
        masked = keys[maybe] & _HASH_MASK
        pos = np.minimum(np.searchsorted(self._hashes, masked), self._hashes.shape[0] - 1)
        found = self._hashes[pos] == masked
        out[maybe[found]] = self._weights[pos[found]]
        return out
