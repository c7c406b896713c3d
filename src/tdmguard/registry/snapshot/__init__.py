"""Signed registry snapshots and deltas, and the developer-side mirror that pulls them
(DESIGN.md, exchange between the sides).

- :mod:`.manifest`: the signed manifest (digests, audit range, head) and its checks;
- :mod:`.export`: a registry's public state -> a snapshot folder;
- :mod:`.fetch`: reading a snapshot from a folder, a file URL or a server;
- :mod:`.apply`: verify and apply a snapshot to a mirror, all or nothing; drop a source;
- :mod:`.sources`: what a mirror holds, for listings and scan reports;
- :mod:`.verify`: ``registry verify`` of the mirrored rows and segments against what was
  pulled.
"""

from tdmguard.registry.snapshot.apply import PullResult, drop_source, pull_snapshot, recover
from tdmguard.registry.snapshot.export import ExportResult, export_snapshot, registry_id
from tdmguard.registry.snapshot.fetch import (
    FolderReader,
    HttpReader,
    folder_of,
    http_client,
    latest_chain,
)
from tdmguard.registry.snapshot.manifest import SnapshotManifest, verify_manifest
from tdmguard.registry.snapshot.sources import SourceInfo, list_sources, mirror_sources_json

__all__ = [
    "ExportResult",
    "FolderReader",
    "HttpReader",
    "PullResult",
    "SnapshotManifest",
    "SourceInfo",
    "drop_source",
    "export_snapshot",
    "folder_of",
    "http_client",
    "latest_chain",
    "list_sources",
    "mirror_sources_json",
    "pull_snapshot",
    "recover",
    "registry_id",
    "verify_manifest",
]
