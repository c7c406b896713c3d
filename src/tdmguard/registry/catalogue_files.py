"""Reading catalogue files as people export them: CSV/TSV from any spreadsheet (delimiter
sniffed, quoted fields, a UTF-8 BOM, UTF-16, or Latin-1 / Windows-1252 with a warning),
JSON Lines, and Excel ``.xlsx`` (extra ``xlsx``).

Only the file format lives here: :func:`read_rows` yields ``(line, {column: value})`` with
column names normalised (case, spacing and ``-``/``_`` ignored, a few common aliases), and the
warnings the reader had to make. What the columns mean is :mod:`tdmguard.registry.catalogue`'s.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tdmguard.errors import InputError, MissingExtraError

__all__ = ["CatalogueFile", "normalise_column", "read_rows"]

MAX_LINE_BYTES = 1 << 20
MAX_FILE_BYTES = 512 << 20
_DELIMITERS = (",", ";", "\t", "|")
# Header spellings people use for our columns (after normalisation).
_ALIASES = {
    "artist": "artists",
    "work_id": "id",
    "workid": "id",
    "catalogue_id": "id",
    "catalog_id": "id",
    "ean": "upc",
    "upc_ean": "upc",
    "barcode": "upc",
}


def normalise_column(name: str) -> str:
    """``" Release Date"`` -> ``release_date``; ``"ISRC"`` -> ``isrc``; ``Artist`` ->
    ``artists``."""
    key = re.sub(r"[\s\-_./]+", "_", name.strip().lower()).strip("_")
    return _ALIASES.get(key, key)


@dataclass
class CatalogueFile:
    """One catalogue file being read: where it is, its format, and what the reader noticed."""

    path: Path
    format: str = ""
    encoding: str = "utf-8"
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        suffix = self.path.suffix.lower()
        if suffix in (".jsonl", ".ndjson", ".json"):
            self.format = "jsonl"
            yield from self._jsonl()
        elif suffix in (".csv", ".tsv", ".txt"):
            self.format = "csv"
            yield from self._csv()
        elif suffix in (".xlsx", ".xlsm"):
            self.format = "xlsx"
            yield from self._xlsx()
        else:
            raise InputError("a catalogue is .csv, .tsv, .jsonl or .xlsx", where=str(self.path))

    # -- text ------------------------------------------------------------------------------
    def _text(self) -> str:
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError(f"catalogue larger than {MAX_FILE_BYTES >> 20} MiB",
                                 where=str(self.path))
            raw = self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror or exc})", where=str(self.path)) from exc
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
            try:
                return raw.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise InputError(f"broken UTF-16 text (byte {exc.start})",
                                 where=str(self.path)) from exc
        try:
            self.encoding = "utf-8"
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            first_bad = exc.start
        # Spreadsheets on Windows export in the ANSI code page. Windows-1252 is Latin-1 plus
        # printable characters in 0x80-0x9F; the five bytes it leaves undefined mean Latin-1.
        for encoding in ("cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            self.encoding = encoding
            line = raw[:first_bad].count(b"\n") + 1
            self.warnings.append(
                f"{self.path}: not UTF-8 (first at line {line}); read as "
                f"{'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}: check accented names"
            )
            return text
        raise AssertionError("latin-1 decodes every byte")  # pragma: no cover

    def _jsonl(self) -> Iterator[tuple[int, dict[str, object]]]:
        for number, line in enumerate(self._text().splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{self.path}:{number}"
            if len(line) > MAX_LINE_BYTES:
                raise InputError("line longer than 1 MiB", where=where)
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) \
                    else "nested too deeply"
                raise InputError(f"invalid JSON ({msg})", where=where) from exc
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object", where=where)
            yield number, {normalise_column(str(k)): v for k, v in obj.items()}

    def _sniff_delimiter(self, header: str) -> str:
        if self.path.suffix.lower() == ".tsv":
            return "\t"
        counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
        best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: the order of _DELIMITERS
        return best if counts[best] else ","

    def _csv(self) -> Iterator[tuple[int, dict[str, object]]]:
        text = self._text()
        lines = text.splitlines()
        header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
        if header_at is None:
            raise InputError("the catalogue is empty", where=str(self.path))
        self.delimiter = self._sniff_delimiter(lines[header_at])
        reader = csv.reader(lines[header_at:], delimiter=self.delimiter, strict=False)
        try:
            header = [normalise_column(c) for c in next(reader)]
        except csv.Error as exc:
            raise InputError(f"malformed CSV header ({exc})",
                             where=f"{self.path}:{header_at + 1}") from exc
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                raise InputError(f"column {name!r} appears twice in the header",
                                 where=f"{self.path}:{header_at + 1}")
            seen.add(name)
        try:
            for fields in reader:
                number = header_at + reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) > len(header) and any(f.strip() for f in fields[len(header):]):
                    raise InputError(
                        f"{len(fields)} fields but the header names {len(header)}",
                        where=f"{self.path}:{number}",
                    )
                yield number, {
                    name: value for name, value in zip(header, fields, strict=False) if name
                }
        except csv.Error as exc:
            raise InputError(f"malformed CSV ({exc})",
                             where=f"{self.path}:{header_at + reader.line_num}") from exc

    # -- spreadsheets ----------------------------------------------------------------------
    def _xlsx(self) -> Iterator[tuple[int, dict[str, object]]]:
        try:
            import openpyxl
        except ImportError as exc:
            raise MissingExtraError("openpyxl", "xlsx") from exc
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError, ...
            raise InputError(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})",
                             where=str(self.path)) from exc
        try:
            sheet = book.worksheets[0]
            if len(book.worksheets) > 1:
                self.warnings.append(f"{self.path}: read the first sheet ({sheet.title!r}) of "
                                     f"{len(book.worksheets)}")
            header: list[str] | None = None
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                values = [_cell_text(c) for c in cells]
                if header is None:
                    if any(values):
                        header = [normalise_column(v) for v in values]
                    continue
                if not any(values):
                    continue
                yield number, {
                    name: value for name, value in zip(header, values, strict=False) if name
                }
        finally:
            book.close()


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person sees: whole numbers without ``.0``, dates as
    ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read_rows(path: Path) -> tuple[CatalogueFile, Iterator[tuple[int, dict[str, object]]]]:
    """The file's reader (for its warnings, filled as rows are read) and its rows."""
    source = CatalogueFile(path)
    return source, source.rows()
