"""``--write-kept``: the kept items written back in the input's own format and layout, so
the next step of a training pipeline reads them unchanged.

| input | ``out/kept/`` |
|---|---|
| folder of files | the kept files, same relative paths |
| WebDataset ``.tar`` shards | one filtered tar per input shard, same name, same members |
| Parquet file(s) | one Parquet file per input file, same name and schema |
| ``save_to_disk`` dataset | a ``save_to_disk`` dataset (Arrow files, ``state.json``, info) |
| JSONL / CSV manifest | the kept rows, byte for byte (uncompressed) |

Each shard writes parts (``<target>.part-<start>``) into its own folder, committed with the
shard; :func:`merge_kept` joins the parts of every target in shard order, so a resumed scan
writes the same files as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from tdmguard.atomic import atomic_writer
from tdmguard.scan.location import is_remote, join, local_path, open_binary
from tdmguard.scan.plan import ShardSpec, SpecKind, compression_of, decompressed, iter_lines
from tdmguard.scan.record import Record

__all__ = ["KeptWriter", "kept_writer", "merge_kept"]

_PART = re.compile(r"^(?P<target>.+)\.part-(?P<start>\d{15})$")


class KeptWriter(Protocol):
    def add(self, record: Record) -> None: ...

    def close(self) -> None: ...


def _target(spec: ShardSpec) -> str:
    name = spec.name or spec.location.replace("\\", "/").rsplit("/", 1)[-1]
    return name


def _part(folder: Path, target: str, spec: ShardSpec) -> Path:
    path = folder / f"{target}.part-{max(spec.start, 0):015d}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class _Files:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, record: Record) -> None:
        dest = self.folder / record.id
        dest.parent.mkdir(parents=True, exist_ok=True)
        if record.path is not None:
            shutil.copy2(record.path, dest)
        elif record.data is not None:
            dest.write_bytes(record.data)

    def close(self) -> None:
        return None


class _Lines:
    """JSONL rows (raw bytes) or CSV rows; the file's first shard writes the CSV header."""

    def __init__(self, folder: Path, spec: ShardSpec) -> None:
        _, plain = compression_of(_target(spec))
        self.path = _part(folder, plain, spec)
        self.fh = self.path.open("wb")
        self.csv: Any = None
        if spec.kind is SpecKind.CSV:
            self.text = io.TextIOWrapper(self.fh, encoding="utf-8", newline="")
            self.csv = csv.writer(self.text)
            if spec.first_row == 1 or (spec.compression and spec.start == 0):
                self.csv.writerow(_csv_header(spec))

    def add(self, record: Record) -> None:
        if self.csv is not None and isinstance(record.raw, list):
            self.csv.writerow(record.raw)
        elif isinstance(record.raw, bytes):
            self.fh.write(record.raw if record.raw.endswith(b"\n") else record.raw + b"\n")

    def close(self) -> None:
        if self.csv is not None:
            self.text.flush()
            self.text.detach()
        self.fh.close()


def _csv_header(spec: ShardSpec) -> list[str]:
    with open_binary(spec.location) as raw:
        fh = decompressed(raw, spec.compression, spec.location)
        for line, _ in iter_lines(fh):
            return next(csv.reader([(line or b"").decode("utf-8", "replace")]), [])
    return []


class _Table:
    """Rows of a Parquet or Arrow shard, written with the input's schema."""

    def __init__(self, folder: Path, spec: ShardSpec) -> None:
        self.spec = spec
        self.path = _part(folder, _target(spec), spec)
        self.rows: list[int] = []
        if spec.kind is SpecKind.ARROW:
            _copy_dataset_files(folder, spec)

    def add(self, record: Record) -> None:
        if isinstance(record.raw, int):
            self.rows.append(record.raw)

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from tdmguard.scan.readers import table_slice

        table = table_slice(self.spec).take(pa.array(self.rows, type=pa.int64()))
        if self.spec.kind is SpecKind.PARQUET:
            pq.write_table(table, self.path)
        else:
            with pa.OSFile(str(self.path), "wb") as sink, pa.ipc.new_stream(
                sink, table.schema
            ) as writer:
                writer.write_table(table)


