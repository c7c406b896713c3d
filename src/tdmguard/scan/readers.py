"""Readers turn a source (a folder, a JSONL manifest) into records, in a stable order.

The order is what shards are cut from, so it must not depend on the file system's listing
order: folders are walked sorted, manifests read line by line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tdmguard.errors import InputError, MediaError, MissingExtraError
from tdmguard.scan.record import MediaKind, Record
from tdmguard.scan.sniff import sniff_path

__all__ = ["read_directory", "read_manifest", "read_parquet", "read_source", "record_from_fields"]

MAX_MANIFEST_LINE = 16 << 20  # 16 MiB of text in one record


def _walk(root: Path) -> Iterator[Path]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    yield Path(entry.path)
            except OSError:
                continue
    return


def read_directory(root: Path) -> Iterator[Record]:
    """Every file under ``root`` (recursive, sorted, hidden files skipped); the media kind is
    sniffed from content. Unreadable files become records with ``meta['error']``."""
    files = sorted(_walk(root), key=lambda p: p.relative_to(root).as_posix())
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            media = sniff_path(path)
            size = path.stat().st_size
        except MediaError as exc:
            yield Record(id=rel, media=MediaKind.UNKNOWN, path=path, meta={"error": exc.message})
            continue
        except OSError as exc:
            yield Record(
                id=rel,
                media=MediaKind.UNKNOWN,
                path=path,
                meta={"error": f"cannot stat ({exc.strerror or exc})"},
            )
            continue
        yield Record(id=rel, media=media, path=path, size_bytes=size)


def read_manifest(manifest: Path) -> Iterator[Record]:
    """JSON Lines: each object has ``id`` (else the line number), and ``path`` (relative to
    the manifest), ``text`` or ``url``; other keys are carried in ``meta``."""
    base = manifest.parent
    try:
        fh = manifest.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=str(manifest)) from exc
    with fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{manifest}:{number}"
            if len(raw) > MAX_MANIFEST_LINE:
                yield Record(
                    id=f"line-{number}",
                    media=MediaKind.UNKNOWN,
                    meta={"error": f"{where}: line longer than 16 MiB"},
                )
                continue
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as exc:
                yield Record(
                    id=f"line-{number}",
                    media=MediaKind.UNKNOWN,
                    meta={"error": f"{where}: invalid JSON record ({exc})"},
                )
                continue
            yield record_from_fields(obj, base=base, where=where, default_id=f"line-{number}")


def record_from_fields(
    fields: dict[str, Any], *, base: Path, where: str, default_id: str
) -> Record:
    """One manifest row (JSONL object or Parquet row) as a record: ``id``, then ``text``
    (inline text), ``path`` (relative to the manifest) or ``url``; other fields go to meta."""
    obj = dict(fields)
    raw_id = obj.pop("id", None)
    rid = str(raw_id) if raw_id is not None else default_id
    url_value = obj.pop("url", None)
    url = str(url_value) if url_value is not None else None
    text = obj.pop("text", None)
    path_value = obj.pop("path", None)
    meta = {k: v for k, v in obj.items() if isinstance(k, str)}
    if isinstance(text, str):
        return Record(
            id=rid,
            media=MediaKind.TEXT,
            text=text,
            url=url,
            size_bytes=len(text.encode("utf-8", "replace")),
            meta=meta,
        )
    if isinstance(path_value, str):
        path = (base / path_value).resolve()
        try:
            media = sniff_path(path)
            size = path.stat().st_size
        except (MediaError, OSError) as exc:
            msg = str(exc)  # names the file
            return Record(
                id=rid, media=MediaKind.UNKNOWN, path=path, url=url, meta=meta | {"error": msg}
            )
        return Record(id=rid, media=media, path=path, url=url, size_bytes=size, meta=meta)
    if url is not None:
        return Record(id=rid, media=MediaKind.UNKNOWN, url=url, meta=meta)
    return Record(
        id=rid,
        media=MediaKind.UNKNOWN,
        meta=meta | {"error": f"{where}: a record needs text, path or url"},
    )


def read_parquet(manifest: Path) -> Iterator[Record]:
    """Parquet rows with the same fields as a JSONL manifest, read batch by batch (bounded
    memory on large files). Needs the ``parquet`` extra (pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pyarrow", "parquet") from exc
    try:
        parquet = pq.ParquetFile(manifest)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"not a readable Parquet file ({exc})", where=str(manifest)) from exc
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=1024):
            for fields in batch.to_pylist():
                row += 1
                yield record_from_fields(
                    fields,
                    base=manifest.parent,
                    where=f"{manifest}: row {row}",
                    default_id=f"row-{row}",
                )
    except (OSError, ValueError) as exc:
        raise InputError(
            f"unreadable Parquet data after row {row} ({exc})", where=str(manifest)
        ) from exc


def read_source(source: Path) -> Iterator[Record]:
    if source.is_dir():
        return read_directory(source)
    if source.is_file() and source.suffix.lower() in (".jsonl", ".ndjson"):
        return read_manifest(source)
    if source.is_file() and source.suffix.lower() == ".parquet":
        return read_parquet(source)
    if source.exists():
        raise InputError(
            "a scan source is a folder, a .jsonl or a .parquet manifest", where=str(source)
        )
    raise InputError("no such file or folder", where=str(source))
