"""Catalogue import: CSV, TSV, JSONL or .xlsx rows -> validated works with fingerprinted media.

Columns (matched without regard to case and spacing; see
:mod:`tdmguard.registry.catalogue_files` for the file formats): ``id, title, artists, isrc,
iswc, upc, iscc, isni, kind, audio, lyrics, melody, image``. ``artists`` is ``;``-separated in
CSV, a list or string in JSONL. Any other column (``label``, ``release_date``, ...) is kept as
the work's extra metadata. Media paths are relative to the catalogue file and must stay inside
its folder unless the caller allows otherwise. Every row is validated, and every media file
fingerprinted, before anything is written: :func:`parse_catalogue` collects every row's
problem (for a dry run), :func:`read_catalogue` raises the first one.
"""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.fingerprint.engines import MODALITIES, get_engine
from tdmguard.registry.catalogue_files import read_rows
from tdmguard.registry.identifiers import normalise_isni
from tdmguard.registry.store import NewWork
from tdmguard.vocab import Modality, WorkKind

__all__ = [
    "MEDIA_COLUMNS",
    "Catalogue",
    "CatalogueRow",
    "RowFingerprints",
    "RowProblem",
    "default_kind",
    "fingerprint_media",
    "fingerprint_rows",
    "parse_catalogue",
    "read_catalogue",
]

MEDIA_COLUMNS: Mapping[str, Modality] = {
    "audio": Modality.AUDIO,
    "lyrics": Modality.LYRICS,
    "melody": Modality.MELODY,
    "image": Modality.IMAGE,
}
_KNOWN = {"id", "title", "artists", "isrc", "iswc", "upc", "iscc", "kind", *MEDIA_COLUMNS}
MAX_EXTRA_CHARS = 2000


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    where: str  # "file:line"
    work: NewWork
    media: tuple[tuple[Modality, Path], ...]
    line: int = 0


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row cannot be imported: the line, the field (if one) and the reason."""

    line: int
    id: str | None
    field: str | None
    message: str
    where: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "id": self.id, "field": self.field, "message": self.message,
                "where": self.where}


@dataclass(slots=True)
class Catalogue:
    """A parsed catalogue: the valid rows, every refused row with its reason, and what the
    reader had to guess (an encoding, the sheet it read)."""

    path: Path
    rows: list[CatalogueRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_first(self) -> None:
        if self.problems:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more refused rows)" \
                if len(self.problems) > 1 else ""
            raise InputError(first.message + more, where=first.where)


def default_kind(media: Sequence[Modality]) -> WorkKind:
    """A work's kind when the row does not say: from the first media given."""
    return MODALITIES[media[0]].work_kind if media else WorkKind.RECORDING


# C0 and C1 controls (ESC sequences, CR that rewrites a terminal line, BEL, ...) and the
# bidirectional overrides that reorder what a terminal shows: never part of a title.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float):
        return _CONTROL.sub("", str(value)).strip() or None
    raise InputError(f"expected text, got {type(value).__name__}", where=where)


def media_path(base: Path, value: str, *, where: str, allow_outside_paths: bool = False,
               media_root: Path | None = None) -> Path:
    """The regular file a catalogue's media column names, relative to the catalogue's folder.
    A path leading outside that folder (``../``, an absolute path) is refused unless allowed,
    and so is anything but a regular file (a FIFO would block the import forever). With
    ``media_root`` (files uploaded to a server) the column names a file of that folder by its
    file name only, so a row can never point at another file of the machine."""
    if media_root is not None:
        base, allow_outside_paths = media_root, False
        value = Path(value.replace("\\", "/")).name
    candidate = Path(value)
    resolved = (base / candidate).resolve()
    if not allow_outside_paths and not resolved.is_relative_to(base.resolve()):
        raise InputError(f"{value!r} is outside the catalogue's folder "
                         "(allow it with --allow-outside-paths)", where=where)
    try:
        mode = resolved.stat().st_mode
    except OSError as exc:
        raise InputError(f"no such file {value!r}", where=where) from exc
    if not stat.S_ISREG(mode):
        raise InputError(f"{value!r} is not a regular file", where=where)
    return resolved


