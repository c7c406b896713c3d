"""Planning a scan: a source becomes a list of shard descriptors, each a file plus a range
(byte range of a manifest, row range of a Parquet or Arrow file, member range of a tar, a
group of loose files). The driver only lists and measures; each worker reads its own shard
(``scan/readers.py``), so no record is held by the driver.

The plan is deterministic (folders walked sorted, files measured the same way) so a resumed
scan can check that it still describes the same data.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from tdmguard.errors import InputError, MissingExtraError
from tdmguard.scan.location import expand_pattern, is_remote, join, local_path, open_binary
from tdmguard.scan.tar_members import DamagedTarError, iter_tar

__all__ = [
    "MANIFEST_SHARD_SIZE",
    "MAX_LINE",
    "MAX_SHARD_BYTES",
    "SHARD_SIZE",
    "ShardSpec",
    "SpecKind",
    "compression_of",
    "container_kind",
    "decompressed",
    "iter_lines",
    "plan_source",
    "tar_key",
]

MAX_LINE = 16 << 20  # 16 MiB of text in one manifest row

#: Items per shard when the scan is not told (``--shard-size``): loose files, tar samples,
#: Parquet and Arrow rows (which often hold media).
SHARD_SIZE = 64
#: Rows per shard of a JSON Lines or CSV manifest when the scan is not told. A shard costs
#: a folder, its files and a rename (0.3-0.5 CPU ms and a few ms of waiting on a busy
#: disk), about 6 us a row at 64 rows a shard: a tenth of the scan's own work on a text row,
#: whose engine takes 0.5 ms (issue 12). At 256 a shard is still 0.1-0.3 s of text and
#: a few seconds of audio named by path, and a killed scan redoes at most that per worker.
MANIFEST_SHARD_SIZE = 256
#: A manifest shard also ends once its rows hold this many bytes (a worker holds a shard's
#: records and output lines until the shard commits): 256 rows of up to MAX_LINE each
#: would be 4 GiB.
MAX_SHARD_BYTES = 64 << 20


class SpecKind(enum.StrEnum):
    FILES = "files"  # loose files of a folder (names relative to ``location``)
    LINES = "lines"  # JSON Lines rows
    CSV = "csv"  # CSV rows (first row is the header)
    PARQUET = "parquet"  # Parquet rows
    ARROW = "arrow"  # Arrow IPC rows (a Hugging Face ``save_to_disk`` data file)
    TAR = "tar"  # WebDataset samples (members grouped by key)
    ERROR = "error"  # something the scan cannot read: one error record


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """One unit of work. ``start``/``stop``: byte offsets for plain manifests and tars
    (``stop`` -1 = to the end), row numbers (0-based) for compressed manifests and tables.
    ``first_row`` numbers the first row or sample (default ids). ``name`` is the file's path
    relative to the scanned source ('' when the source is the file itself): it prefixes
    default ids and lays out ``--write-kept``."""

    kind: SpecKind
    location: str
    name: str = ""
    start: int = 0
    stop: int = -1
    first_row: int = 1
    names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # per name: '' or why it cannot be read (found by the walk)
    compression: str = ""
    base: str = ""  # folder that relative media paths resolve against
    error: str = ""
    stamp: str = ""  # size and modification time when planned

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardSpec:
        fields = dict(data)
        fields["kind"] = SpecKind(fields["kind"])
        for key in ("names", "notes"):
            if key in fields:
                fields[key] = tuple(fields[key])
        return cls(**fields)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "location": self.location}
        for key in ("name", "compression", "base", "error", "stamp"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.kind is not SpecKind.FILES:
            out |= {"start": self.start, "stop": self.stop, "first_row": self.first_row}
        else:
            out["names"] = list(self.names)
            if any(self.notes):
                out["notes"] = list(self.notes)
        return out


# --- file kinds -------------------------------------------------------------------------

_TABLE_SUFFIXES = {".parquet": SpecKind.PARQUET, ".arrow": SpecKind.ARROW}
_MANIFEST_SUFFIXES = {".jsonl": SpecKind.LINES, ".ndjson": SpecKind.LINES, ".csv": SpecKind.CSV}
_COMPRESSION = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}


def compression_of(name: str) -> tuple[str, str]:
    """(compression, name without the compression suffix)."""
    root, ext = os.path.splitext(name)
    comp = _COMPRESSION.get(ext.lower(), "")
    return (comp, root) if comp else ("", name)


def container_kind(name: str) -> SpecKind | None:
    """The container a file name says it is (tar shard, table), or None for a loose file."""
    lower = name.lower()
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return SpecKind.TAR
    return _TABLE_SUFFIXES.get(os.path.splitext(lower)[1])


def manifest_kind(name: str) -> SpecKind | None:
    _, plain = compression_of(name.lower())
    return _MANIFEST_SUFFIXES.get(os.path.splitext(plain)[1])


def decompressed(fh: IO[bytes], compression: str, where: str) -> IO[bytes]:
    if compression == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        try:
            import zstandard
        except ModuleNotFoundError as exc:
            raise MissingExtraError("zstandard", "datasets") from exc
        reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
        return io.BufferedReader(reader)
    return fh


def iter_lines(fh: IO[bytes]) -> Iterator[tuple[bytes | None, int]]:
    """(line, its length in bytes) of a binary stream; a line over :data:`MAX_LINE` is
    skipped in bounded memory and yielded as None (the caller records it as an error)."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            length = len(line)
            while True:
                rest = fh.readline(MAX_LINE)
                length += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None, length
            continue
        yield line, len(line)


