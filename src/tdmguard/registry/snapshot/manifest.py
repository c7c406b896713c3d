"""The signed manifest of a registry snapshot: what it holds, from which registry and audit
range, and the SHA-256 of every file.

A snapshot folder::

    manifest.json        this manifest (UTF-8 JSON)
    manifest.sig         {"alg": "ed25519", "key_id", "public_key", "signature"}: the
                         signature over the exact bytes of manifest.json
    tables/*.jsonl       public registry rows, one JSON object a line
    index/<modality>/... fingerprint index segments (``index/hash_index.py`` layout)

The signature is checked on the raw bytes before the manifest is even parsed; every path in
it must be a plain relative name under ``tables/`` or ``index/`` (no ``..``, no absolute
path, no backslash), so a manifest cannot make a reader touch a file outside the snapshot.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tdmguard.errors import InputError, IntegrityError
from tdmguard.signing import PublicKey, SigningKey, parse_public_key
from tdmguard.vocab import Modality, Purpose, Use, WorkKind

__all__ = [
    "FORMAT",
    "MANIFEST",
    "SIGNATURE",
    "FileEntry",
    "SnapshotManifest",
    "check_relative_path",
    "sign_manifest",
    "verify_manifest",
    "vocabulary_version",
]

FORMAT = "tdmguard-snapshot/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KINDS = ("full", "delta")
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def vocabulary_version() -> str:
    """A short digest of the shared vocabulary (uses, purposes, modalities, work kinds): a
    mirror refuses a snapshot whose reservations name uses it does not know."""
    words = {
        "use": sorted(u.value for u in Use),
        "purpose": sorted(p.value for p in Purpose),
        "modality": sorted(m.value for m in Modality),
        "kind": sorted(k.value for k in WorkKind),
    }
    body = json.dumps(words, sort_keys=True, separators=(",", ":")).encode()
    return "vocab-" + hashlib.sha256(body).hexdigest()[:16]


def check_relative_path(path: str, *, where: str) -> str:
    """``path`` if it is a safe name inside a snapshot, else :class:`InputError`."""
    parts = path.split("/")
    if (
        not path
        or len(path) > 300
        or parts[0] not in ("tables", "index")
        or any(not _PART.match(p) or p in (".", "..") for p in parts)
    ):
        raise InputError(f"unsafe file name in a snapshot manifest: {path!r}", where=where)
    return path


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    size_bytes: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "size_bytes": self.size_bytes, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class SnapshotManifest:
    """What a snapshot holds. ``seq_from`` is exclusive (0 for a full snapshot): the snapshot
    brings the registry from the state after entry ``seq_from`` (whose hash is ``base_head``)
    to the state after entry ``seq_to`` (hash ``head``)."""

    snapshot_id: str
    kind: str  # "full" | "delta"
    registry_id: str
    scope: str  # "" = the whole registry, else one holder's name
    seq_from: int
    seq_to: int
    base_head: str
    head: str
    created_at: str
    tdmguard_version: str
    vocabulary: str
    engines: Mapping[str, str]
    files: tuple[FileEntry, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "snapshot_id": self.snapshot_id,
            "kind": self.kind,
            "registry_id": self.registry_id,
            "scope": self.scope,
            "seq_from": self.seq_from,
            "seq_to": self.seq_to,
            "base_head": self.base_head,
            "head": self.head,
            "created_at": self.created_at,
            "tdmguard_version": self.tdmguard_version,
            "vocabulary": self.vocabulary,
            "engines": dict(sorted(self.engines.items())),
            "counts": dict(sorted(self.counts.items())),
            "files": [f.to_json() for f in self.files],
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n").encode("utf-8")

    def file(self, path: str) -> FileEntry | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> SnapshotManifest:
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"manifest is not JSON ({exc})", where=where) from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InputError(f"not a {FORMAT} manifest", where=where)
        try:
            files = tuple(
                FileEntry(
                    check_relative_path(str(f["path"]), where=where),
                    int(f["size_bytes"]),
                    str(f["sha256"]),
                )
                for f in raw["files"]
            )
            manifest = cls(
                snapshot_id=str(raw["snapshot_id"]),
                kind=str(raw["kind"]),
                registry_id=str(raw["registry_id"]),
                scope=str(raw["scope"]),
                seq_from=int(raw["seq_from"]),
                seq_to=int(raw["seq_to"]),
                base_head=str(raw["base_head"]),
                head=str(raw["head"]),
                created_at=str(raw["created_at"]),
                tdmguard_version=str(raw["tdmguard_version"]),
                vocabulary=str(raw["vocabulary"]),
                engines={str(k): str(v) for k, v in dict(raw["engines"]).items()},
                files=files,
                counts={str(k): int(v) for k, v in dict(raw.get("counts", {})).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"malformed manifest ({exc!r})", where=where) from exc
        problems = []
        if manifest.kind not in KINDS:
            problems.append(f"kind {manifest.kind!r}")
        if not (0 <= manifest.seq_from < manifest.seq_to):
            problems.append(f"sequence range {manifest.seq_from}..{manifest.seq_to}")
        if manifest.kind == "full" and manifest.seq_from != 0:
            problems.append("a full snapshot starting after entry 0")
        if not (_HEX64.match(manifest.head) and _HEX64.match(manifest.base_head)):
            problems.append("head hashes")
        if len({f.path for f in files}) != len(files):
            problems.append("a file listed twice")
        if any(f.size_bytes < 0 or not _HEX64.match(f.sha256) for f in files):
            problems.append("file sizes or digests")
        if not _PART.match(manifest.snapshot_id) or not manifest.registry_id.strip():
            problems.append("snapshot or registry id")
        if problems:
            raise InputError("malformed manifest: " + ", ".join(problems), where=where)
        return manifest


def sign_manifest(manifest: SnapshotManifest, key: SigningKey) -> tuple[bytes, bytes]:
    """(manifest.json bytes, manifest.sig bytes)."""
    body = manifest.to_bytes()
    sig = key.public.to_json() | {"signature": key.sign(body)}
    return body, (json.dumps(sig, indent=1, sort_keys=True) + "\n").encode("ascii")


def verify_manifest(
    body: bytes, sig_bytes: bytes, trusted: PublicKey, *, where: Path | str
) -> SnapshotManifest:
    """Check the signature on the raw manifest bytes with the pinned key, then parse it.
    Raises :class:`IntegrityError` (bad or foreign signature) or :class:`InputError`."""
    sig_where = f"{where}/{SIGNATURE}"
    try:
        sig = json.loads(sig_bytes.decode("ascii"))
        signature = str(sig["signature"])
        signer = parse_public_key(str(sig.get("public_key", trusted.text)), where=sig_where)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, InputError) as exc:
        raise IntegrityError(f"unreadable signature file ({exc})", where=sig_where) from exc
    if signer.raw != trusted.raw:
        raise IntegrityError(
            f"signed by key {signer.key_id}, not by the trusted key {trusted.key_id}",
            where=sig_where,
        )
    trusted.verify(body, signature, where=f"{where}/{MANIFEST}")
    return SnapshotManifest.from_bytes(body, where=f"{where}/{MANIFEST}")


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def file_entries(root: Path, paths: Sequence[str]) -> tuple[FileEntry, ...]:
    out = []
    for rel in sorted(paths):
        sha, size = sha256_file(root / rel)
        out.append(FileEntry(rel, size, sha))
    return tuple(out)
