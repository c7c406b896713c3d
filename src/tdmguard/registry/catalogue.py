"""Catalogue import: CSV or JSONL rows -> validated works with fingerprinted media.

Columns (CSV header or JSONL keys): ``id, title, artists, isrc, iswc, upc, iscc, kind, audio,
lyrics, melody, image``. ``artists`` is ``;``-separated in CSV, a list or string in JSONL.
Media paths are relative to the catalogue file. Every row is validated and every media file
fingerprinted *before* anything is written, so a bad row fails the whole import with the
file, line and field named, and nothing is half-imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import MODALITIES, get_engine
from tdmguard.registry.store import NewWork
from tdmguard.vocab import Modality, WorkKind

__all__ = ["MEDIA_COLUMNS", "CatalogueRow", "default_kind", "fingerprint_media", "read_catalogue"]

MEDIA_COLUMNS: Mapping[str, Modality] = {
    "audio": Modality.AUDIO,
    "lyrics": Modality.LYRICS,
    "melody": Modality.MELODY,
    "image": Modality.IMAGE,
}
_KNOWN = {"id", "title", "artists", "isrc", "iswc", "upc", "iscc", "kind", *MEDIA_COLUMNS}
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    where: str  # "file:line"
    work: NewWork
    media: tuple[tuple[Modality, Path], ...]


def default_kind(media: Sequence[Modality]) -> WorkKind:
    """A work's kind when the row does not say: from the first media given."""
    return MODALITIES[media[0]].work_kind if media else WorkKind.RECORDING


def _rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", where=str(path)) from exc
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_BYTES:
                raise InputError("line longer than 1 MiB", where=f"{path}:{number}")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"invalid JSON ({exc.msg}, column {exc.colno})", where=f"{path}:{number}"
                ) from exc
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object", where=f"{path}:{number}")
            yield number, obj
        return
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise InputError("a catalogue is .csv, .tsv or .jsonl", where=str(path))
    reader = csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix == ".tsv" else ",")
    if not reader.fieldnames or "title" not in reader.fieldnames:
        raise InputError("the header must name at least a 'title' column", where=f"{path}:1")
    try:
        for row in reader:
            if None in row:
                raise InputError(
                    "more fields than the header names", where=f"{path}:{reader.line_num}"
                )
            yield reader.line_num, dict(row)
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", where=f"{path}:{reader.line_num}") from exc


def _text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    raise InputError(f"expected text, got {type(value).__name__}", where=where)


def read_catalogue(path: Path, *, media_root: Path | None = None) -> list[CatalogueRow]:
    """Parse and validate every row (not the media: see :func:`fingerprint_media`).

    Media paths are relative to the catalogue's folder; with ``media_root`` (uploads to a
    server) a media column names a file in that folder by its file name only, so a row can
    never point at another file of the machine."""
    out: list[CatalogueRow] = []
    base = path.parent
    for number, row in _rows(path):
        where = f"{path}:{number}"
        unknown = sorted(set(row) - _KNOWN)
        if unknown:
            raise InputError(f"unknown column(s) {', '.join(unknown)}", where=where)
        artists_raw = row.get("artists")
        if isinstance(artists_raw, list):
            artists = [str(a) for a in artists_raw]
        else:
            artists = [a for a in (_text(artists_raw, f"{where}: artists") or "").split(";")]
        media: list[tuple[Modality, Path]] = []
        for column, modality in MEDIA_COLUMNS.items():
            value = _text(row.get(column), f"{where}: {column}")
            if value:
                media_path = (
                    (base / value).resolve()
                    if media_root is None
                    else media_root / Path(value.replace("\\", "/")).name
                )
                if not media_path.is_file():
                    raise InputError(f"no such file {value!r}", where=f"{where}: {column}")
                media.append((modality, media_path))
        kind_text = _text(row.get("kind"), f"{where}: kind")
        try:
            kind = WorkKind(kind_text.lower()) if kind_text else default_kind([m for m, _ in media])
        except ValueError as exc:
            raise InputError(
                f"unknown kind {kind_text!r} (one of {', '.join(k.value for k in WorkKind)})",
                where=f"{where}: kind",
            ) from exc
        work = NewWork(
            title=_text(row.get("title"), f"{where}: title") or "",
            kind=kind,
            artists=artists,
            isrc=_text(row.get("isrc"), f"{where}: isrc"),
            iswc=_text(row.get("iswc"), f"{where}: iswc"),
            upc=_text(row.get("upc"), f"{where}: upc"),
            iscc=_text(row.get("iscc"), f"{where}: iscc"),
            external_id=_text(row.get("id"), f"{where}: id"),
            where=where,
        )
        out.append(CatalogueRow(where, work, tuple(media)))
    if not out:
        raise InputError("the catalogue has no rows", where=str(path))
    ids = [r.work.external_id for r in out if r.work.external_id]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"duplicate id(s) {', '.join(dupes)}", where=str(path))
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint_media(
    media: Sequence[tuple[Modality, Path]],
    *,
    where: str = "",
    on_done: Callable[[], None] | None = None,
) -> list[tuple[Fingerprint, str]]:
    """Fingerprint each (modality, file); returns (fingerprint, media SHA-256) pairs."""
    out: list[tuple[Fingerprint, str]] = []
    for modality, media_path in media:
        try:
            fp = get_engine(modality).extract(media_path)
        except InputError as exc:  # MediaError included
            if where:
                raise type(exc)(
                    exc.message, where=f"{where}: {modality.value}: {exc.where or media_path}"
                ) from exc
            raise
        if len(fp) == 0:
            # A blank image, silence, or text without words: registering it would protect
            # nothing and look as if it did.
            quality = fp.meta.get("quality")
            why = f"quality {quality} is below the cutoff" if quality is not None else \
                str(fp.meta.get("reason", "no usable content"))
            raise MediaError(
                f"nothing to fingerprint ({modality.value}: {why})",
                where=f"{where}: {modality.value}: {media_path}" if where else str(media_path),
            )
        out.append((fp, sha256_file(media_path)))
        if on_done is not None:
            on_done()
    return out