def tar_key(member_name: str) -> tuple[str, str]:
    """WebDataset convention: ``dir/sample.flac.json`` -> key ``dir/sample``, ext ``flac.json``
    (the key ends at the first dot of the file name)."""
    folder, _, base = member_name.rpartition("/")
    stem, dot, ext = base.partition(".")
    key = f"{folder}/{stem}" if folder else stem
    return key, ext.lower() if dot else ""


# --- planning ---------------------------------------------------------------------------


def _stamp(location: str) -> str:
    try:
        if is_remote(location):
            from tdmguard.scan.location import remote_fs

            fs, path = remote_fs(location)
            info = fs.info(path)
            return f"{info.get('size')}:{info.get('ETag') or info.get('mtime') or ''}"
        st = os.stat(local_path(location))
        return f"{st.st_size}:{st.st_mtime_ns}"
    except (OSError, ValueError):
        return ""


def _error(location: str, name: str, message: str) -> ShardSpec:
    return ShardSpec(SpecKind.ERROR, location, name=name, error=message)


def plan_file(
    location: str, name: str, shard_size: int | None, *, base: str,
    kind: SpecKind | None = None,
) -> Iterator[ShardSpec]:
    """A file's shards of ``shard_size`` items (None: :data:`MANIFEST_SHARD_SIZE` rows of
    a manifest, else :data:`SHARD_SIZE`)."""
    kind = kind or container_kind(location) or manifest_kind(location)
    stamp = _stamp(location)
    if shard_size is None:
        shard_size = (
            MANIFEST_SHARD_SIZE if kind in (SpecKind.LINES, SpecKind.CSV) else SHARD_SIZE
        )
    try:
        if kind is SpecKind.TAR:
            yield from _plan_tar(location, name, shard_size, stamp)
        elif kind is SpecKind.PARQUET:
            rows = _parquet_rows(location)
            yield from _plan_rows(kind, location, name, shard_size, stamp, rows, base)
        elif kind is SpecKind.ARROW:
            rows = _arrow_rows(location)
            yield from _plan_rows(kind, location, name, shard_size, stamp, rows, base)
        elif kind in (SpecKind.LINES, SpecKind.CSV):
            yield from _plan_manifest(kind, location, name, shard_size, stamp, base)
        else:
            raise InputError(
                "a scan source is a folder, a WebDataset .tar shard, a Parquet or Arrow file, "
                "a .jsonl/.csv manifest (optionally .gz or .zst), or a pattern naming them",
                where=location,
            )
    except InputError as exc:
        if not name:  # the source itself: the whole scan cannot start
            raise
        yield _error(location, name, exc.message)


