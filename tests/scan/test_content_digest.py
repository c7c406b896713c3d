"""Content hashes of records, for the removal manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tdmguard.scan.content_digest import content_sha256
from tdmguard.scan.record import MediaKind, Record


def test_text_file_and_missing(tmp_path: Path) -> None:
    assert content_sha256(Record("t", MediaKind.TEXT, text="héllo")) == hashlib.sha256(
        "héllo".encode()).hexdigest()
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 3_000_000)
    assert content_sha256(Record("a", MediaKind.UNKNOWN, path=f)) == hashlib.sha256(
        b"x" * 3_000_000).hexdigest()
    assert content_sha256(Record("gone", MediaKind.AUDIO, path=tmp_path / "gone")) is None
    assert content_sha256(Record("u", MediaKind.UNKNOWN, url="https://x.example/")) is None
