"""The members of a tar archive, read straight from its 512-byte headers (POSIX ustar, pax
``x`` headers and GNU long names, the formats WebDataset writers produce).

``tarfile`` parses every header in Python through many small objects; a WebDataset shard of
small samples spends most of its read time there, and planning (which only needs where
each sample starts) paid it a second time. This reader does the same parse in a few slicing
operations per header, seeks past data it does not want, and is stricter than ``tarfile``:
a damaged header in the middle of a shard is an error, never a silent end of the shard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from tdmguard.errors import InputError

__all__ = ["DamagedTarError", "TarMember", "iter_tar"]

BLOCK = 512
_ZERO = bytes(BLOCK)


class DamagedTarError(InputError):
    """The archive is damaged or truncated at byte ``offset`` (a header or member data)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class TarMember:
    """One member: ``offset`` is where its first header block starts (its pax or long-name
    header when it has one), the place a reader can start from."""

    name: str
    offset: int
    size: int
    is_file: bool
    is_dir: bool
    data: bytes | None  # None when the data was skipped (or the member is not a file)


def _number(field: bytes, offset: int) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256 for large values
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise DamagedTarError("invalid header (not a number)", offset) from None


def _checksum_ok(block: bytes, offset: int) -> bool:
    stored = _number(block[148:156], offset)
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    if stored == unsigned:
        return True
    signed = unsigned - sum(b for b in block[:148] + block[156:] if b > 127) * 256
    return stored == signed


def _pax_path(data: bytes) -> tuple[str | None, int | None]:
    """``path`` and ``size`` of pax records (``"%d %s=%s\\n"``)."""
    path: str | None = None
    size: int | None = None
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        if length <= 0:
            break
        record = data[space + 1 : pos + length - 1]  # without the trailing newline
        key, _, value = record.partition(b"=")
        if key == b"path":
            path = value.decode("utf-8", "surrogateescape")
        elif key == b"size":
            with contextlib.suppress(ValueError):
                size = int(value)
        pos += length
    return path, size


def _read_exact(fh: IO[bytes], n: int, offset: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise DamagedTarError(f"unexpected end of data ({what})", offset)
    return data


def _skip(fh: IO[bytes], n: int, offset: int, seekable: bool) -> None:
    if n <= 0:
        return
    if seekable:
        fh.seek(n, 1)
        return
    while n > 0:
        got = fh.read(min(n, 1 << 20))
        if not got:
            raise DamagedTarError("unexpected end of data", offset)
        n -= len(got)


def iter_tar(
    fh: IO[bytes],
    *,
    start: int = 0,
    stop: int = -1,
    read_data: bool = True,
    max_member: int = 1 << 30,
    seekable: bool = True,
) -> Iterator[TarMember]:
    """Members from byte ``start`` (a member's first header) up to ``stop`` (exclusive, -1:
    the end). ``fh`` is positioned at ``start``. Raises :class:`DamagedTarError`; a member over
    ``max_member`` bytes is damage too (never held in memory)."""
    offset = start
    long_name: str | None = None
    pax_name: str | None = None
    pax_size: int | None = None
    first = offset  # where the current member's headers begin
    while stop < 0 or offset < stop or first != offset:
        block = fh.read(BLOCK)
        if not block or block == _ZERO:
            if first != offset:
                raise DamagedTarError("unexpected end of data (a header without its member)", first)
            return  # end of archive (two zero blocks, or none at all)
        if len(block) < BLOCK:
            raise DamagedTarError("unexpected end of data (a cut header)", offset)
        if not _checksum_ok(block, offset):
            raise DamagedTarError("bad checksum" if offset else "not a tar archive", offset)
        size = _number(block[124:136], offset)
        kind = block[156:157]
        data_at = offset + BLOCK
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if kind in (b"x", b"g", b"L", b"K"):
            if size > (1 << 24):
                raise DamagedTarError("extended header over 16 MiB", offset)
            data = _read_exact(fh, size, data_at, "extended header")
            _skip(fh, padded - size, data_at, seekable)
            if kind == b"x":
                pax_name, pax_size = _pax_path(data)
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            offset = data_at + padded
            if kind == b"g":
                first = offset  # a global header belongs to no member
            continue
        name = block[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if block[257:262] == b"ustar":
            prefix = block[345:500].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if prefix:
                name = f"{prefix}/{name}"
        name = pax_name or long_name or name
        if pax_size is not None:
            size = pax_size
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
        is_file = kind in (b"0", b"\0", b"7")
        is_dir = kind == b"5" or (kind in (b"0", b"\0") and name.endswith("/"))
        is_file = is_file and not is_dir
        if is_dir:
            name = name.rstrip("/")
        if not is_file:
            size_read = 0 if kind in (b"1", b"2", b"3", b"4", b"5", b"6") else size
            _skip(fh, (size_read + BLOCK - 1) // BLOCK * BLOCK, data_at, seekable)
            padded = (size_read + BLOCK - 1) // BLOCK * BLOCK
            yield TarMember(name, first, size, False, is_dir, None)
        elif read_data:
            if size > max_member:
                raise DamagedTarError(f"member {name} larger than {max_member >> 20} MiB", first)
            data = _read_exact(fh, size, data_at, name)
            _skip(fh, padded - size, data_at, seekable)
            yield TarMember(name, first, size, True, False, data)
        else:
            _skip(fh, padded, data_at, seekable)
            yield TarMember(name, first, size, True, False, None)
        offset = data_at + padded
        first = offset
        long_name = pax_name = None
        pax_size = None
