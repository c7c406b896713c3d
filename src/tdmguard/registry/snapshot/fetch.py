"""Where a snapshot is read from: a local folder (or ``file://`` URL), or a tdmguard server
over HTTPS (``GET /v1/snapshots/latest``, ``/v1/snapshots/{id}``, ``/v1/feed?since=SEQ`` and
the snapshot's files under ``/v1/snapshots/{id}/files/{path}``; see
``server/snapshot_routes.py``).

Every file is copied into a staging folder while it is hashed, and the copy is what gets
applied: a file changed at the source after the check cannot slip in. Nothing read from a
source is trusted before the signed manifest says what it must be.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tdmguard.errors import FetchError, InputError, IntegrityError, MissingExtraError
from tdmguard.registry.snapshot.manifest import FileEntry

__all__ = [
    "FolderReader",
    "HttpReader",
    "SnapshotInfo",
    "SnapshotReader",
    "folder_of",
    "is_remote",
    "latest_chain",
]

MAX_SMALL = 16 << 20  # manifest and signature: at most 16 MiB


class SnapshotReader(Protocol):
    @property
    def location(self) -> str: ...

    def read_small(self, rel: str) -> bytes: ...

    def copy_to(self, entry: FileEntry, dest: Path) -> None: ...


def _copy_checked(chunks: Iterator[bytes], entry: FileEntry, dest: Path, where: str) -> None:
    digest = hashlib.sha256()
    size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as fh:
        for chunk in chunks:
            size += len(chunk)
            if size > entry.size_bytes:
                raise IntegrityError(
                    f"larger than the {entry.size_bytes} bytes the manifest states", where=where
                )
            digest.update(chunk)
            fh.write(chunk)
    if size != entry.size_bytes:
        raise IntegrityError(
            f"{size} bytes, the manifest states {entry.size_bytes} (truncated?)", where=where
        )
    if digest.hexdigest() != entry.sha256:
        raise IntegrityError("SHA-256 differs from the signed manifest", where=where)


def folder_of(source: str) -> Path | None:
    """The folder behind SOURCE (a path or a ``file://`` URL), None for a remote URL."""
    if source.startswith("file://"):
        parts = urlsplit(source)
        if parts.netloc not in ("", "localhost"):
            raise InputError("a file URL names a local path (file:///...)", where=source)
        return Path(unquote(parts.path))
    if "://" in source:
        return None
    return Path(source)


def is_remote(source: str) -> bool:
    return folder_of(source) is None


@dataclass
class FolderReader:
    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def read_small(self, rel: str) -> bytes:
        path = self.root / rel
        try:
            if path.stat().st_size > MAX_SMALL:
                raise InputError("too large for a snapshot manifest", where=str(path))
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError("missing: not a snapshot folder?", where=str(path)) from exc
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc

    def copy_to(self, entry: FileEntry, dest: Path) -> None:
        path = self.root / entry.path
        try:
            with path.open("rb") as fh:
                _copy_checked(iter(lambda: fh.read(1 << 20), b""), entry, dest, str(path))
        except FileNotFoundError as exc:
            raise IntegrityError("listed in the manifest but missing", where=str(path)) from exc
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror or exc})", where=str(path)) from exc


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A server's (unsigned) description of one published snapshot: a hint for choosing
    what to fetch; the signed manifest decides."""

    snapshot_id: str
    kind: str
    registry_id: str
    scope: str
    seq_from: int
    seq_to: int

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> SnapshotInfo:
        try:
            return cls(str(data["id"]), str(data["kind"]), str(data["registry_id"]),
                       str(data["scope"]), int(data["seq_from"]), int(data["seq_to"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise FetchError(f"unexpected snapshot description ({exc!r})", where=where) from exc


def _check_url(base: str) -> str:
    parts = urlsplit(base)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise InputError("a server is reached over https:// (http:// only on this machine)",
                         where=base)
    return base.rstrip("/")


class HttpReader:
    """One snapshot on a tdmguard server, through an injected ``httpx.Client``."""

    def __init__(self, client: Any, base_url: str, snapshot_id: str) -> None:
        self.client = client
        self.base = _check_url(base_url)
        self.snapshot_id = snapshot_id
        self.location = f"{self.base}/v1/snapshots/{snapshot_id}"

    def _stream(self, rel: str) -> Any:
        return self.client.stream("GET", f"{self.location}/files/{rel}")

    def read_small(self, rel: str) -> bytes:
        url = f"{self.location}/files/{rel}"
        with _http_errors(url), self._stream(rel) as resp:
            _status(resp, url)
            data = b""
            for chunk in resp.iter_bytes():
                data += chunk
                if len(data) > MAX_SMALL:
                    raise InputError("too large for a snapshot manifest", where=url)
        return data

    def copy_to(self, entry: FileEntry, dest: Path) -> None:
        url = f"{self.location}/files/{entry.path}"
        with _http_errors(url), self._stream(entry.path) as resp:
            _status(resp, url)
            _copy_checked(resp.iter_bytes(1 << 20), entry, dest, url)


@contextmanager
def _http_errors(url: str) -> Iterator[None]:
    """httpx's errors as :class:`FetchError` naming the URL."""
    try:
        import httpx
    except ModuleNotFoundError as exc:
        raise MissingExtraError("httpx", "web") from exc
    try:
        yield
    except httpx.HTTPError as exc:
        raise FetchError(f"request failed ({exc.__class__.__name__}: {exc})", where=url) from exc


def _status(resp: Any, url: str) -> None:
    if resp.status_code != 200:
        raise FetchError(f"HTTP {resp.status_code}", where=url)


def _get_json(client: Any, url: str) -> Any:
    with _http_errors(url):
        resp = client.get(url)
        _status(resp, url)
        try:
            return resp.json()
        except ValueError as exc:
            raise FetchError("not JSON", where=url) from exc


def latest_chain(
    client: Any, base_url: str, held: Callable[[str, str], int | None]
) -> list[str]:
    """Ids of the snapshots to apply, in order: deltas chaining from the sequence held of
    the server's source (``held(registry_id, scope)``) to the newest when the server has
    them, else the latest full snapshot; [] when the server has nothing newer."""
    base = _check_url(base_url)
    latest = SnapshotInfo.from_json(
        _get_json(client, f"{base}/v1/snapshots/latest"), where=f"{base}/v1/snapshots/latest"
    )
    held_seq = held(latest.registry_id, latest.scope)
    if held_seq is None:
        return [latest.snapshot_id]
    feed_url = f"{base}/v1/feed?since={held_seq}"
    feed = _get_json(client, feed_url)
    items = feed.get("snapshots") if isinstance(feed, dict) else None
    if not isinstance(items, list):
        raise FetchError("unexpected feed", where=feed_url)
    infos = [SnapshotInfo.from_json(i, where=feed_url) for i in items]
    newest = max([i.seq_to for i in infos] + [latest.seq_to])
    if newest <= held_seq:
        # Nothing newer (or an older one: the pull refuses that as a rollback).
        return [] if latest.seq_to == held_seq else [latest.snapshot_id]
    chain: list[str] = []
    at = held_seq
    deltas = {i.seq_from: i for i in infos if i.kind == "delta"}
    while at in deltas and at < newest:
        step = deltas[at]
        chain.append(step.snapshot_id)
        at = step.seq_to
    if at == newest:
        return chain
    return [latest.snapshot_id]


def http_client() -> Any:
    try:
        import httpx
    except ModuleNotFoundError as exc:
        raise MissingExtraError("httpx", "web") from exc
    return httpx.Client(timeout=httpx.Timeout(60.0), follow_redirects=False)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
