"""Readers: one shard descriptor (``scan/plan.py``) becomes records, read by the worker that
runs the shard. Every reader streams: a shard holds at most ``--shard-size`` rows or samples.

What a reader cannot read becomes a record with ``meta['error']`` naming the shard and the
row, member or key (the shard goes on); nothing unreadable is ever handed to the checks as
if it were fine. Container kinds: loose files of a folder, JSON Lines and CSV manifests
(plain, gzip or zstd), Parquet and Arrow tables (Hugging Face ``Audio``/``Image`` columns are
``{bytes, path}`` structs), WebDataset tar shards (members grouped by key).

Tables are read with pyarrow directly and tars with ``tarfile`` in stream mode: no extra
copies, a seek to the shard's first member, and the same code for local and remote files
(fsspec file objects). The webdataset and datasets libraries write the test data.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from tdmguard.errors import InputError, MissingExtraError
from tdmguard.scan.location import is_remote, join, local_path, open_binary
from tdmguard.scan.plan import ShardSpec, SpecKind, decompressed, iter_lines, plan_source, tar_key
from tdmguard.scan.record import MediaKind, Record, new_record
from tdmguard.scan.sniff import SNIFF_BYTES, blob_kinds, container_magic, sniff_bytes
from tdmguard.scan.tar_members import DamagedTarError, iter_tar
from tdmguard.scan.writers import load_line

__all__ = [
    "DATE_FIELDS",
    "LANGUAGE_FIELDS",
    "MAX_MEMBER",
    "ReadOptions",
    "decode_text",
    "read_shard",
    "read_source",
    "record_from_row",
    "source_meta",
    "table_slice",
]

MAX_MEMBER = 1 << 30  # one tar member or remote file held in memory at most
META_EXTS = frozenset({"json", "cls", "cls2", "id", "idx", "index", "key", "label"})
_PRIORITY = (MediaKind.AUDIO, MediaKind.IMAGE, MediaKind.SYMBOLIC, MediaKind.TEXT)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Which columns of a manifest or table mean what (``--text-column`` and friends)."""

    text_column: str = "text"
    id_column: str = "id"
    url_column: str = "url"
    path_column: str = "path"


