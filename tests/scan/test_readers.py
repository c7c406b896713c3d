from __future__ import annotations

import gzip
import io
import json
import os
import wave
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tdmguard.errors import InputError
from tdmguard.scan.plan import SpecKind, plan_source
from tdmguard.scan.readers import read_shard, read_source
from tdmguard.scan.record import MediaKind


def _wav(seconds: float = 0.1, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.sin(np.arange(int(seconds * rate)) / 5) * 8000).astype(np.int16)
                      .tobytes())
    return buf.getvalue()


def test_directory_is_sorted_recursive_and_sniffs_content(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "song.txt").write_bytes(b"MThd\x00\x00\x00\x06")  # a MIDI named .txt
    (tmp_path / "a.mp3").write_text("plain words, not audio")
    (tmp_path / ".hidden").write_text("skipped")
    (tmp_path / "empty").write_bytes(b"")
    records = list(read_source(tmp_path))
    assert [r.id for r in records] == ["a.mp3", "b/song.txt", "empty"]
    assert [r.media for r in records[:2]] == [MediaKind.TEXT, MediaKind.SYMBOLIC]
    assert records[2].meta["error"] == "empty file"


def test_folder_fails_closed_on_what_it_cannot_open(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "ok.txt").write_text("words")
    (ds / "lyrics.txt.gz").write_bytes(gzip.compress(b"reserved words"))
    import zipfile

    with zipfile.ZipFile(ds / "bundle.zip", "w") as zf:
        zf.writestr("a.txt", "hidden inside")
    (ds / "dangling").symlink_to(tmp_path / "nowhere")
    (ds / "loop").symlink_to(ds)  # a symlinked folder pointing at an ancestor
    os.mkfifo(ds / "pipe")
    (ds / "secret.txt").write_text("x")
    (ds / "secret.txt").chmod(0)
    bad_name = os.fsencode(str(ds)) + b"/caf\xe9.txt"  # not UTF-8
    with open(bad_name, "wb") as fh:
        fh.write(b"latin-1 name")
    records = {r.id: r for r in read_source(ds)}
    errors = {k: str(r.meta.get("error", "")) for k, r in records.items()}
    assert "gzip archive" in errors["lyrics.txt.gz"]
    assert "zip archive" in errors["bundle.zip"]
    assert "dangling symlink" in errors["dangling"]
    assert "symlink loop" in errors["loop"]
    assert "not a regular file (FIFO)" in errors["pipe"]
    if os.geteuid() != 0:  # root reads any file
        assert "cannot read" in errors["secret.txt"]
    odd = next(k for k in records if k.startswith("caf"))
    assert records[odd].media is MediaKind.TEXT and not errors[odd]
    assert records["ok.txt"].media is MediaKind.TEXT


def test_jsonl_manifest_rows_and_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    manifest = tmp_path / "m.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    manifest.write_text(
        '{"id": "t1", "text": "some lyrics", "lang": "en"}\n'
        '{"id": "p1", "path": "x.txt", "url": "https://e.example/x"}\n'
        "\n"
        "[1, 2]\n"
        '{"id": "broken"\n'
        '{"id": "gone", "path": "missing.wav"}\n'
        '{"id": "u1", "url": "https://e.example/y"}\n'
        '{"id": "none"}\n'
        f'{{"id": "deep", "x": {deep}}}\n'
        '{"id": "\\ud800", "text": "lone surrogate id"}\n'
    )
    records = {r.id: r for r in read_source(manifest, shard_size=3)}
    assert records["t1"].text == "some lyrics" and records["t1"].fields == {
        "id": "t1", "text": "some lyrics", "lang": "en"}
    assert records["p1"].media is MediaKind.TEXT and records["p1"].url == "https://e.example/x"
    assert "m.jsonl:4" in str(records["line-4"].meta["error"])
    assert "invalid JSON" in str(records["line-5"].meta["error"])
    assert "missing.wav" in str(records["gone"].meta["error"])
    assert records["u1"].media is MediaKind.UNKNOWN and records["u1"].url
    assert "needs text" in str(records["none"].meta["error"])
    assert "nested too deeply" in str(records["line-9"].meta["error"])
    assert records["\ud800"].text == "lone surrogate id"


