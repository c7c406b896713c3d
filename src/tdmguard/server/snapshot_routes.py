"""HTTP routes that publish a holder's signed snapshots (issue 11), as a FastAPI
``APIRouter`` to mount on the registry server::

    app.include_router(snapshot_router(Path("/srv/tdmguard/snapshots")))

The store is a folder of snapshot folders (each written by ``tdmguard registry export``).
The server only lists and serves files; it vouches for nothing: clients check the signature
and every digest themselves (``registry/snapshot/apply.py``).

- ``GET /v1/snapshots/latest``: the newest full snapshot's description;
- ``GET /v1/snapshots/{id}``: one snapshot's description and file list;
- ``GET /v1/snapshots/{id}/files/{path}``: ``manifest.json``, ``manifest.sig`` or a file the
  manifest lists (nothing else: no path outside the snapshot can be asked for);
- ``GET /v1/feed?since=SEQ``: every snapshot reaching past SEQ (deltas and full), oldest first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from tdmguard.errors import InputError
from tdmguard.registry.snapshot.manifest import MANIFEST, SIGNATURE, SnapshotManifest

__all__ = ["snapshot_router"]


def _published(store: Path) -> dict[str, tuple[Path, SnapshotManifest]]:
    """Snapshot id -> (folder, manifest) for every readable snapshot folder of the store
    (read on each request, so a newly exported folder is served at once)."""
    out: dict[str, tuple[Path, SnapshotManifest]] = {}
    if not store.is_dir():
        return out
    for folder in sorted(store.iterdir()):
        path = folder / MANIFEST
        if folder.name.startswith(".") or not path.is_file():
            continue
        try:
            manifest = SnapshotManifest.from_bytes(path.read_bytes(), where=str(path))
        except (OSError, InputError):
            continue
        out[manifest.snapshot_id] = (folder, manifest)
    return out


def _describe(manifest: SnapshotManifest) -> dict[str, Any]:
    return {
        "id": manifest.snapshot_id,
        "kind": manifest.kind,
        "registry_id": manifest.registry_id,
        "scope": manifest.scope,
        "seq_from": manifest.seq_from,
        "seq_to": manifest.seq_to,
        "base_head": manifest.base_head,
        "head": manifest.head,
        "created_at": manifest.created_at,
        "files": len(manifest.files),
    }


def snapshot_router(store: Path) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["snapshots"])

    @router.get("/snapshots/latest")
    def latest() -> dict[str, Any]:
        full = [m for _, m in _published(store).values() if m.kind == "full"]
        if not full:
            raise HTTPException(404, "no snapshot published yet")
        return _describe(max(full, key=lambda m: (m.seq_to, m.created_at)))

    @router.get("/snapshots/{snapshot_id}")
    def one(snapshot_id: str) -> dict[str, Any]:
        found = _published(store).get(snapshot_id)
        if found is None:
            raise HTTPException(404, f"no snapshot {snapshot_id}")
        return _describe(found[1]) | {"file_list": [f.to_json() for f in found[1].files]}

    @router.get("/snapshots/{snapshot_id}/files/{path:path}")
    def file(snapshot_id: str, path: str) -> FileResponse:
        found = _published(store).get(snapshot_id)
        if found is None:
            raise HTTPException(404, f"no snapshot {snapshot_id}")
        folder, manifest = found
        if path not in (MANIFEST, SIGNATURE) and manifest.file(path) is None:
            raise HTTPException(404, f"{path} is not a file of snapshot {snapshot_id}")
        return FileResponse(folder / path, media_type="application/octet-stream")

    @router.get("/feed")
    def feed(since: int = Query(0, ge=0)) -> dict[str, Any]:
        items = sorted((m for _, m in _published(store).values() if m.seq_to > since),
                       key=lambda m: (m.seq_to, m.kind != "delta", m.seq_from))
        return {"since": since, "snapshots": [_describe(m) for m in items]}

    return router
