"""Background n-gram frequencies: how common each melody n-gram is across a corpus.

Rarity weighting (anchors.md section 4): folk and art melodies share formulae (scale runs,
repeated notes, cadences), so an n-gram found in many works says little about which work a
query comes from. The weight of a key is its inverse document frequency in a background
corpus, ``log2((works + 1) / (df + 1))`` bits (Müllensiefen & Pendzich 2009 weight interval
n-grams the same way).

The shipped table (``background.npz``, package data) is built from the music21 corpus by
``benchmarks/melody/build_background.py``; keys seen in one work only are left out to keep it
small and count as ``df = 1``, keys never seen as ``df = 0``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from tdmguard.errors import InputError

__all__ = ["BackgroundTable", "default_background"]

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
PACKAGE_FILE = "background.npz"
EMPTY_TABLE_BITS = 8.0


@dataclass(frozen=True, slots=True, eq=False)
class BackgroundTable:
    """``keys``: (k,) uint64 sorted; ``df``: (k,) uint32 works containing each key (>= 2);
    ``works``: number of works counted; ``source``: what the table was built from."""

    keys: U64
    df: npt.NDArray[np.uint32]
    works: int
    source: str

    def doc_freq(self, keys: U64) -> npt.NDArray[np.int64]:
        """Document frequency of each key: shape (m,); 1 for keys absent from the table (the
        table leaves out keys seen once), which keeps unseen keys from dominating."""
        if self.keys.shape[0] == 0:
            return np.ones(keys.shape[0], dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, self.keys.shape[0] - 1)
        found = self.keys[pos] == keys
        return np.where(found, self.df[pos].astype(np.int64), 1)

    def idf_bits(self, keys: U64) -> F64:
        """Inverse document frequency of each key in bits: shape (m,), float64 >= 0."""
        if self.works == 0:  # no background: every n-gram counts as fairly rare
            return np.full(keys.shape[0], EMPTY_TABLE_BITS)
        df = self.doc_freq(keys).astype(np.float64)
        return np.asarray(np.log2((self.works + 1.0) / (df + 1.0)), dtype=np.float64)

    @classmethod
    def build(
        cls, per_work_keys: Iterable[U64], *, source: str, min_df: int = 2
    ) -> BackgroundTable:
        """Count, per key, the works whose key set holds it (one (m,) uint64 array per work)."""
        parts = [np.unique(k) for k in per_work_keys]
        works = len(parts)
        if not parts:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint32), 0, source)
        uniq, counts = np.unique(np.concatenate(parts), return_counts=True)
        keep = counts >= min_df
        return cls(uniq[keep], counts[keep].astype(np.uint32), works, source)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        # Keys are stored as deltas: sorted packed n-grams compress far better that way.
        deltas = np.diff(self.keys, prepend=np.uint64(0))
        np.savez_compressed(
            buf,
            key_deltas=deltas,
            df=np.minimum(self.df, np.iinfo(np.uint16).max).astype(np.uint16),
            works=np.asarray([self.works], dtype=np.int64),
            source=np.frombuffer(self.source.encode(), dtype=np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, *, where: str) -> BackgroundTable:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                keys = np.cumsum(np.asarray(data["key_deltas"], dtype=np.uint64), dtype=np.uint64)
                return cls(
                    keys,
                    np.asarray(data["df"], dtype=np.uint32),
                    int(data["works"][0]),
                    bytes(data["source"]).decode(),
                )
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise InputError(f"unreadable background table ({exc})", where=where) from exc


@cache
def default_background() -> BackgroundTable:
    """The table shipped with tdmguard (loaded once per process)."""
    ref = resources.files("tdmguard.fingerprint.melody").joinpath(PACKAGE_FILE)
    if not ref.is_file():
        return BackgroundTable(np.zeros(0, np.uint64), np.zeros(0, np.uint32), 0, "none")
    return BackgroundTable.from_bytes(ref.read_bytes(), where=str(ref))