def _row(base: Path, where: str, row: Mapping[str, object], *,
         allow_outside_paths: bool, media_root: Path | None) -> CatalogueRow:
    artists_raw = row.get("artists")
    if isinstance(artists_raw, list):
        artists = [_CONTROL.sub("", str(a)) for a in artists_raw]
    else:
        artists = (_text(artists_raw, f"{where}: artists") or "").split(";")
    media: list[tuple[Modality, Path]] = []
    for column, modality in MEDIA_COLUMNS.items():
        value = _text(row.get(column), f"{where}: {column}")
        if value:
            media.append((modality, media_path(base, value, where=f"{where}: {column}",
                                               allow_outside_paths=allow_outside_paths,
                                               media_root=media_root)))
    kind_text = _text(row.get("kind"), f"{where}: kind")
    try:
        kind = WorkKind(kind_text.lower()) if kind_text else default_kind([m for m, _ in media])
    except ValueError as exc:
        raise InputError(
            f"unknown kind {kind_text!r} (one of {', '.join(k.value for k in WorkKind)})",
            where=f"{where}: kind",
        ) from exc
    extra: dict[str, str] = {}
    for name, cell in row.items():
        if name in _KNOWN or cell is None:
            continue
        text = _CONTROL.sub("", cell if isinstance(cell, str) else str(cell))
        if len(text) > MAX_EXTRA_CHARS:
            raise InputError(f"longer than {MAX_EXTRA_CHARS} characters", where=f"{where}: {name}")
        if text.strip():
            extra[name] = text.strip()
    if "isni" in extra:
        extra["isni"] = normalise_isni(extra["isni"], where=f"{where}: isni") or ""
    work = NewWork(
        title=_text(row.get("title"), f"{where}: title") or "",
        kind=kind,
        artists=artists,
        isrc=_text(row.get("isrc"), f"{where}: isrc"),
        iswc=_text(row.get("iswc"), f"{where}: iswc"),
        upc=_text(row.get("upc"), f"{where}: upc"),
        iscc=_text(row.get("iscc"), f"{where}: iscc"),
        external_id=_text(row.get("id"), f"{where}: id"),
        extra=extra,
        where=where,
    )
    return CatalogueRow(where, work, tuple(media), int(where.rsplit(":", 1)[-1] or 0))


def _problem(line: int, row: Mapping[str, object], exc: InputError, where: str) -> RowProblem:
    field_name = None
    if exc.where and exc.where.startswith(where + ": "):
        field_name = exc.where[len(where) + 2:].split(":", 1)[0]
    raw_id = row.get("id")
    return RowProblem(line, str(raw_id).strip() if raw_id not in (None, "") else None,
                      field_name, exc.message, exc.where or where)


def parse_catalogue(path: Path, *, allow_outside_paths: bool = False,
                    media_root: Path | None = None) -> Catalogue:
    """Parse and validate every row (not the media's content: see :func:`fingerprint_media`),
    collecting each refused row instead of stopping at the first. A file that cannot be read
    at all (wrong format, broken header) still raises."""
    out = Catalogue(path)
    base = path.parent
    source, rows = read_rows(path)
    seen_header = False
    first_line: dict[str, int] = {}
    for number, row in rows:
        if not seen_header:
            seen_header = True
            if "title" not in row:
                raise InputError("the header must name at least a 'title' column",
                                 where=f"{path}:1")
        where = f"{path}:{number}"
        try:
            parsed = _row(base, where, row, allow_outside_paths=allow_outside_paths,
                          media_root=media_root)
        except InputError as exc:
            out.problems.append(_problem(number, row, exc, where))
            continue
        ext = parsed.work.external_id
        if ext is not None:
            if ext in first_line:  # one dict lookup per row: linear in the catalogue's size
                out.problems.append(RowProblem(
                    number, ext, "id", f"duplicate id {ext!r} (first on line {first_line[ext]})",
                    f"{where}: id"))
                continue
            first_line[ext] = number
        out.rows.append(parsed)
    out.warnings.extend(source.warnings)
    if not out.rows and not out.problems:
        raise InputError("the catalogue has no rows", where=str(path))
    return out