def decode_text(data: bytes) -> tuple[str, str]:
    """Text and its encoding: a BOM, UTF-8, then a charset detector (never skipped)."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, "replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best), str(best.encoding)
    except ModuleNotFoundError:
        pass
    return data.decode("cp1252", "replace"), "cp1252"


def _error(rid: str, message: str, *, where: str | None = None, **kw: Any) -> Record:
    return Record(id=rid, media=MediaKind.UNKNOWN, where=where, meta={"error": message}, **kw)


def _media_of(head: bytes, where: str) -> MediaKind:
    """Media kind of content starting with ``head``; raises InputError for a container the
    scan does not open (an archive inside a folder is never checked as one opaque item)."""
    if not head:
        raise InputError("empty file", where=where)
    if head[:4] == b"PK\x03\x04":
        raise InputError("zip archive: the scan does not open it (unpack it first)", where=where)
    what = container_magic(head)
    if what is not None:
        raise InputError(
            f"{what}: the scan does not open it here (name a tar shard .tar, a table "
            ".parquet/.arrow, or unpack it)",
            where=where,
        )
    return sniff_bytes(head)


def _zip_media(location: str) -> MediaKind:
    """Compressed MusicXML (.mxl) is a zip with a container file; other zips are refused."""
    try:
        with zipfile.ZipFile(local_path(location)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"unreadable zip archive ({exc})", where=location) from exc
    if "META-INF/container.xml" in names and not any(n.endswith(".opf") for n in names):
        return MediaKind.SYMBOLIC
    raise InputError("zip archive: the scan does not open it (unpack it first)", where=location)


def _file_record(rid: str, location: str, *, where: str | None = None) -> Record:
    """A loose file (local, or remote and then held in memory)."""
    try:
        with open_binary(location) as fh:
            if is_remote(location):
                data = fh.read(MAX_MEMBER + 1)
                if len(data) > MAX_MEMBER:
                    raise InputError("remote file larger than 1 GiB", where=location)
                media = _media_of(data[:SNIFF_BYTES], location)
                return Record(id=rid, media=media, data=data, size_bytes=len(data), where=where)
            head = fh.read(SNIFF_BYTES)
            size = os.fstat(fh.fileno()).st_size
        media = _zip_media(location) if head[:4] == b"PK\x03\x04" else _media_of(head, location)
    except InputError as exc:
        return _error(rid, exc.message, where=where, path=Path(local_path(location)))
    except OSError as exc:
        return _error(rid, f"cannot read ({exc.strerror or exc})", where=where)
    return Record(
        id=rid, media=media, path=Path(local_path(location)), size_bytes=size, where=where
    )


def _read_files(spec: ShardSpec) -> Iterator[Record]:
    notes = spec.notes or ("",) * len(spec.names)
    for rel, note in zip(spec.names, notes, strict=True):
        location = join(spec.location, rel)
        if note:
            yield _error(rel, note, path=Path(local_path(location)))
            continue
        yield _file_record(rel, location)


# --- rows ------------------------------------------------------------------------------


def _is_media_struct(value: object) -> bool:
    return isinstance(value, dict) and "bytes" in value and "path" in value


def _bytes_note(data: bytes) -> str:
    return f"<{len(data)} bytes>"


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (an ASCII text's length, told without encoding it)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def _text_part(rid: str, text: str) -> Record:
    return Record(id=rid, media=MediaKind.TEXT, text=text, size_bytes=_utf8_size(text))


def _data_part(rid: str, data: bytes) -> Record:
    try:
        media = _media_of(data[:SNIFF_BYTES], rid)
    except InputError as exc:
        return _error(rid, exc.message)
    if media is MediaKind.TEXT:
        text, enc = decode_text(data)
        part = _text_part(rid, text)
        return part if enc == "utf-8" else Record(
            id=rid, media=part.media, text=text, size_bytes=len(data), meta={"encoding": enc}
        )
    return Record(id=rid, media=media, data=data, size_bytes=len(data))


def _path_part(rid: str, value: str, base: str) -> Record:
    location = value if is_remote(value) or os.path.isabs(value) else join(base, value)
    if not is_remote(location):
        location = str(Path(local_path(location)).resolve())
    record = _file_record(rid, location)
    if "error" in record.meta:
        return replace(record, meta={"error": f"{location}: {record.meta['error']}"})
    return record


def _jsonable(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_note(bytes(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


#: Source fields read as an item's language and as the date it was collected (manifest
#: and table columns, a WebDataset sample's JSON), first found first: the record's ``meta``
#: carries them as ``language`` and ``collected_at`` for the report's summary (languages,
#: collection period). The fields themselves stay in ``fields`` as they were.
LANGUAGE_FIELDS = ("language", "lang")
DATE_FIELDS = ("collected_at", "crawled_at", "crawl_date", "date", "created_at", "created",
               "timestamp")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}(-\d{2})?([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?\Z")


def _language(value: object) -> str | None:
    if isinstance(value, str):
        text = value.strip()
        if 0 < len(text) <= 35:
            return text
    return None


def _date(value: object) -> str | None:
    """An ISO date or time (text, or a ``date``/``datetime`` as pyarrow gives a timestamp
    column), as ISO text; anything else (a Unix time, free text) is not read as one."""
    if isinstance(value, str):
        text = value.strip()
        return text if _DATE_TEXT.match(text) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return None


_META_FIELDS = frozenset(LANGUAGE_FIELDS + DATE_FIELDS)


def source_meta(row: Mapping[str, Any]) -> dict[str, object]:
    """``language`` and ``collected_at`` of a row or a sample's JSON, where it has them."""
    meta: dict[str, object] = {}
    if isinstance(row, dict) and _META_FIELDS.isdisjoint(row):
        return meta  # most rows have none: one pass over their few keys
    for key in LANGUAGE_FIELDS:
        language = _language(row.get(key))
        if language is not None:
            meta["language"] = language
            break
    for key in DATE_FIELDS:
        when = _date(row.get(key))
        if when is not None:
            meta["collected_at"] = when
            break
    return meta