def _copy_dataset_files(folder: Path, spec: ShardSpec) -> None:
    """A save_to_disk dataset's own files (info, state; a DatasetDict's split list)."""
    if not spec.base or is_remote(spec.base):
        return
    rel_dir = os.path.dirname(spec.name)
    dest = folder / rel_dir if rel_dir else folder
    dest.mkdir(parents=True, exist_ok=True)
    for meta in ("dataset_info.json", "state.json"):
        src = Path(local_path(join(spec.base, meta)))
        if src.is_file():
            shutil.copyfile(src, dest / meta)
    parent_dir = os.path.dirname(rel_dir)
    src = Path(local_path(spec.base)).parent / "dataset_dict.json"
    if rel_dir and src.is_file():
        target = folder / parent_dir if parent_dir else folder
        shutil.copyfile(src, target / "dataset_dict.json")


class _Tar:
    def __init__(self, folder: Path, spec: ShardSpec) -> None:
        self.path = _part(folder, _target(spec), spec)
        self.tf = tarfile.open(self.path, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add(self, record: Record) -> None:
        if not isinstance(record.raw, list):
            return
        for name, data in record.raw:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            self.tf.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        self.tf.close()


def kept_writer(spec: ShardSpec, folder: Path) -> KeptWriter | None:
    folder.mkdir(parents=True, exist_ok=True)
    if spec.kind is SpecKind.FILES:
        return _Files(folder)
    if spec.kind in (SpecKind.LINES, SpecKind.CSV):
        return _Lines(folder, spec)
    if spec.kind in (SpecKind.PARQUET, SpecKind.ARROW):
        return _Table(folder, spec)
    if spec.kind is SpecKind.TAR:
        return _Tar(folder, spec)
    return None


# --- merge ---------------------------------------------------------------------------------


def _link_or_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _join_parts(target: Path, parts: Sequence[Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    lower = target.name.lower()
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        writer: Any = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(str(target), table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    elif lower.endswith(".arrow"):
        import pyarrow as pa

        stream: Any = None
        with pa.OSFile(str(target), "wb") as sink:
            for part in parts:
                with pa.memory_map(str(part)) as src:
                    table = pa.ipc.open_stream(src).read_all()
                if stream is None:
                    stream = pa.ipc.new_stream(sink, table.schema)
                stream.write_table(table)
            if stream is not None:
                stream.close()
    elif lower.endswith((".tar", ".tar.gz", ".tgz")):
        mode = "w:gz" if lower.endswith(("gz", "tgz")) else "w"
        with tarfile.open(target, mode, format=tarfile.PAX_FORMAT) as out:  # type: ignore[call-overload]
            for part in parts:
                with tarfile.open(part, "r:") as tf:
                    for member in tf:
                        out.addfile(member, tf.extractfile(member) if member.isfile() else None)
    else:
        with atomic_writer(target, "wb") as out_fh:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out_fh)


def _write_states(root: Path) -> None:
    """state.json of each kept save_to_disk dataset lists its (new) Arrow files."""
    for state in root.rglob("state.json"):
        files = sorted(p.name for p in state.parent.glob("*.arrow"))
        data = json.loads(state.read_text("utf-8"))
        data["_data_files"] = [{"filename": f} for f in files]
        data["_fingerprint"] = f"tdmguard-kept-{len(files)}"
        state.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def merge_kept(shards_dir: Path, out_dir: Path, shards: Sequence[int]) -> int:
    """Build ``out_dir/kept`` from every shard's kept parts; returns the files written."""
    root = out_dir / "kept"
    if root.exists():
        shutil.rmtree(root)
    groups: dict[str, list[Path]] = {}
    for shard in shards:
        folder = shards_dir / f"{shard:06d}" / "kept"
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            match = _PART.match(rel)
            if match:
                groups.setdefault(match["target"], []).append(path)
            else:
                _link_or_copy(path, root / rel)
    for target, parts in groups.items():
        _join_parts(root / target, parts)
    if root.exists():
        _write_states(root)
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