def read_catalogue(path: Path, *, allow_outside_paths: bool = False,
                   media_root: Path | None = None) -> list[CatalogueRow]:
    """Every row, validated; the first refused row raises :class:`InputError`."""
    catalogue = parse_catalogue(path, allow_outside_paths=allow_outside_paths,
                                media_root=media_root)
    catalogue.raise_first()
    return catalogue.rows


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


# -- fingerprinting a catalogue on every core -----------------------------------------------
# Below this many media files, starting worker processes costs more than it saves.
# Starting worker processes costs ~1-2 s (imports, engine set-up) per worker, and one
# process already keeps both cores of a 2-core machine busy (measured: 60 Ogg files, 17 min
# of audio: one process 552x real time, two 295x; 400 files, 1.85 h: 681x and 678x). Below
# this much media the default is one process.
_PARALLEL_FROM_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class RowFingerprints:
    """The fingerprints of one catalogue row, or why its media could not be fingerprinted."""

    fingerprints: tuple[tuple[Fingerprint, str], ...] = ()
    error: InputError | None = None


def _fingerprint_row_task(
    media: tuple[tuple[Modality, Path], ...], where: str
) -> tuple[list[tuple[bytes, str]], tuple[str, str, str | None] | None]:
    """Worker side: fingerprints travel back as bytes (their meta mapping does not pickle)
    and errors as (class name, message, where) (our errors take keyword arguments)."""
    try:
        fps = fingerprint_media(media, where=where)
    except InputError as exc:
        return [], (type(exc).__name__, exc.message, exc.where)
    return [(fp.to_bytes(), sha) for fp, sha in fps], None


def fingerprint_rows(
    rows: Sequence[CatalogueRow],
    *,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[RowFingerprints]:
    """Fingerprint every row's media, on ``workers`` processes (default: every core when the
    media add up to 64 MiB or more, else one), in row order. A row whose media cannot be
    fingerprinted gets its error instead, so a caller can refuse it or skip it;
    ``on_done(n_media)`` after each row."""
    import os

    n_media = sum(len(r.media) for r in rows)
    if workers is None:
        size = sum(p.stat().st_size for r in rows for _, p in r.media)
        workers = (os.cpu_count() or 1) if size >= _PARALLEL_FROM_BYTES else 1
    out: list[RowFingerprints] = []
    if workers <= 1 or n_media < 2:
        for row in rows:
            try:
                out.append(RowFingerprints(tuple(fingerprint_media(row.media, where=row.where))))
            except InputError as exc:
                out.append(RowFingerprints(error=exc))
            if on_done is not None:
                on_done(len(row.media))
        return out

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # forkserver: workers start clean (no copy of the caller's threads or open database).
    context = multiprocessing.get_context("forkserver")
    results: dict[int, RowFingerprints] = {}
    with ProcessPoolExecutor(max_workers=min(workers, n_media), mp_context=context) as pool:
        futures = {pool.submit(_fingerprint_row_task, row.media, row.where): i
                   for i, row in enumerate(rows) if row.media}
        for i, row in enumerate(rows):
            if not row.media:
                results[i] = RowFingerprints()
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            i = futures[future]
            blobs, error = future.result()
            if error is not None:
                cls = MediaError if error[0] == "MediaError" else InputError
                results[i] = RowFingerprints(error=cls(error[1], where=error[2]))
            else:
                results[i] = RowFingerprints(tuple(
                    (Fingerprint.from_bytes(blob, where=rows[i].where), sha)
                    for blob, sha in blobs))
            if on_done is not None:
                on_done(len(rows[i].media))
    return [results[i] for i in range(len(rows))]
