"""A catalogue made from media files alone (an upload without a CSV): one work per file,
its title and artists from the file's tags (audio, with the ``metadata`` extra) or else from
its file name. The catalogue is written as JSON Lines and imported like any other, so the
same checks, fingerprinting and all-or-nothing rule apply."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from tdmguard.atomic import atomic_writer
from tdmguard.errors import InputError
from tdmguard.vocab import Modality

__all__ = ["title_and_artists", "write_media_catalogue"]

MAX_FILES = 10_000


def title_and_artists(path: Path, modality: Modality) -> tuple[str, list[str]]:
    """The title (and artists) the file's tags give, else its name without the suffix,
    with ``_`` read as a space."""
    title, artists = "", []
    if modality is Modality.AUDIO:
        try:
            import mutagen

            tags = mutagen.File(path, easy=True)
        except Exception:  # no extra, unreadable tags: the file name serves
            tags = None
        if tags is not None and tags.tags is not None:
            title = " ".join(str(t) for t in tags.tags.get("title", [])).strip()
            artists = [str(a).strip() for a in tags.tags.get("artist", []) if str(a).strip()]
    if not title:
        title = re.sub(r"\s+", " ", path.stem.replace("_", " ")).strip() or path.name
    return title[:500], artists


def write_media_catalogue(files: Sequence[tuple[Modality, Path]], out: Path) -> Path:
    """Write ``out`` (JSON Lines): one row per file, naming it in its modality's column by
    file name (import it with ``media_root`` = the files' folder)."""
    if not files:
        raise InputError("add at least one media file", where="media")
    if len(files) > MAX_FILES:
        raise InputError(f"at most {MAX_FILES:,} files at once", where="media")
    with atomic_writer(out, "w") as fh:
        for modality, path in files:
            title, artists = title_and_artists(path, modality)
            row: dict[str, object] = {"title": title, modality.value: path.name}
            if artists:
                row["artists"] = artists
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out