def record_from_row(
    row: Mapping[str, Any],
    *,
    base: str,
    where: str,
    default_id: str,
    options: ReadOptions = ReadOptions(),
    raw: object = None,
    plain: bool = False,
) -> Record:
    """One manifest or table row as a record: ``id``, inline text (``--text-column``), a
    media path (relative to the manifest), embedded media (``{bytes, path}`` structs or
    binary columns, as Hugging Face ``Audio``/``Image`` store them) and ``url``. A row with
    several media is one record with parts, decided once. The row's fields are kept as they
    were (bytes shown by their length).

    ``plain``: the row holds only JSON values (a JSON line as parsed, a CSV row of strings)
    and is the caller's to hand over: it becomes the record's ``fields`` as it is, instead
    of a converted copy (the copy, the general constructor and a part record made and
    dropped were most of a manifest reader's cost per row, issue 12)."""
    raw_id = row.get(options.id_column)
    rid = str(raw_id) if raw_id is not None else default_id
    url_value = row.get(options.url_column)
    url = str(url_value) if isinstance(url_value, str) else None
    # Each part as a Record, or as (column, text) for a text: a row whose one part is its
    # text becomes its record directly, without a part record.
    parts: list[Record | tuple[str, str]] = []
    for key, value in row.items():
        if key in (options.id_column, options.url_column):
            continue
        if isinstance(value, (bytes, bytearray, memoryview)):
            if value:
                parts.append(_data_part(f"{rid}:{key}", bytes(value)))
        elif _is_media_struct(value):
            data, path = value.get("bytes"), value.get("path")
            if isinstance(data, (bytes, bytearray)) and data:
                parts.append(_data_part(f"{rid}:{key}", bytes(data)))
            elif isinstance(path, str) and path:
                parts.append(_path_part(f"{rid}:{key}", path, base))
        elif key == options.text_column and isinstance(value, str):
            parts.append((key, value))
        elif key == options.path_column and isinstance(value, str) and value:
            parts.append(_path_part(f"{rid}:{key}", value, base))
    fields = row if plain else {str(k): _jsonable(v) for k, v in row.items()}
    if len(parts) == 1 and isinstance(parts[0], tuple):
        text = parts[0][1]
        return new_record(
            rid, MediaKind.TEXT, source_meta(row), text=text, url=url,
            size_bytes=_utf8_size(text), where=where, fields=fields, raw=raw,
        )
    records = [
        _text_part(f"{rid}:{p[0]}", p[1]) if isinstance(p, tuple) else p for p in parts
    ]
    return _assemble(rid, url, records, where, fields, raw, options, source_meta(row))


def _assemble(
    rid: str,
    url: str | None,
    parts: list[Record],
    where: str,
    fields: Mapping[str, object],
    raw: object,
    options: ReadOptions,
    info: Mapping[str, object],
) -> Record:
    """A row's record from its parts: one part is the record, several are decided once.
    ``info`` (:func:`source_meta`) goes into the record's ``meta``."""
    broken = [p for p in parts if "error" in p.meta]
    if broken:
        return Record(
            id=rid, media=MediaKind.UNKNOWN, url=url, where=where, fields=fields, raw=raw,
            meta={"error": "; ".join(f"{p.id}: {p.meta['error']}" for p in broken)},
        )
    if len(parts) == 1:
        part = parts[0]
        return Record(
            id=rid, media=part.media, path=part.path, text=part.text, data=part.data, url=url,
            size_bytes=part.size_bytes, where=where, fields=fields,
            meta={**part.meta, **info} if info else dict(part.meta), raw=raw,
        )
    if parts:
        return Record(
            id=rid, media=_primary(parts), url=url, where=where, fields=fields, raw=raw,
            parts=tuple(parts), size_bytes=sum(p.size_bytes for p in parts), meta=dict(info),
        )
    if url is not None:
        return Record(
            id=rid, media=MediaKind.UNKNOWN, url=url, where=where, fields=fields, raw=raw,
            meta=dict(info),
        )
    return Record(
        id=rid, media=MediaKind.UNKNOWN, where=where, fields=fields, raw=raw,
        meta={"error": f"{where}: a record needs text ({options.text_column!r}), media, "
              f"a path ({options.path_column!r}) or a url"},
    )


