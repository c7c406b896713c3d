"""The SHA-256 of a record's content, written with every excluded and review item so that a
removal manifest can name the exact bytes to clean out of derived copies later (issue 13)."""

from __future__ import annotations

import hashlib

from tdmguard.scan.record import Record

__all__ = ["content_sha256"]

_CHUNK = 1 << 20


def content_sha256(record: Record) -> str | None:
    """Hex SHA-256 of the record's inline text (UTF-8) or of its file's bytes; ``None`` when
    the record has neither or the file cannot be read any more (never raises)."""
    digest = hashlib.sha256()
    if record.text is not None:
        digest.update(record.text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()
    if record.path is None:
        return None
    try:
        with record.path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