def test_plain_rows_make_the_records_the_general_path_makes(tmp_path: Path) -> None:
    """A JSON line or CSV row is handed over as it is (``plain``: no copy of its fields, the
    record made by ``new_record``): the records equal those of the general path, which
    converts a copy of the row, for text (ASCII or not), several parts, a url only, a
    language and a date, and no content at all."""
    from tdmguard.scan.readers import record_from_row
    from tdmguard.scan.record import Record, new_record

    (tmp_path / "x.txt").write_text("hello")
    rows = [
        {"id": "t1", "text": "some lyrics"},
        {"id": 7, "text": "d\u00e9j\u00e0 vu \u266a", "lang": "fr", "date": "2024-05-01",
         "n": [1, {"a": None}]},
        {"text": "", "url": "https://e.example/a"},
        {"id": "two", "text": "words", "path": "x.txt"},
        {"id": "u", "url": "https://e.example/u"},
        {"id": "none", "other": 1.5},
        {"id": "s", "audio": {"bytes": None, "path": "x.txt"}},
    ]
    for n, row in enumerate(rows):
        kw = {"base": str(tmp_path), "where": f"m:{n}", "default_id": f"line-{n}", "raw": b"x"}
        general = record_from_row(row, **kw)  # type: ignore[arg-type]
        fast = record_from_row(json.loads(json.dumps(row)), plain=True, **kw)  # type: ignore[arg-type]
        assert fast == general and fast.to_json() == general.to_json(), row
        assert fast.meta == general.meta and fast.raw == general.raw
    made = new_record("a", MediaKind.TEXT, {"language": "en"}, text="t", url="u", size_bytes=1,
                      where="w", fields={"id": "a"}, raw=b"r")
    assert made == Record(id="a", media=MediaKind.TEXT, text="t", url="u", size_bytes=1,
                          where="w", fields={"id": "a"}, raw=b"r", meta={"language": "en"})
    assert made.path is None and made.data is None and made.parts == ()


