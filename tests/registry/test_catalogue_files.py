"""Catalogue files as spreadsheets export them: delimiters, BOMs, encodings, header spellings
and Excel workbooks; every refusal names the file and line."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tdmguard.errors import InputError
from tdmguard.registry.catalogue_files import normalise_column, read_rows

ROWS = [("id", "Title", "Artist", "Label", "Release Date"),
        ("A-1", "Café Noir", "Zoë Ensemble", "Aurora", "2024-05-01"),
        ("A-2", "Fjäll; live", "Åsa", "Aurora", "2024-06-01")]


def _csv(rows: list[tuple[str, ...]], delimiter: str) -> str:
    def q(v: str) -> str:
        return f'"{v}"' if delimiter in v or '"' in v else v
    return "\r\n".join(delimiter.join(q(v) for v in row) for row in rows) + "\r\n"


def _read(path: Path) -> tuple[list[tuple[int, dict[str, object]]], list[str], str]:
    source, rows = read_rows(path)
    out = list(rows)
    return out, source.warnings, source.encoding


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_dialects_and_encodings(tmp_path: Path, delimiter: str, encoding: str) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_bytes(_csv(ROWS, delimiter).encode(encoding))
    rows, warnings, _ = _read(path)
    assert [n for n, _ in rows] == [2, 3]
    assert rows[0][1] == {"id": "A-1", "title": "Café Noir", "artists": "Zoë Ensemble",
                          "label": "Aurora", "release_date": "2024-05-01"}
    assert rows[1][1]["title"] == "Fjäll; live"
    if encoding in ("cp1252", "latin-1"):
        assert len(warnings) == 1 and "not UTF-8" in warnings[0] and "line 2" in warnings[0]
    else:
        assert warnings == []


def test_windows_1252_punctuation(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("title;artists\r\n“Smart” quotes – dash;X\r\n".encode("cp1252"))
    rows, warnings, encoding = _read(path)
    assert encoding == "cp1252" and rows[0][1]["title"] == "“Smart” quotes – dash"
    assert "Windows-1252" in warnings[0]


def test_column_names_ignore_case_spacing_and_aliases() -> None:
    assert normalise_column(" Release  Date ") == "release_date"
    assert normalise_column("ISRC") == "isrc"
    assert normalise_column("Artist") == "artists"
    assert normalise_column("work-id") == "id"


def test_too_many_fields_names_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("title,artists\nA,B\nC,D,E\n", encoding="utf-8")
    _source, rows = read_rows(path)
    with pytest.raises(InputError, match="3 fields but the header names 2") as info:
        list(rows)
    assert info.value.where == f"{path}:3"


def test_duplicate_header_and_empty_file(tmp_path: Path) -> None:
    dup = tmp_path / "d.csv"
    dup.write_text("title,Title\nA,B\n", encoding="utf-8")
    with pytest.raises(InputError, match="twice"):
        list(read_rows(dup)[1])
    empty = tmp_path / "e.csv"
    empty.write_bytes(codecs.BOM_UTF8 + b"\n\n")
    with pytest.raises(InputError, match="empty"):
        list(read_rows(empty)[1])


def test_jsonl_deep_nesting_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"title": "ok"}\n' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n",
                    encoding="utf-8")
    _source, rows = read_rows(path)
    with pytest.raises(InputError) as info:
        list(rows)
    assert info.value.where == f"{path}:2"


def test_xlsx_written_by_openpyxl(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Title", "UPC", "Release date"])
    sheet.append(["A-1", "Café Noir", 36000291452, dt.datetime(2024, 5, 1)])
    sheet.append([None, None, None, None])
    sheet.append(["A-2", "Second", None, None])
    path = tmp_path / "catalogue.xlsx"
    book.save(path)
    rows, _warnings, _ = _read(path)
    assert rows == [(2, {"id": "A-1", "title": "Café Noir", "upc": "36000291452",
                         "release_date": "2024-05-01"}),
                    (4, {"id": "A-2", "title": "Second", "upc": "", "release_date": ""})]


def test_not_a_workbook(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match=r"not a readable \.xlsx") as info:
        list(read_rows(path)[1])
    assert info.value.where == str(path)


CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "catalogue"


@pytest.mark.parametrize("name", ["source-utf8-comma.csv", "libreoffice-utf8-semicolon.csv",
                                  "libreoffice-cp1252-semicolon-quoted.csv", "libreoffice.xlsx"])
def test_libreoffice_exports_read_alike(name: str) -> None:
    """The same sheet exported by LibreOffice in four ways reads as the same rows (only the
    UPC differs: the spreadsheet made it a number and dropped its leading zero)."""
    pytest.importorskip("openpyxl")
    rows, warnings, encoding = _read(CORPUS / name)
    assert [n for n, _ in rows] == [2, 3, 4]
    first = rows[0][1]
    assert first["title"] == "Café Noir" and first["artists"] == "Zoë Ensemble"
    assert first["label"] == "Aurora Records" and first["release_date"] == "2024-05-01"
    assert first["upc"] in ("036000291452", "36000291452")
    assert rows[1][1]["title"] == "Fjäll; live" and rows[2][1]["title"] == "Señor «Niño»"
    assert bool(warnings) == (encoding == "cp1252")