def _primary(parts: list[Record]) -> MediaKind:
    kinds = {p.media for p in parts}
    return next((k for k in _PRIORITY if k in kinds), MediaKind.UNKNOWN)


def _label(spec: ShardSpec) -> str:
    return spec.name or spec.location


def _default_id(spec: ShardSpec, unit: str, number: int) -> str:
    return f"{spec.name}:{unit}-{number}" if spec.name else f"{unit}-{number}"


def _read_lines(spec: ShardSpec, options: ReadOptions) -> Iterator[Record]:
    label = _label(spec)
    base = spec.base or os.path.dirname(spec.location) or "."
    with open_binary(spec.location) as raw:
        if spec.compression:
            fh = decompressed(raw, spec.compression, spec.location)
            skip = spec.start
            budget = -1
        else:
            raw.seek(spec.start)
            fh, skip, budget = raw, 0, spec.stop - spec.start
        number = spec.first_row - 1 - skip
        try:
            for line, length in iter_lines(fh):
                number += 1
                if skip > 0:
                    skip -= 1
                    continue
                if spec.compression and number > spec.stop:
                    return
                where = f"{label}:{number}"
                rid = _default_id(spec, "line", number)
                if line is None:
                    yield _error(rid, f"{where}: line longer than 16 MiB", where=where)
                elif line.strip():
                    yield _line_record(line, where=where, rid=rid, base=base, options=options)
                if budget >= 0:
                    budget -= length
                    if budget <= 0:
                        return
        except (OSError, EOFError, ValueError) as exc:  # truncated or corrupt compressed data
            yield _error(
                _default_id(spec, "line", number + 1),
                f"{label}: unreadable after line {number} ({exc})",
                where=f"{label}:{number + 1}",
            )


def _line_record(line: bytes, *, where: str, rid: str, base: str, options: ReadOptions) -> Record:
    try:
        obj = load_line(line)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
    except RecursionError:
        return _error(rid, f"{where}: invalid JSON record (nested too deeply)", where=where)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(rid, f"{where}: invalid JSON record ({exc})", where=where)
    # a parsed line holds only JSON values and is this record's alone: its fields as is
    return record_from_row(
        obj, base=base, where=where, default_id=rid, options=options, raw=line, plain=True
    )


def _csv_lines(fh: IO[bytes], budget: int) -> Iterator[str]:
    for line, length in iter_lines(fh):
        yield (line or b"").decode("utf-8", "replace")
        if budget >= 0:
            budget -= length
            if budget <= 0:
                return


def _read_csv(spec: ShardSpec, options: ReadOptions) -> Iterator[Record]:
    label = _label(spec)
    base = spec.base or os.path.dirname(spec.location) or "."
    header: list[str] | None = None
    if spec.first_row > 1:
        with open_binary(spec.location) as raw:
            fh = decompressed(raw, spec.compression, spec.location)
            header = next(csv.reader(_csv_lines(fh, -1)), [])
    with open_binary(spec.location) as raw:
        if spec.compression:
            fh, skip, budget = decompressed(raw, spec.compression, spec.location), spec.start, -1
        else:
            raw.seek(spec.start)
            fh, skip, budget = raw, 0, spec.stop - spec.start
        number = spec.first_row - 1 - skip
        try:
            for row in csv.reader(_csv_lines(fh, budget)):
                number += 1
                if skip > 0:
                    skip -= 1
                    continue
                if spec.compression and number > spec.stop:
                    return
                if header is None:
                    header = row
                    continue
                where = f"{label}:row {number}"
                rid = _default_id(spec, "row", number - 1)
                if not row:
                    continue
                if len(row) != len(header):
                    yield _error(
                        rid, f"{where}: {len(row)} fields, the header has {len(header)}",
                        where=where,
                    )
                    continue
                fields = {k: (v if v != "" else None) for k, v in zip(header, row, strict=True)}
                yield record_from_row(  # strings and None: the row as parsed is its fields
                    fields, base=base, where=where, default_id=rid, options=options, raw=row,
                    plain=True,
                )
        except (OSError, EOFError, ValueError, csv.Error) as exc:
            yield _error(
                _default_id(spec, "row", number), f"{label}: unreadable after row {number} ({exc})",
                where=f"{label}:row {number + 1}",
            )


