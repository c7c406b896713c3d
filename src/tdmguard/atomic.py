"""Writing files so that no reader ever sees half of one, and a crash loses nothing already
written: a temporary name beside the target, flush and fsync, then one rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["atomic_writer", "write_bytes_atomic", "write_json_atomic"]


@contextmanager
def atomic_writer(
    path: Path, mode: Literal["w", "wb"] = "wb", *, file_mode: int | None = None
) -> Iterator[IO[Any]]:
    """Yield a file to write; on success it replaces ``path`` in one rename, on any error
    the temporary file is removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if file_mode is not None:
            os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes, *, file_mode: int | None = None) -> None:
    with atomic_writer(path, "wb", file_mode=file_mode) as fh:
        fh.write(data)


def write_json_atomic(path: Path, data: Any) -> None:
    """Pretty, key-sorted UTF-8 JSON (values JSON cannot hold are written as strings)."""
    with atomic_writer(path, "w") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True, default=str)
        fh.write("\n")
