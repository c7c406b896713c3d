"""Audio recording fingerprints: spectral-peak triplets invariant to speed, tempo and pitch.

Stages (as in Panako and Olaf): ``decode`` (soundfile, PyAV) -> ``peaks`` (log-frequency
constellation) -> ``triplets`` (hash keys) -> ``engine.match`` (index look-up, then
``alignment``: a consistent time line and pitch offset per work). See docs/audio.md.
"""

from tdmguard.fingerprint.audio.engine import AudioFingerprinter, AudioParams

__all__ = ["AudioFingerprinter", "AudioParams"]