# --- tables ----------------------------------------------------------------------------

# The last table (Arrow file) or row group (Parquet) a worker read: consecutive shards of
# one file reuse it instead of reading it again.
_TABLE_CACHE: dict[tuple[str, str, int], Any] = {}


def _cached(key: tuple[str, str, int], load: Any) -> Any:
    if key not in _TABLE_CACHE:
        _TABLE_CACHE.clear()
        _TABLE_CACHE[key] = load()
    return _TABLE_CACHE[key]


def table_slice(spec: ShardSpec) -> Any:
    """The spec's rows as a pyarrow Table (same schema as the file)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pyarrow", "parquet") from exc
    if spec.kind is SpecKind.ARROW:

        def load_arrow() -> Any:
            if is_remote(spec.location):
                with open_binary(spec.location) as fh:
                    data = pa.py_buffer(fh.read())
                source: Any = pa.BufferReader(data)
            else:
                source = pa.memory_map(local_path(spec.location))
            try:
                return pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                source.seek(0)
                return pa.ipc.open_file(source).read_all()

        table = _cached((spec.location, spec.stamp, -1), load_arrow)
        return table.slice(spec.start, spec.stop - spec.start)
    meta_key = (spec.location, spec.stamp, -2)

    def open_parquet() -> Any:
        fh = open_binary(spec.location)
        return pq.ParquetFile(fh)

    pf = _TABLE_CACHE.get(meta_key) or open_parquet()
    pieces = []
    offset = 0
    for group in range(pf.metadata.num_row_groups):
        rows = pf.metadata.row_group(group).num_rows
        lo, hi = max(spec.start, offset), min(spec.stop, offset + rows)
        if lo < hi:
            table = _cached(
                (spec.location, spec.stamp, group), lambda g=group: pf.read_row_group(g)
            )
            pieces.append(table.slice(lo - offset, hi - lo))
        offset += rows
        if offset >= spec.stop:
            break
    _TABLE_CACHE[meta_key] = pf
    if not pieces:
        return pf.schema_arrow.empty_table()
    return pa.concat_tables(pieces)


class _BatchRows:
    """A record batch's rows as JSON-able dicts (bytes shown by their length), converted
    together the first time one row's fields are asked for: the writers need them for the
    output lines, the checks never do, so a reader alone does not pay for them."""

    __slots__ = ("_batch", "_rows")

    def __init__(self, batch: Any) -> None:
        self._batch = batch
        self._rows: list[dict[str, object]] | None = None

    def row(self, i: int) -> dict[str, object]:
        if self._rows is None:
            self._rows = [
                {str(k): _jsonable(v) for k, v in r.items()} for r in self._batch.to_pylist()
            ]
            self._batch = None
        return self._rows[i]


class _RowFields(Mapping[str, object]):
    """One row's fields, from its batch's :class:`_BatchRows` on first use."""

    __slots__ = ("_i", "_rows")

    def __init__(self, rows: _BatchRows, i: int) -> None:
        self._rows = rows
        self._i = i

    def __getitem__(self, key: str) -> object:
        return self._rows.row(self._i)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows.row(self._i))

    def __len__(self) -> int:
        return len(self._rows.row(self._i))

    def __repr__(self) -> str:
        return repr(self._rows.row(self._i))


def _column_roles(schema: Any, options: ReadOptions) -> list[tuple[str, str]]:
    """(column, role) for the columns that make parts, in column order, by the rules of
    :func:`record_from_row`: binary values are embedded media, ``{bytes, path}`` structs
    media or a path, the text column text, the path column a media path."""
    import pyarrow as pa

    roles = []
    binary_view = getattr(pa.types, "is_binary_view", lambda _kind: False)  # pyarrow >= 16
    for field in schema:
        name, kind = field.name, field.type
        if name in (options.id_column, options.url_column):
            continue
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if (
            pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
            or binary_view(kind)
        ):
            roles.append((name, "bytes"))
        elif (
            pa.types.is_struct(kind)
            and kind.get_field_index("bytes") >= 0
            and kind.get_field_index("path") >= 0
        ):
            roles.append((name, "struct"))
        elif name == options.text_column:
            roles.append((name, "text"))
        elif name == options.path_column:
            roles.append((name, "path"))
    return roles


def _blob_kinds(array: Any) -> list[MediaKind | None] | None:
    """Media kinds of a binary column's blobs, told from their heads all at once
    (:func:`~tdmguard.scan.sniff.blob_kinds` on the column's offsets and data buffers, no
    copy), or None for a layout read value by value (dictionary, fixed-size, view)."""
    import numpy as np
    import pyarrow as pa

    kind = array.type
    if pa.types.is_binary(kind):
        offset_type: Any = np.int32
    elif pa.types.is_large_binary(kind):
        offset_type = np.int64
    else:
        return None
    n = len(array)
    if n == 0:
        return []
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[array.offset : array.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return blob_kinds(data, offsets[:-1], offsets[1:] - offsets[:-1])


def _blob_part(rid: str, data: bytes, kind: MediaKind | None) -> Record:
    """An embedded blob as a part: of the kind its head settled, else sniffed in full."""
    if kind is None:
        return _data_part(rid, data)
    return Record(id=rid, media=kind, data=data, size_bytes=len(data))


def _string_sizes(array: Any) -> list[int | None] | None:
    """UTF-8 sizes of a string column's values, from its offsets (None: not a plain
    string column, sizes are then measured per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    sizes: list[int | None] = pc.binary_length(array).to_pylist()
    return sizes


