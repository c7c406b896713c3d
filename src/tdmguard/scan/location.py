"""Where scan inputs live: a local path or a remote URL (``s3://``, ``gs://``, ``http://``,
``file://``) read through fsspec (extra ``datasets``). Brace patterns
(``shards-{000000..000099}.tar``) and globs (``data/*.parquet``) name many files.

Local paths are read with the standard library (fastest, and the scan can see symlinks,
FIFOs and permissions); only remote ones go through fsspec, imported on first use.
"""

from __future__ import annotations

import glob
import io
import os
import re
from typing import IO, Any

from tdmguard.errors import InputError, MissingExtraError

__all__ = [
    "expand_braces",
    "expand_pattern",
    "is_remote",
    "join",
    "local_path",
    "open_binary",
    "remote_fs",
]

_BRACE = re.compile(r"\{([^{}]*)\}")
MAX_EXPANSION = 1_000_000


def is_remote(location: str) -> bool:
    """True for a URL other than ``file://``."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def local_path(location: str) -> str:
    return location[len("file://") :] if location.startswith("file://") else location


def join(base: str, name: str) -> str:
    if is_remote(base):
        return base.rstrip("/") + "/" + name
    return os.path.join(base, name)


def remote_fs(location: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the path inside it."""
    try:
        import fsspec
    except ModuleNotFoundError as exc:
        raise MissingExtraError("fsspec", "datasets") from exc
    try:
        fs, path = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as exc:
        raise InputError(f"cannot open this kind of URL ({exc})", where=location) from exc
    return fs, path


def open_binary(location: str) -> IO[bytes]:
    """Open a file for reading; remote files are seekable (ranged reads)."""
    if is_remote(location):
        fs, path = remote_fs(location)
        try:
            remote = fs.open(path, "rb")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read ({exc})", where=location) from exc
        # A standard buffered reader on top: readline(limit), peek, the io contract.
        fh: IO[bytes] = io.BufferedReader(remote, buffer_size=1 << 20)
        return fh
    path = local_path(location)
    try:
        # O_NONBLOCK: a FIFO named as a source must not hang the scan on open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", where=path) from exc
    try:
        if not _is_regular(fd):
            raise InputError("not a regular file", where=path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _is_regular(fd: int) -> bool:
    import stat

    return stat.S_ISREG(os.fstat(fd).st_mode)


def expand_braces(pattern: str) -> list[str]:
    """``a-{000..002}.tar`` -> ``a-000.tar a-001.tar a-002.tar``; ``{x,y}`` lists too."""
    match = _BRACE.search(pattern)
    if match is None:
        return [pattern]
    body = match.group(1)
    head, tail = pattern[: match.start()], pattern[match.end() :]
    numeric = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if numeric:
        lo, hi = int(numeric.group(1)), int(numeric.group(2))
        if hi < lo or hi - lo >= MAX_EXPANSION:
            raise InputError(f"bad brace range {{{body}}}", where=pattern)
        width = len(numeric.group(1))
        options = [str(i).zfill(width) for i in range(lo, hi + 1)]
    else:
        options = body.split(",")
    out: list[str] = []
    for option in options:
        out.extend(expand_braces(head + option + tail))
        if len(out) > MAX_EXPANSION:
            raise InputError("brace pattern names too many files", where=pattern)
    return out


def expand_pattern(pattern: str) -> list[str] | None:
    """The files a brace pattern or glob names (sorted for globs), or None if ``pattern``
    is neither. A brace pattern names files that must exist (checked by the caller)."""
    if _BRACE.search(pattern):
        return expand_braces(pattern)
    if not any(ch in pattern for ch in "*?["):
        return None
    if is_remote(pattern):
        fs, path = remote_fs(pattern)
        protocol = pattern.split("://", 1)[0]
        return sorted(f"{protocol}://{p}" for p in fs.glob(path))
    return sorted(glob.glob(local_path(pattern), recursive=True))