def _plan_rows(
    kind: SpecKind, location: str, name: str, size: int, stamp: str, rows: int, base: str
) -> Iterator[ShardSpec]:
    for start in range(0, rows, size):
        yield ShardSpec(
            kind, location, name=name, start=start, stop=min(rows, start + size),
            first_row=start + 1, stamp=stamp, base=base,
        )


def _parquet_rows(location: str) -> int:
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pyarrow", "parquet") from exc
    try:
        with open_binary(location) as fh:
            return int(pq.ParquetFile(fh).metadata.num_rows)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise InputError(f"not a readable Parquet file ({exc})", where=location) from exc


def _arrow_rows(location: str) -> int:
    try:
        import pyarrow as pa
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pyarrow", "datasets") from exc
    try:
        # A local file is memory-mapped: counting a stream's rows then touches only the
        # batch headers, instead of reading (and copying) every batch through Python.
        source: Any = (
            open_binary(location) if is_remote(location) else pa.memory_map(local_path(location))
        )
        with source as fh:
            try:
                reader = pa.ipc.open_stream(fh)
            except pa.ArrowInvalid:
                fh.seek(0)
                return int(pa.ipc.open_file(fh).count_rows())
            return sum(batch.num_rows for batch in reader)
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable Arrow file ({exc})", where=location) from exc


def _plan_manifest(
    kind: SpecKind, location: str, name: str, size: int, stamp: str, base: str
) -> Iterator[ShardSpec]:
    comp, _ = compression_of(location)
    try:
        with open_binary(location) as raw:
            fh = decompressed(raw, comp, location)
            rows = (n for _, n in iter_lines(fh)) if kind is SpecKind.LINES else _csv_rows(fh)
            start = 0  # byte offset (plain) or row index (compressed)
            first = 1
            offset = 0
            shard_from = 0  # byte offset (decompressed) where the shard's rows start
            count = 0
            for length in rows:
                count += 1
                offset += length
                if count - first + 1 >= size or offset - shard_from >= MAX_SHARD_BYTES:
                    stop = offset if not comp else count
                    yield ShardSpec(
                        kind, location, name=name, start=start, stop=stop, first_row=first,
                        compression=comp, base=base, stamp=stamp,
                    )
                    start, first, shard_from = stop, count + 1, offset
            if count >= first:
                yield ShardSpec(
                    kind, location, name=name, start=start, stop=offset if not comp else count,
                    first_row=first, compression=comp, base=base, stamp=stamp,
                )
    except (OSError, EOFError, ValueError, csv.Error) as exc:
        raise InputError(f"cannot read the manifest ({exc})", where=location) from exc


def _csv_rows(fh: IO[bytes]) -> Iterator[int]:
    """Byte length of each CSV record (a quoted field may span lines), header included."""
    consumed = [0]

    def lines() -> Iterator[str]:
        for line, length in iter_lines(fh):
            consumed[0] += length
            yield (line or b"").decode("utf-8", "replace")

    before = 0
    for _ in csv.reader(lines()):
        yield consumed[0] - before
        before = consumed[0]


