"""Planning: brace patterns, globs, tar member ranges, manifests cut into byte ranges."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tdmguard.errors import InputError
from tdmguard.scan.location import expand_braces
from tdmguard.scan.plan import ShardSpec, SpecKind, plan_source, tar_key


def test_brace_expansion() -> None:
    assert expand_braces("s-{000..002}.tar") == ["s-000.tar", "s-001.tar", "s-002.tar"]
    assert expand_braces("{a,b}-{1..2}") == ["a-1", "a-2", "b-1", "b-2"]
    with pytest.raises(InputError, match="bad brace range"):
        expand_braces("s-{5..1}.tar")


def test_tar_keys_follow_the_webdataset_convention() -> None:
    assert tar_key("dir/sample.flac.json") == ("dir/sample", "flac.json")
    assert tar_key("a.b.txt") == ("a", "b.txt")
    assert tar_key("noext") == ("noext", "")


def _tar(path: Path, samples: int) -> None:
    with tarfile.open(path, "w") as tf:
        for i in range(samples):
            for ext in ("txt", "json"):
                data = f"{i}".encode()
                info = tarfile.TarInfo(f"k{i:03d}.{ext}")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))


def test_a_tar_is_cut_into_member_ranges_and_missing_pattern_files_are_errors(
    tmp_path: Path
) -> None:
    _tar(tmp_path / "s-0.tar", 7)
    specs = list(plan_source(str(tmp_path / "s-{0..1}.tar"), 3))
    assert [(s.kind, s.first_row) for s in specs] == [
        (SpecKind.TAR, 1), (SpecKind.TAR, 4), (SpecKind.TAR, 7), (SpecKind.ERROR, 1)]
    assert specs[0].start == 0 and specs[0].stop == specs[1].start and specs[2].stop == -1
    assert "no such file" in specs[3].error
    assert ShardSpec.from_json(specs[1].to_json()) == specs[1]
    with pytest.raises(InputError, match="names no file"):
        list(plan_source(str(tmp_path / "none-*.tar"), 3))


def test_default_shard_sizes_are_per_kind(tmp_path: Path) -> None:
    """Not told a size, a JSON Lines or CSV manifest is cut into MANIFEST_SHARD_SIZE rows
    (a shard's folder and files cost more than the scan's own work on a cheap row), loose
    files and tar samples into SHARD_SIZE; a size given holds for every kind."""
    from tdmguard.scan.plan import MANIFEST_SHARD_SIZE, SHARD_SIZE

    rows = MANIFEST_SHARD_SIZE + 10
    jsonl, csv = tmp_path / "m.jsonl", tmp_path / "m.csv"
    jsonl.write_text("".join(f'{{"id": "{i}", "text": "t"}}\n' for i in range(rows)))
    csv.write_text("id,text\n" + "".join(f"{i},t\n" for i in range(rows)))
    for manifest in (jsonl, csv):
        specs = list(plan_source(str(manifest)))
        # (a CSV's header is its first row: the first shard holds it and 255 rows)
        assert [s.first_row for s in specs] == [1, MANIFEST_SHARD_SIZE + 1]
        assert specs == list(plan_source(str(manifest), MANIFEST_SHARD_SIZE))
        assert len(list(plan_source(str(manifest), 100))) == 3
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(SHARD_SIZE + 1):
        (folder / f"f{i:03d}.txt").write_text("x")
    assert [len(s.names) for s in plan_source(str(folder))] == [SHARD_SIZE, 1]
    _tar(tmp_path / "s.tar", SHARD_SIZE + 1)
    assert len(list(plan_source(str(tmp_path / "s.tar")))) == 2


def test_a_manifest_shard_also_ends_at_its_byte_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of up to MAX_LINE each would make a 256-row shard gigabytes that a worker holds
    until the shard commits: a shard also ends once its rows reach MAX_SHARD_BYTES, plain
    or compressed, and the shards still cover every row once."""
    import gzip
    import json

    from tdmguard.scan import plan
    from tdmguard.scan.readers import read_shard

    monkeypatch.setattr(plan, "MAX_SHARD_BYTES", 1000)
    lines = "".join(json.dumps({"id": str(i), "text": "w" * (300 if i % 2 else 10)}) + "\n"
                    for i in range(40))
    plain = tmp_path / "m.jsonl"
    plain.write_text(lines)
    (tmp_path / "m.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    for manifest in (plain, tmp_path / "m.jsonl.gz"):
        specs = list(plan_source(str(manifest)))
        assert len(specs) >= 6  # 40 rows, 7.4 kB in all, 1 kB a shard (not 256 rows)
        ids = [r.id for s in specs for r in read_shard(s)]
        assert ids == [str(i) for i in range(40)]
        for spec in specs:
            held = sum(len(json.dumps({"id": r.id, "text": r.text})) + 1
                       for r in read_shard(spec))
            assert held < 1000 + 330  # the budget, plus the row that reached it
