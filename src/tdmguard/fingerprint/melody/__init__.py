"""Melody engine: symbolic scores (MIDI, MusicXML, ABC, kern) to transposition- and
tempo-invariant interval/rhythm n-gram hashes, matched by rarity-weighted votes and verified
by local alignment. See docs/melody.md."""

from tdmguard.fingerprint.melody.background import BackgroundTable, default_background
from tdmguard.fingerprint.melody.engine import (
    MelodyCandidate,
    MelodyFingerprinter,
    MelodySettings,
)
from tdmguard.fingerprint.melody.notes import NoteLine, read_note_lines

__all__ = [
    "BackgroundTable",
    "MelodyCandidate",
    "MelodyFingerprinter",
    "MelodySettings",
    "NoteLine",
    "default_background",
    "read_note_lines",
]
