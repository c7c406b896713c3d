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
