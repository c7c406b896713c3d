"""The one record type that flows through a scan."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MediaKind", "Record"]


class MediaKind(enum.StrEnum):
    """What a record holds, sniffed from its content (never from the file extension)."""

    AUDIO = "audio"
    IMAGE = "image"
    TEXT = "text"  # plain text, LRC, SRT
    SYMBOLIC = "symbolic"  # MIDI, MusicXML, ABC, kern
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Record:
    """One item of a dataset.

    ``id`` is stable across runs (a path relative to the source, or a manifest key) and is
    what ``--resume`` de-duplicates on. ``path`` is the media file when there is one; ``text``
    the inline text of a text record; ``url`` where the item was collected from, if known.
    ``meta`` carries the reader's fields through to the writers unchanged.
    """

    id: str
    media: MediaKind
    path: Path | None = None
    text: str | None = None
    url: str | None = None
    size_bytes: int = 0
    meta: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "media": self.media.value}
        if self.path is not None:
            out["path"] = str(self.path)
        if self.url is not None:
            out["url"] = self.url
        if self.size_bytes:
            out["size_bytes"] = self.size_bytes
        if self.meta:
            out["meta"] = dict(self.meta)
        return out