def _id_strings(batch: Any, column: str) -> list[str | None] | None:
    """The id column's values as the strings ``str(value)`` gives (None where null)."""
    import pyarrow as pa

    if column not in batch.schema.names:
        return None
    array = batch.column(column)
    values = array.to_pylist()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return values  # type: ignore[no-any-return]
    return [None if v is None else str(v) for v in values]


def _batch_records(
    batch: Any, spec: ShardSpec, options: ReadOptions, base: str, first: int
) -> Iterator[Record]:
    """The records of one Arrow record batch, read column by column: the values a part
    needs are converted per column (``to_pylist``), blob kinds are told from the columns'
    buffers at once (only a blob whose signature does not settle it is sniffed alone),
    text sizes come from the string offsets, and the row's other fields are converted only
    when a writer asks for them. ``first`` is the batch's first row within the spec's
    slice."""
    import pyarrow as pa

    n = batch.num_rows
    label = _label(spec)
    ids = _id_strings(batch, options.id_column)
    urls = (
        batch.column(options.url_column).to_pylist()
        if options.url_column in batch.schema.names else None
    )
    # the first language and date columns present (source_meta's names), read per column
    info_columns = [
        (meta_key, read, batch.column(name).to_pylist())
        for meta_key, names, read in (("language", LANGUAGE_FIELDS, _language),
                                      ("collected_at", DATE_FIELDS, _date))
        for name in [next((n for n in names if n in batch.schema.names), None)]
        if name is not None
    ]
    # (column, role, values, paths or text sizes, blob kinds)
    columns: list[tuple[str, str, list[Any], list[Any] | None, list[Any] | None]] = []
    for name, role in _column_roles(batch.schema, options):
        column = batch.column(name)
        if role == "struct":
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            # flatten() gives each field with the parent's nulls applied
            flat, kind = column.flatten(), column.type
            blobs = flat[kind.get_field_index("bytes")]
            columns.append((name, role, blobs.to_pylist(),
                            flat[kind.get_field_index("path")].to_pylist(), _blob_kinds(blobs)))
        elif role == "bytes":
            columns.append((name, role, column.to_pylist(), None, _blob_kinds(column)))
        elif role == "text":
            columns.append((name, role, column.to_pylist(), _string_sizes(column), None))
        else:
            columns.append((name, role, column.to_pylist(), None, None))
    rows = _BatchRows(batch)
    prefix = f"{spec.name}:row-" if spec.name else "row-"
    where_prefix = f"{label}:row "
    number = spec.start + first
    for i in range(n):
        number += 1
        rid = ids[i] if ids is not None else None
        if rid is None:
            rid = f"{prefix}{number}"
        url_value = urls[i] if urls is not None else None
        url = url_value if isinstance(url_value, str) else None
        # Parts as (name, text, text size, blob, blob kind, path): a Record is made for a
        # part only when the row has several; a row's one part becomes the row's record.
        found: list[tuple[str, str | None, int, bytes | None, MediaKind | None,
                          str | None]] = []
        for name, role, values, extra, kinds in columns:
            value = values[i]
            if role == "text":
                if isinstance(value, str):
                    size = extra[i] if extra is not None else None
                    if size is None:
                        size = len(value.encode("utf-8", "replace"))
                    found.append((name, value, size, None, None, None))
            elif role == "bytes":
                if value:
                    found.append((name, None, 0, value, kinds[i] if kinds else None, None))
            elif role == "struct":
                if isinstance(value, bytes) and value:
                    found.append((name, None, 0, value, kinds[i] if kinds else None, None))
                else:
                    path = extra[i] if extra is not None else None
                    if isinstance(path, str) and path:
                        found.append((name, None, 0, None, None, path))
            elif isinstance(value, str) and value:
                found.append((name, None, 0, None, None, value))
        where = f"{where_prefix}{number}"
        info: dict[str, object] = {}
        for meta_key, read, values in info_columns:
            value = read(values[i])
            if value is not None:
                info[meta_key] = value
        if len(found) == 1:
            name, text, size, blob, kind, path = found[0]
            if text is not None:
                yield Record(id=rid, media=MediaKind.TEXT, text=text, url=url, size_bytes=size,
                             where=where, fields=_RowFields(rows, i), raw=first + i, meta=info)
                continue
            if blob is not None and kind is not None:
                yield Record(id=rid, media=kind, data=blob, url=url, size_bytes=len(blob),
                             where=where, fields=_RowFields(rows, i), raw=first + i, meta=info)
                continue
        parts: list[Record] = []
        for name, text, size, blob, kind, path in found:
            pid = f"{rid}:{name}"
            if text is not None:
                parts.append(Record(id=pid, media=MediaKind.TEXT, text=text, size_bytes=size))
            elif blob is not None:
                parts.append(_blob_part(pid, blob, kind))
            elif path is not None:
                parts.append(_path_part(pid, path, base))
        yield _assemble(rid, url, parts, where, _RowFields(rows, i), first + i, options, info)


