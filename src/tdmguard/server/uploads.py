"""Uploaded files: saved to a private temporary folder for the length of one request (only
fingerprints are kept: the folder and the media go when the request ends)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from tdmguard.errors import InputError, MediaError, TooLargeError

__all__ = ["safe_name", "save_upload", "upload_folder", "upload_folder_errors"]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$")


def safe_name(name: str | None, *, field: str) -> str:
    """The upload's file name if it is a plain name (no folders, no hidden files)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or not _SAFE.match(base) or base in {".", ".."}:
        raise InputError(
            f"give the file a plain name (letters, digits, . _ - and spaces): {name!r}",
            where=field,
        )
    return base


@contextmanager
def upload_folder() -> Iterator[Path]:
    """A private temporary folder; messages naming files in it are rewritten to name the
    upload instead of the server's path."""
    folder = Path(tempfile.mkdtemp(prefix="tdmguard-upload-"))
    try:
        with upload_folder_errors(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def upload_folder_errors(folder: Path) -> Iterator[None]:
    """Rewrite messages naming files in ``folder`` to name the upload instead of the
    server's path (the folder is the caller's to remove)."""
    try:
        yield
    except InputError as exc:
        prefix = f"{folder}/"
        if (exc.where and prefix in exc.where) or prefix in exc.message:
            raise type(exc)(
                exc.message.replace(prefix, ""),
                where=exc.where.replace(prefix, "") if exc.where else None,
            ) from exc
        raise


def save_upload(upload: UploadFile, folder: Path, *, field: str, max_bytes: int,
                name: str | None = None) -> Path:
    """Copy ``upload`` into ``folder`` under ``name`` (default: its own safe name)."""
    target = folder / (name or safe_name(upload.filename, field=field))
    if target.exists():
        raise InputError(f"two uploads named {target.name!r}", where=field)
    written = 0
    with target.open("wb") as out:
        while block := upload.file.read(1 << 20):
            written += len(block)
            if written > max_bytes:
                raise TooLargeError(f"file over {max_bytes} bytes", where=field)
            out.write(block)
    if written == 0:
        raise MediaError("empty file", where=field)
    return target