def _plan_tar(location: str, name: str, size: int, stamp: str) -> Iterator[ShardSpec]:
    """Samples of ``size`` keys per shard for an uncompressed local tar (member headers are
    read, data is skipped); a compressed or remote tar is one shard."""
    if is_remote(location) or not location.lower().endswith(".tar"):
        yield ShardSpec(SpecKind.TAR, location, name=name, stamp=stamp)
        return
    path = local_path(location)
    starts: list[tuple[int, int]] = []  # (header offset, sample index) of each shard start
    key = None
    samples = 0
    try:
        with open_binary(path) as fh:
            for member in iter_tar(fh, read_data=False):
                k, _ = tar_key(member.name)
                if k != key:
                    if samples % size == 0:
                        starts.append((member.offset, samples))
                    samples += 1
                    key = k
    except (DamagedTarError, OSError, EOFError) as exc:
        if not starts:
            raise InputError(f"not a readable tar shard ({exc})", where=location) from exc
        # The workers hit the same damage and name the sample where it starts.
    if not starts:
        yield ShardSpec(SpecKind.TAR, location, name=name, stamp=stamp)
        return
    for i, (offset, first) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else -1
        yield ShardSpec(
            SpecKind.TAR, location, name=name, start=offset, stop=stop, first_row=first + 1,
            stamp=stamp,
        )


# --- folders ----------------------------------------------------------------------------


def _is_saved_dataset(names: set[str]) -> bool:
    return "state.json" in names or "dataset_dict.json" in names


def _plan_saved_dataset(
    location: str, name: str, shard_size: int | None, names: set[str]
) -> Iterator[ShardSpec]:
    """A ``datasets`` ``save_to_disk`` folder: a Dataset (``state.json`` lists its Arrow
    files) or a DatasetDict (``dataset_dict.json`` lists its splits)."""
    prefix = f"{name}/" if name else ""
    try:
        if "dataset_dict.json" in names:
            with open_binary(join(location, "dataset_dict.json")) as fh:
                splits = json.loads(fh.read())["splits"]
            for split in splits:
                folder = join(location, str(split))
                yield from _plan_saved_dataset(
                    folder, f"{prefix}{split}", shard_size, {"state.json"}
                )
            return
        with open_binary(join(location, "state.json")) as fh:
            files = [str(f["filename"]) for f in json.loads(fh.read())["_data_files"]]
    except (InputError, KeyError, TypeError, ValueError) as exc:
        yield _error(location, name or ".", f"unreadable Hugging Face dataset folder ({exc})")
        return
    for filename in files:
        yield from plan_file(
            join(location, filename), f"{prefix}{filename}", shard_size, base=location,
            kind=SpecKind.ARROW,
        )


@dataclass
class _Walk:
    root: str
    shard_size: int
    names: list[str]
    notes: list[str]


def _walk_local(root: str) -> Iterator[tuple[str, str, str]]:
    """(relative path, kind, note) of every entry under ``root``, sorted by path; kind is
    'file', 'dataset' (a save_to_disk folder) or 'error'. Symlinked folders are followed
    once (a loop is an error); hidden names (leading dot) are skipped."""
    seen: set[tuple[int, int]] = set()

    def visit(folder: str, rel: str) -> Iterator[tuple[str, str, str]]:
        try:
            st = os.stat(folder)
        except OSError as exc:
            yield rel or ".", "error", f"cannot open folder ({exc.strerror or exc})"
            return
        ident = (st.st_dev, st.st_ino)
        if ident in seen:
            yield rel or ".", "error", "symlink loop: this folder was already scanned"
            return
        seen.add(ident)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield rel or ".", "error", f"cannot list folder ({exc.strerror or exc})"
            return
        names = {e.name for e in entries}
        if rel and _is_saved_dataset(names):
            yield rel, "dataset", ""
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    try:
                        target = os.stat(entry.path)
                    except OSError as exc:
                        why = "symlink loop" if exc.errno == 40 else "dangling symlink"
                        yield child, "error", f"{why} ({os.readlink(entry.path)})"
                        continue
                    mode = target.st_mode
                if stat.S_ISDIR(mode):
                    yield from visit(entry.path, child)
                elif stat.S_ISREG(mode):
                    yield child, "file", ""
                else:
                    what = "FIFO" if stat.S_ISFIFO(mode) else "device or socket"
                    yield child, "error", f"not a regular file ({what})"
            except OSError as exc:
                yield child, "error", f"cannot read ({exc.strerror or exc})"

    yield from visit(root, "")


