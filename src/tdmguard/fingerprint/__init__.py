"""Per-modality fingerprint engines. Heavy dependencies are imported by each engine, lazily,
behind its extra."""

from tdmguard.fingerprint.base import Fingerprint, Fingerprinter, HashHits, HashLookup

__all__ = ["Fingerprint", "Fingerprinter", "HashHits", "HashLookup"]
