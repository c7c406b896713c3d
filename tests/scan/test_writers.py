from __future__ import annotations

import enum
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tdmguard.scan import writers
from tdmguard.scan.writers import (
    ShardWriter,
    _dumps,
    _line,
    completed_shards,
    load_line,
    merge_shards,
    read_stats,
)


def test_output_lines_are_json_with_sorted_keys_whatever_the_values() -> None:
    """The fast encoder writes the common case; what it refuses (lone surrogates, integers
    past 64 bits, non-string keys) still gives one valid UTF-8 JSON line."""
    line = _dumps({"b": np.float64(0.5), "a": np.int64(3), "p": Path("/x"), "t": "café"})
    assert line == '{"a":3,"b":0.5,"p":"/x","t":"café"}'.encode()
    assert json.loads(_dumps({"id": "\udcff", "n": 1})) == {"id": "\\udcff", "n": 1}
    assert json.loads(_dumps({"n": 2**70})) == {"n": 2**70}
    assert json.loads(_dumps({"k": {1: "one"}})) == {"k": {"1": "one"}}
    mixed = json.loads(_dumps({"id": "r9", "k": {1: "one", "b": 2}}))  # keys no order sorts
    assert mixed["id"] == "r9" and mixed["error"].startswith("output not writable as JSON")
    for raw in (_dumps({"id": "\udcff"}), _dumps({"n": 2**70})):
        raw.decode("utf-8")


class _Kind(enum.StrEnum):
    TEXT = "text"


def test_a_line_is_plain_exactly_when_a_reader_gets_the_value_itself_back() -> None:
    """``_line`` encodes a line once and says whether it is plain (the shard's tally then
    reads the value instead of parsing the line back): the same bytes as the converting
    encoder, and plain only when reading the bytes gives the value itself."""
    values: list[dict[str, object]] = [
        {"id": "r1", "media": "text", "n": 3, "x": 0.25, "ok": True, "none": None,
         "matches": [{"work_id": "w", "score": 1.0}], "t": "café"},
        {"b": np.float64(0.5), "a": np.int64(3)},  # numpy numbers: converted
        {"p": Path("/x")},  # default=str
        {"d": date(2026, 1, 2)},  # a date: written as text, read back as text
        {"k": _Kind.TEXT},  # a str enum: written as its value, which equals it
        {"id": "\udcff"},  # a lone surrogate: escaped
        {"n": 2**70},  # past 64 bits: the standard library's encoder
    ]
    for value in values:
        raw, plain = _line(value)
        assert raw.endswith(b"\n") and raw[:-1] == _dumps(value), value
        if plain:
            assert load_line(raw) == value
    assert [_line(v)[1] for v in values] == [True, False, False, False, True, False, False]


def test_outputs_a_shard_never_wrote_read_as_empty(tmp_path: Path) -> None:
    """A shard's file exists only once a line is written to it; the check on resume and the
    merge read a missing file as empty, and a short file still marks the shard unfinished."""
    shards = tmp_path / "shards"
    shards.mkdir()
    for shard, decision in ((0, "keep"), (1, "exclude")):
        writer = ShardWriter(shards, shard)
        output = {"keep": "kept", "exclude": "excluded"}[decision]
        writer.write(output, {"id": f"r{shard}", "decision": decision})
        writer.commit({"decisions": {decision: 1}, "errors": 0})
    assert sorted(p.name for p in (shards / "000000").iterdir()) == ["kept.jsonl", "stats.json"]
    assert completed_shards(shards) == {0, 1}
    counts = merge_shards(shards, tmp_path, [0, 1])
    assert counts == {"kept": 1, "excluded": 1, "review": 0, "errors": 0}
    assert (tmp_path / "review.jsonl").read_bytes() == b""
    assert [s["decisions"] for s in read_stats(shards, [0, 1])] == [{"keep": 1}, {"exclude": 1}]
    (shards / "000001" / "excluded.jsonl").unlink()  # a line the stats count is missing
    assert completed_shards(shards) == {0}


def test_a_shard_output_past_the_buffer_goes_to_its_file_as_it_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines are held until commit, except an output past the buffer, written as it grows:
    the files hold the same lines, in order, either way."""
    monkeypatch.setattr(writers, "_BUFFER", 100)
    shards = tmp_path / "shards"
    shards.mkdir()
    writer = ShardWriter(shards, 0)
    lines = [{"id": f"r{i}", "text": "x" * 30} for i in range(10)]
    for line in lines:
        writer.write("kept", line)
    assert (writer.tmp / "kept.jsonl").stat().st_size > 0  # past 100 bytes: on disk already
    writer.write("review", {"id": "r10"})
    assert not (writer.tmp / "review.jsonl").exists()  # held until commit
    writer.commit({"decisions": {"keep": 10, "review": 1}, "errors": 0})
    kept = (shards / "000000" / "kept.jsonl").read_bytes().splitlines()
    assert [json.loads(x) for x in kept] == lines
    assert (shards / "000000" / "review.jsonl").read_bytes() == b'{"id":"r10"}\n'
    assert completed_shards(shards) == {0}