def _read_table(spec: ShardSpec, options: ReadOptions) -> Iterator[Record]:
    label = _label(spec)
    base = spec.base or os.path.dirname(spec.location) or "."
    try:
        table = table_slice(spec)
        batches = table.to_batches(max_chunksize=1024)
    except (OSError, ValueError, EOFError) as exc:
        rid = f"{spec.name or spec.location}:rows {spec.start + 1}-{spec.stop}"
        yield _error(rid, f"{label}: unreadable rows {spec.start + 1}-{spec.stop} ({exc})",
                     where=f"{label}:rows {spec.start + 1}-{spec.stop}")
        return
    first = 0
    for batch in batches:
        yield from _batch_records(batch, spec, options, base, first)
        first += batch.num_rows


# --- WebDataset ------------------------------------------------------------------------


def _sample(spec: ShardSpec, key: str, members: list[tuple[str, str, bytes]]) -> Record:
    """One WebDataset sample: media members are parts, ``.json`` and label members are its
    fields (a ``url`` in the JSON is the item's source URL)."""
    label = _label(spec)
    rid = f"{spec.name}#{key}" if spec.name else key
    where = f"{label}#{key}"
    fields: dict[str, object] = {"__key__": key}
    parts: list[Record] = []
    url: str | None = None
    info: dict[str, object] = {}
    problems: list[str] = []
    for name, ext, data in members:
        last = ext.rsplit(".", 1)[-1]
        if last in META_EXTS:
            if last == "json":
                try:
                    obj = json.loads(data)
                except RecursionError:
                    problems.append(f"{name}: JSON nested too deeply")
                    continue
                except (ValueError, UnicodeDecodeError) as exc:
                    problems.append(f"{name}: invalid JSON ({exc})")
                    continue
                fields[ext] = _jsonable(obj)
                if isinstance(obj, dict):
                    if isinstance(obj.get("url"), str):
                        url = obj["url"]
                    info = source_meta(obj) | info  # the first JSON member's win
            else:
                fields[ext] = data.decode("utf-8", "replace").strip()
            continue
        part = _data_part(f"{key}.{ext}", data)
        if "error" in part.meta:
            problems.append(f"{name}: {part.meta['error']}")
        parts.append(part)
    raw = [(name, data) for name, _, data in members]
    if problems:
        return Record(
            id=rid, media=MediaKind.UNKNOWN, where=where, fields=fields, url=url, raw=raw,
            meta={"error": f"{where}: " + "; ".join(problems)},
        )
    if not parts and url is None:
        return Record(
            id=rid, media=MediaKind.UNKNOWN, where=where, fields=fields, raw=raw,
            meta={"error": f"{where}: sample has no media or text member"},
        )
    return Record(
        id=rid, media=_primary(parts), url=url, where=where, fields=fields, parts=tuple(parts),
        size_bytes=sum(p.size_bytes for p in parts), raw=raw, meta=info,
    )


