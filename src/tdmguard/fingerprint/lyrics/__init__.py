"""Lyrics matching inside large text corpora (issue 6; ``docs/lyrics.md``).

Normalised word n-gram hashes (character n-grams for scripts without spaces) with their
positions, looked up in the shared segment :class:`~tdmguard.index.HashIndex`, then
aligned per candidate work to give the matched span, a score and the quoted text.
"""

from tdmguard.fingerprint.lyrics.engine import LyricsDocument, LyricsFingerprinter, MatchSettings

__all__ = ["LyricsDocument", "LyricsFingerprinter", "MatchSettings"]
