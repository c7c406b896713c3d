"""Engine look-up by modality, imported lazily so a missing extra only matters when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from tdmguard.errors import MissingExtraError
from tdmguard.fingerprint.base import Fingerprinter
from tdmguard.vocab import Modality

__all__ = ["ENGINES", "EXTRAS", "get_engine"]

# modality -> "module:class"; the class takes no arguments (defaults are the tuned settings).
ENGINES: Mapping[Modality, str] = MappingProxyType(
    {
        Modality.AUDIO: "tdmguard.fingerprint.audio:AudioFingerprinter",
        Modality.LYRICS: "tdmguard.fingerprint.lyrics:LyricsFingerprinter",
        Modality.MELODY: "tdmguard.fingerprint.melody:MelodyFingerprinter",
        Modality.IMAGE: "tdmguard.fingerprint.image:ImageFingerprinter",
    }
)
EXTRAS: Mapping[Modality, str] = MappingProxyType(
    {
        Modality.AUDIO: "audio",
        Modality.LYRICS: "all",
        Modality.MELODY: "melody",
        Modality.IMAGE: "image",
    }
)


def get_engine(modality: Modality) -> Fingerprinter:
    """The engine for ``modality``; raises :class:`MissingExtraError` naming the extra."""
    module_name, _, cls_name = ENGINES[modality].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("tdmguard"):
            raise MissingExtraError(exc.name, EXTRAS[modality]) from exc
        raise
    engine: Fingerprinter = getattr(module, cls_name)()
    return engine
