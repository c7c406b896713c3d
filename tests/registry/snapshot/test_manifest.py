"""The signed manifest: safe paths, strict parsing, signature over the raw bytes."""

from __future__ import annotations

import json

import pytest

from tdmguard.errors import InputError, IntegrityError
from tdmguard.registry.snapshot.manifest import (
    FileEntry,
    SnapshotManifest,
    check_relative_path,
    sign_manifest,
    verify_manifest,
    vocabulary_version,
)
from tdmguard.signing import generate_signing_key

H = "a" * 64


def _manifest(**kw: object) -> SnapshotManifest:
    fields: dict[str, object] = dict(
        snapshot_id="full-000000003-abc", kind="full", registry_id="r1", scope="", seq_from=0,
        seq_to=3, base_head="0" * 64, head=H, created_at="2026-12-03T00:00:00+00:00",
        tdmguard_version="0.1.0", vocabulary=vocabulary_version(), engines={"lyrics": "x/1"},
        files=(FileEntry("tables/works.jsonl", 10, H),), counts={"works": 1})
    fields.update(kw)
    return SnapshotManifest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["tables/works.jsonl", "index/audio/seg-000001/keys.npy"])
def test_safe_paths(path: str) -> None:
    assert check_relative_path(path, where="m") == path


@pytest.mark.parametrize("path", ["", "../x", "tables/../../x", "/etc/passwd", "tables//x",
                                  "tables/.hidden", "index\\..\\x", "other/x", "tables/a b",
                                  "tables/" + "x" * 400, "tables/\u00e9"])
def test_unsafe_paths(path: str) -> None:
    with pytest.raises(InputError, match="unsafe"):
        check_relative_path(path, where="m")


def test_round_trip_and_signature() -> None:
    key = generate_signing_key()
    m = _manifest()
    body, sig = sign_manifest(m, key)
    assert verify_manifest(body, sig, key.public, where="s") == m
    with pytest.raises(IntegrityError, match="bad signature"):
        verify_manifest(body.replace(b'"seq_to": 3', b'"seq_to": 4'), sig, key.public,
                        where="s")
    with pytest.raises(IntegrityError, match="unreadable"):
        verify_manifest(body, b"not json", key.public, where="s")


@pytest.mark.parametrize(("change", "problem"), [
    ({"kind": "partial"}, "kind"),
    ({"seq_from": 3}, "sequence range"),
    ({"kind": "full", "seq_from": 1}, "full snapshot"),
    ({"head": "xyz"}, "head hashes"),
    ({"snapshot_id": "../x"}, "snapshot or registry id"),
])
def test_malformed_manifests_are_refused(change: dict[str, object], problem: str) -> None:
    raw = _manifest().to_json() | change
    with pytest.raises(InputError, match=problem):
        SnapshotManifest.from_bytes(json.dumps(raw).encode(), where="m")
    with pytest.raises(InputError, match="not a tdmguard-snapshot"):
        SnapshotManifest.from_bytes(b'{"format": 2}', where="m")
    with pytest.raises(InputError, match="malformed"):
        SnapshotManifest.from_bytes(json.dumps(_manifest().to_json() | {"files": 3}).encode(),
                                    where="m")