def _read_tar(spec: ShardSpec) -> Iterator[Record]:
    label = _label(spec)
    lower = spec.location.lower()
    gz = lower.endswith((".tar.gz", ".tgz"))
    key: str | None = None
    members: list[tuple[str, str, bytes]] = []
    with open_binary(spec.location) as raw:
        try:
            if gz:
                import gzip

                fh: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
                seekable = False
            else:
                if spec.start:
                    raw.seek(spec.start)
                fh, seekable = raw, raw.seekable()
            for member in iter_tar(fh, start=spec.start, stop=spec.stop,
                                   max_member=MAX_MEMBER, seekable=seekable):
                k, ext = tar_key(member.name)
                if k != key:
                    if key is not None:
                        yield _sample(spec, key, members)
                    key, members = k, []
                if member.is_dir:
                    continue
                members.append((member.name, ext, member.data or b""))
        except (DamagedTarError, OSError, EOFError, zlib.error) as exc:
            why = str(exc) or type(exc).__name__
            if key is not None:
                rid, where = (f"{spec.name}#{key}" if spec.name else key), f"{label}#{key}"
            else:
                rid = where = label if not spec.start else f"{label}@{spec.start}"
            yield _error(
                rid, f"{where}: unreadable tar shard, stopped here ({why})", where=where
            )
            return
    if key is not None:
        yield _sample(spec, key, members)


# --- entry points -------------------------------------------------------------------------


def read_shard(spec: ShardSpec, options: ReadOptions = ReadOptions()) -> Iterator[Record]:
    """The records of one shard, streamed."""
    if spec.kind is SpecKind.ERROR:
        yield _error(spec.name or spec.location, spec.error, where=spec.name or spec.location)
    elif spec.kind is SpecKind.FILES:
        yield from _read_files(spec)
    elif spec.kind is SpecKind.LINES:
        yield from _read_lines(spec, options)
    elif spec.kind is SpecKind.CSV:
        yield from _read_csv(spec, options)
    elif spec.kind in (SpecKind.PARQUET, SpecKind.ARROW):
        yield from _read_table(spec, options)
    elif spec.kind is SpecKind.TAR:
        yield from _read_tar(spec)


def read_source(
    source: str | Path, *, shard_size: int = 64, options: ReadOptions = ReadOptions()
) -> Iterator[Record]:
    """Every record of a source, in plan order (for tests and small sources)."""
    for spec in list(plan_source(str(source), shard_size)):
        yield from read_shard(spec, options)
