"""The one table of modalities, and engine look-up (imported lazily, so a missing extra only
matters when that modality is used).

Adding a modality means a row in :data:`MODALITIES` and its engine; every other module (the
index glue, catalogue import, identify, the scan's content checks) reads this table.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tdmguard.errors import MissingExtraError
from tdmguard.fingerprint.base import Fingerprinter
from tdmguard.vocab import Modality, WorkKind

__all__ = [
    "ENGINES",
    "EXTRAS",
    "MODALITIES",
    "IndexKind",
    "ModalitySpec",
    "get_engine",
    "modality_for_media",
]


class IndexKind(enum.StrEnum):
    """Which on-disk index a modality's fingerprints go to (``tdmguard.index``)."""

    HASH = "hash"  # exact look-up of uint64 keys (audio, lyrics, melody)
    BINARY = "binary"  # Hamming-radius search of 256-bit hashes (images)


@dataclass(frozen=True, slots=True)
class ModalitySpec:
    """One modality: its engine (``module:class``, no-argument constructor with the tuned
    defaults), the extra that installs it, its index kind, the media kind a sniffed file must
    have (the scan's ``MediaKind`` values), the kind of a work registered with only this
    media, and the units of a match's query and reference spans (``Match.to_json``)."""

    modality: Modality
    engine: str
    extra: str
    index_kind: IndexKind
    media_kind: str
    work_kind: WorkKind
    query_unit: str
    ref_unit: str


MODALITIES: Mapping[Modality, ModalitySpec] = MappingProxyType(
    {
        Modality.AUDIO: ModalitySpec(
            Modality.AUDIO,
            "tdmguard.fingerprint.audio:AudioFingerprinter",
            "audio",
            IndexKind.HASH,
            "audio",
            WorkKind.RECORDING,
            "s",
            "s",
        ),
        Modality.LYRICS: ModalitySpec(
            Modality.LYRICS,
            "tdmguard.fingerprint.lyrics:LyricsFingerprinter",
            "all",
            IndexKind.HASH,
            "text",
            WorkKind.LYRICS,
            "char",
            "line",
        ),
        Modality.MELODY: ModalitySpec(
            Modality.MELODY,
            "tdmguard.fingerprint.melody:MelodyFingerprinter",
            "melody",
            IndexKind.HASH,
            "symbolic",
            WorkKind.MELODY,
            "note",
            "note",
        ),
        Modality.IMAGE: ModalitySpec(
            Modality.IMAGE,
            "tdmguard.fingerprint.image:ImageFingerprinter",
            "image",
            IndexKind.BINARY,
            "image",
            WorkKind.ARTWORK,
            "",
            "",
        ),
    }
)

# Views of the table kept for callers that only need one column.
ENGINES: Mapping[Modality, str] = MappingProxyType(
    {m: spec.engine for m, spec in MODALITIES.items()}
)
EXTRAS: Mapping[Modality, str] = MappingProxyType({m: spec.extra for m, spec in MODALITIES.items()})


def modality_for_media(media_kind: str) -> Modality | None:
    """The modality whose engine reads media of this (sniffed) kind, or None."""
    for spec in MODALITIES.values():
        if spec.media_kind == media_kind:
            return spec.modality
    return None


def get_engine(modality: Modality) -> Fingerprinter:
    """The engine for ``modality``; raises :class:`MissingExtraError` naming the extra."""
    spec = MODALITIES[modality]
    module_name, _, cls_name = spec.engine.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("tdmguard"):
            raise MissingExtraError(exc.name, spec.extra) from exc
        raise
    engine: Fingerprinter = getattr(module, cls_name)()
    return engine