def _walk_remote(root: str) -> Iterator[tuple[str, str, str]]:
    from tdmguard.scan.location import remote_fs

    fs, path = remote_fs(root)
    path = path.rstrip("/")
    found = sorted(fs.find(path))
    datasets: set[str] = set()
    for full in found:
        rel = full[len(path) + 1 :]
        folder, _, base = rel.rpartition("/")
        if folder and base in ("state.json", "dataset_dict.json"):
            datasets.add(folder)
    for full in found:
        rel = full[len(path) + 1 :]
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        owner = next((d for d in datasets if rel == d or rel.startswith(d + "/")), None)
        if owner is not None:
            marker = rel.endswith(("/state.json", "/dataset_dict.json"))
            if marker and rel.rpartition("/")[0] == owner:
                yield owner, "dataset", ""
            continue
        yield rel, "file", ""


def plan_folder(root: str, shard_size: int | None) -> Iterator[ShardSpec]:
    walk = _walk_remote(root) if is_remote(root) else _walk_local(local_path(root))
    names: list[str] = []
    notes: list[str] = []

    def flush() -> Iterator[ShardSpec]:
        if names:
            yield ShardSpec(
                SpecKind.FILES, root, names=tuple(names), notes=tuple(notes), base=root
            )
            names.clear()
            notes.clear()

    for rel, kind, note in walk:
        location = join(root, rel)
        if kind == "dataset":
            yield from flush()
            if is_remote(location):
                from tdmguard.scan.location import remote_fs

                fs, path = remote_fs(location)
                present = {p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)}
            else:
                present = set(os.listdir(location))
            yield from _plan_saved_dataset(location, rel, shard_size, present)
            continue
        container = container_kind(rel) if kind == "file" else None
        if container is not None:
            yield from flush()
            yield from plan_file(location, rel, shard_size, base=root, kind=container)
            continue
        names.append(rel)
        notes.append(note)
        if len(names) >= (shard_size or SHARD_SIZE):
            yield from flush()
    yield from flush()


def _is_dir(location: str) -> bool:
    if is_remote(location):
        from tdmguard.scan.location import remote_fs

        fs, path = remote_fs(location)
        try:
            return bool(fs.isdir(path))
        except OSError:
            return False
    return os.path.isdir(local_path(location))


def _exists(location: str) -> bool:
    if is_remote(location):
        from tdmguard.scan.location import remote_fs

        fs, path = remote_fs(location)
        try:
            return bool(fs.exists(path))
        except OSError:
            return False
    return os.path.lexists(local_path(location))


def plan_source(source: str, shard_size: int | None = None) -> Iterator[ShardSpec]:
    """Shard descriptors for a source: a folder (local or remote), a saved Hugging Face
    dataset, one file, or a brace pattern / glob naming several files. ``shard_size``
    items a shard; None: each kind's default (:data:`SHARD_SIZE`,
    :data:`MANIFEST_SHARD_SIZE`)."""
    many = expand_pattern(source)
    if many is not None:
        if not many:
            raise InputError("the pattern names no file", where=source)
        for location in many:
            rel = location.rsplit("/", 1)[-1]
            if not _exists(location):
                yield _error(location, rel, "no such file (named by the pattern)")
                continue
            base = location.rsplit("/", 1)[0] if "/" in location else "."
            yield from plan_file(location, rel, shard_size, base=base)
        return
    if not _exists(source):
        raise InputError("no such file or folder", where=source)
    if _is_dir(source):
        if is_remote(source):
            from tdmguard.scan.location import remote_fs

            fs, path = remote_fs(source)
            present = {p.rsplit("/", 1)[-1] for p in fs.ls(path, detail=False)}
        else:
            present = set(os.listdir(local_path(source)))
        if _is_saved_dataset(present):
            yield from _plan_saved_dataset(source, "", shard_size, present)
        else:
            yield from plan_folder(source, shard_size)
        return
    base = source.rsplit("/", 1)[0] if "/" in source else "."
    yield from plan_file(source, "", shard_size, base=base)
