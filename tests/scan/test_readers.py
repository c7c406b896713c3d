from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tdmguard.errors import InputError
from tdmguard.scan.readers import read_directory, read_manifest, read_parquet, read_source
from tdmguard.scan.record import MediaKind


def test_directory_is_sorted_recursive_and_sniffs_content(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "song.txt").write_bytes(b"MThd\x00\x00\x00\x06")  # a MIDI named .txt
    (tmp_path / "a.mp3").write_text("plain words, not audio")
    (tmp_path / ".hidden").write_text("skipped")
    (tmp_path / "empty").write_bytes(b"")
    records = list(read_directory(tmp_path))
    assert [r.id for r in records] == ["a.mp3", "b/song.txt", "empty"]
    assert [r.media for r in records[:2]] == [MediaKind.TEXT, MediaKind.SYMBOLIC]
    assert records[2].meta["error"] == "empty file"


def test_jsonl_manifest_rows_and_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"id": "t1", "text": "some lyrics", "lang": "en"}\n'
        '{"id": "p1", "path": "x.txt", "url": "https://e.example/x"}\n'
        "\n"
        "[1, 2]\n"
        '{"id": "broken"\n'
        '{"id": "gone", "path": "missing.wav"}\n'
        '{"id": "u1", "url": "https://e.example/y"}\n'
        '{"id": "none"}\n'
    )
    records = {r.id: r for r in read_manifest(manifest)}
    assert records["t1"].text == "some lyrics" and records["t1"].meta == {"lang": "en"}
    assert records["p1"].media is MediaKind.TEXT and records["p1"].url == "https://e.example/x"
    assert "m.jsonl:4" in str(records["line-4"].meta["error"])
    assert "invalid JSON" in str(records["line-5"].meta["error"])
    assert "missing.wav" in str(records["gone"].meta["error"])
    assert records["u1"].media is MediaKind.UNKNOWN and records["u1"].url
    assert "needs text, path or url" in str(records["none"].meta["error"])


def test_parquet_manifest(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    table = pa.table({"id": ["r1", None, "r3"], "text": ["first lyrics", "second", None],
                      "path": [None, None, "x.txt"], "source": ["forum", "blog", "web"]})
    pq.write_table(table, tmp_path / "m.parquet")
    records = list(read_source(tmp_path / "m.parquet"))
    assert [r.id for r in records] == ["r1", "row-2", "r3"]
    assert records[0].text == "first lyrics" and records[0].meta["source"] == "forum"
    assert records[2].path == (tmp_path / "x.txt").resolve()
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(InputError, match=r"bad\.parquet"):
        list(read_parquet(tmp_path / "bad.parquet"))


def test_unknown_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "nope")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(InputError, match=r"folder, a \.jsonl or a \.parquet"):
        read_source(tmp_path / "data.csv")
