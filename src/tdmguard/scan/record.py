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
    # Where the item sits in its container ("shards-000.tar#key", "data.parquet:row 7").
    where: str | None = None
    # The input's own fields as they were (a manifest row, a sample's JSON), for kept.jsonl.
    fields: Mapping[str, object] | None = None
    # Media held in memory (a tar member, a Parquet ``{bytes, path}`` cell): checks see it
    # through a temporary file. Never written to the JSON outputs.
    data: bytes | None = field(default=None, repr=False, compare=False)
    # The members of a multi-part sample (WebDataset: audio + image + caption), each checked;
    # the sample is decided once, on everything its parts matched.
    parts: tuple[Record, ...] = field(default=(), repr=False)
    # What the reader needs to write the item back in the input's format (--write-kept).
    raw: object = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "media": self.media.value}
        if self.where is not None:
            out["where"] = self.where
        if self.parts:
            out["parts"] = [
                {"name": p.id, "media": p.media.value, "size_bytes": p.size_bytes}
                for p in self.parts
            ]
        if self.fields is not None:
            out["fields"] = dict(self.fields)
        if self.path is not None:
            out["path"] = str(self.path)
        if self.url is not None:
            out["url"] = self.url
        if self.size_bytes:
            out["size_bytes"] = self.size_bytes
        if self.meta:
            out["meta"] = dict(self.meta)
        return out