def test_manifest_shards_are_byte_ranges_that_cover_every_row(tmp_path: Path) -> None:
    rows = [json.dumps({"id": f"r{i}", "text": f"row {i}"}) for i in range(50)]
    (tmp_path / "m.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.jsonl.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    import zstandard

    (tmp_path / "m.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(("\n".join(rows) + "\n").encode()))
    for name in ("m.jsonl", "m.jsonl.gz", "m.jsonl.zst"):
        specs = list(plan_source(str(tmp_path / name), 7))
        assert len(specs) == 8 and all(s.kind is SpecKind.LINES for s in specs)
        ids = [r.id for s in specs for r in read_shard(s)]
        assert ids == [f"r{i}" for i in range(50)], name


def test_csv_manifest_with_quoted_newlines(tmp_path: Path) -> None:
    text = 'id,text,lang\na,"first\nline",en\nb,second,fr\nc,"x, y",de\nd,bad\n'
    (tmp_path / "m.csv").write_text(text)
    for shard_size in (1, 2, 10):
        records = list(read_source(tmp_path / "m.csv", shard_size=shard_size))
        assert [r.id for r in records] == ["a", "b", "c", "row-4"]
        assert records[0].text == "first\nline" and records[2].text == "x, y"
        assert "2 fields, the header has 3" in str(records[3].meta["error"])


def test_parquet_manifest_and_media_structs(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    audio = {"bytes": _wav(), "path": "a.wav"}
    table = pa.table({"id": ["r1", None, "r3", "r4"],
                      "text": ["first lyrics", "second", None, None],
                      "path": [None, None, "x.txt", None],
                      "audio": [None, None, None, audio],
                      "source": ["forum", "blog", "web", "web"]})
    pq.write_table(table, tmp_path / "m.parquet", row_group_size=3)
    specs = list(plan_source(str(tmp_path / "m.parquet"), 2))
    assert [(s.start, s.stop) for s in specs] == [(0, 2), (2, 4)]
    records = list(read_source(tmp_path / "m.parquet", shard_size=2))
    assert [r.id for r in records] == ["r1", "row-2", "r3", "r4"]
    assert records[0].text == "first lyrics" and records[0].fields["source"] == "forum"
    assert records[2].path == (tmp_path / "x.txt").resolve()
    assert records[3].media is MediaKind.AUDIO and records[3].data == audio["bytes"]
    assert records[3].fields["audio"] == {"bytes": f"<{len(audio['bytes'])} bytes>",
                                          "path": "a.wav"}
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(InputError, match=r"bad\.parquet"):
        list(read_source(tmp_path / "bad.parquet"))


def test_corrupt_parquet_inside_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "good.parquet").parent.mkdir(exist_ok=True)
    pq.write_table(pa.table({"text": ["a", "b"]}), tmp_path / "good.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    records = list(read_source(tmp_path))
    assert [r.id for r in records] == ["bad.parquet", "good.parquet:row-1", "good.parquet:row-2"]
    assert "not a readable Parquet file" in str(records[0].meta["error"])


def test_unknown_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_source(tmp_path / "nope"))
    (tmp_path / "data.bin").write_text("a,b\n")
    with pytest.raises(InputError, match="a scan source is a folder"):
        list(read_source(tmp_path / "data.bin"))


def test_table_reader_reads_columns_like_record_from_row(tmp_path: Path) -> None:
    """The column-wise Parquet reader gives the same records as the row-wise rules of
    record_from_row: structs with their fields in either order, null structs, dictionary
    columns, binary columns, paths relative to the table, ids of any type, batches."""
    from tdmguard.scan.readers import ReadOptions, record_from_row

    (tmp_path / "clip.wav").write_bytes(_wav())
    n = 2500  # more than one record batch
    media = pa.array(
        [None if i % 5 == 0 else {"path": "clip.wav", "bytes": None} if i % 5 == 1
         else {"path": f"x{i}.wav", "bytes": _wav() if i % 5 == 2 else os.urandom(64)}
         for i in range(n)],
        type=pa.struct([("path", pa.string()), ("bytes", pa.binary())]),  # path first
    )
    table = pa.table({
        "key": pa.array(range(n), type=pa.int64()),
        "lyrics": pa.array([None if i % 7 == 0 else f"words {i}" for i in range(n)]),
        "media": media,
        "blob": pa.array([b"" if i % 3 == 0 else b"\x89PNG\r\n\x1a\n" + bytes(8)
                          for i in range(n)]),
        "lang": pa.array(["en", "de"] * (n // 2)).dictionary_encode(),
        "url": pa.array([f"https://example.org/{i}" if i % 2 else None for i in range(n)]),
    })
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=1000)
    options = ReadOptions(text_column="lyrics", id_column="key")
    records = list(read_source(tmp_path / "t.parquet", shard_size=700, options=options))
    assert len(records) == n
    for i, (got, row) in enumerate(zip(records, table.to_pylist(), strict=True)):
        want = record_from_row(row, base=str(tmp_path),
                               where=f"{tmp_path / 't.parquet'}:row {i + 1}",
                               default_id=f"row-{i + 1}", options=options)
        assert got.to_json() == want.to_json(), i
        assert [p.to_json() for p in got.parts] == [p.to_json() for p in want.parts], i
        assert got.media is want.media and got.text == want.text and got.data == want.data


@pytest.mark.parametrize("layout", ["binary", "large-struct", "one-column", "arrow"])
def test_table_blobs_sniffed_by_column_match_the_row_rules(tmp_path: Path, layout: str) -> None:
    """Blobs whose kind the column-wise sniff settles (real media) and those it leaves to
    the full sniff (text, random bytes, containers: a tar whose first bytes look like a
    JPEG is still an error naming its row) give the records of record_from_row, in a
    binary column, a large_binary ``{bytes, path}`` struct, a one-column table (each
    row's record is its blob) and an Arrow stream file (``save_to_disk``)."""
    from tdmguard.scan.readers import ReadOptions, record_from_row
    from tests.scan.test_sniff import _blobs

    blobs = [b for b in _blobs() if b] * 3
    n = len(blobs)
    if layout == "binary":
        columns = {"id": pa.array([f"b{i}" for i in range(n)]),
                   "text": pa.array([f"caption {i}" if i % 4 else None for i in range(n)]),
                   "blob": pa.array(blobs, type=pa.binary())}
    elif layout == "large-struct":
        kind = pa.struct([("bytes", pa.large_binary()), ("path", pa.string())])
        columns = {"image": pa.array([None if i % 9 == 8 else {"bytes": b, "path": None}
                                      for i, b in enumerate(blobs)], type=kind),
                   "text": pa.array([f"caption {i}" for i in range(n)])}
    else:
        columns = {"blob": pa.array(blobs, type=pa.binary())}
    table = pa.table(columns)
    if layout == "arrow":
        name = "data-00000-of-00001.arrow"
        with pa.ipc.new_stream(str(tmp_path / name), table.schema) as sink:
            sink.write_table(table, max_chunksize=7)
    else:
        name = "t.parquet"
        pq.write_table(table, tmp_path / name, row_group_size=10)
    records = list(read_source(tmp_path / name, shard_size=16))
    assert len(records) == n
    kinds = {r.media for r in records} | {p.media for r in records for p in r.parts}
    assert {MediaKind.AUDIO, MediaKind.IMAGE, MediaKind.UNKNOWN} <= kinds
    errors = [r for r in records if "error" in r.meta]
    assert errors and all("tar archive" in str(r.meta["error"])
                          or "gzip" in str(r.meta["error"]) for r in errors[:2])
    for i, (got, row) in enumerate(zip(records, table.to_pylist(), strict=True)):
        want = record_from_row(row, base=str(tmp_path), where=f"{tmp_path / name}:row {i + 1}",
                               default_id=f"row-{i + 1}", options=ReadOptions())
        assert got.to_json() == want.to_json(), i
        assert [p.to_json() for p in got.parts] == [p.to_json() for p in want.parts], i
        assert got.media is want.media and got.text == want.text and got.data == want.data
        assert [p.data for p in got.parts] == [p.data for p in want.parts]


# --- language and collection date into meta (the report summary's languages and period) ---


def test_language_and_date_from_jsonl_and_csv_rows(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "x", "language": "en", "date": "2024-05-01"},
            {"id": "b", "text": "y", "lang": "de", "crawled_at": "2023-11-30T08:00:00Z"},
            {"id": "c", "text": "z", "language": "", "date": "last spring", "timestamp": 17e8},
            {"id": "d", "text": "w", "meta_only": 1}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = {r.id: dict(r.meta) for r in read_source(tmp_path / "m.jsonl")}
    assert got == {"a": {"language": "en", "collected_at": "2024-05-01"},
                   "b": {"language": "de", "collected_at": "2023-11-30T08:00:00Z"},
                   "c": {}, "d": {}}  # empty, free text and Unix times are not read
    (tmp_path / "m.csv").write_text("id,text,lang,created\na,x,fr,2022-01-02\nb,y,,\n")
    got = {r.id: dict(r.meta) for r in read_source(tmp_path / "m.csv")}
    assert got == {"a": {"language": "fr", "collected_at": "2022-01-02"}, "b": {}}


def test_language_and_date_from_parquet_columns(tmp_path: Path) -> None:
    from datetime import datetime

    table = pa.table({
        "text": ["one", "two", "three"],
        "image": [{"bytes": _wav(), "path": None}, None, None],  # a row of two parts
        "lang": ["en", None, "it"],
        "timestamp": pa.array([datetime(2024, 3, 1, 12), None, datetime(2021, 7, 9)],
                              pa.timestamp("s")),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    records = list(read_source(tmp_path / "t.parquet"))
    assert [dict(r.meta) for r in records] == [
        {"language": "en", "collected_at": "2024-03-01T12:00:00"}, {},
        {"language": "it", "collected_at": "2021-07-09T00:00:00"}]
    assert len(records[0].parts) == 2 and records[0].fields is not None
    assert records[0].fields["lang"] == "en"  # the row's own fields stay as they were


def test_language_and_date_from_webdataset_json_members(tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    with wds.TarWriter(str(tmp_path / "s.tar")) as sink:
        sink.write({"__key__": "k0", "txt": "words", "json": {"language": "pt",
                                                               "created": "2020-02-02"}})
        sink.write({"__key__": "k1", "txt": "more", "json": {"n": 1}})
    records = list(read_source(tmp_path / "s.tar"))
    assert [dict(r.meta) for r in records] == [
        {"language": "pt", "collected_at": "2020-02-02"}, {}]
