"""Read rates of the scan's table and tar readers against the plain libraries (issue 12).

Each case reads the same shards both ways, interleaved, ``repeat`` times; medians of wall
and CPU seconds (``time.process_time``, this process only: nothing here starts workers).

- ours: ``plan_source(shards, 1024)`` and ``read_shard`` for every shard, every record
  taken (what a scan worker does before its checks: a record per row, its parts with
  their media kinds, content sniffed, failures as error records);
- plain, tables: ``pyarrow`` reading the same files and the same columns, batches of
  1024 rows, each row handed to Python as a dict (``RecordBatch.to_pylist()``, what a
  ``datasets`` filter function receives); Parquet through ``ParquetFile.iter_batches``,
  Arrow (``save_to_disk``) through ``pyarrow.ipc`` on a memory map;
- plain, WebDataset: iterating ``webdataset.WebDataset`` over the same tar shards.

Cases (data generated once into ``cache/``; blobs are distinct per row, so Parquet's
dictionary encoding does not shrink them):

- ``parquet-images``: id, caption, and a Hugging Face ``Image``-style ``{bytes, path}``
  struct holding the demo PNG/JPEG files (8-35 kB), 4 shards;
- ``hf-arrow-images``: the same rows written by ``datasets`` ``save_to_disk`` (Arrow);
- ``parquet-text``: id and text (a text corpus), 4 shards;
- ``parquet-blobs``: id, caption and 512 random bytes a row: no blob carries a known
  signature, so every one is sniffed in full (the worst case, kept from earlier runs);
- ``webdataset``: tar shards of caption, 8 kB blob and JSON members.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BATCH = 1024
_WORDS = ("the river runs under the old bridge while a choir sings of winter light and the "
          "market opens early on a cold morning")


def _demo_images() -> list[bytes]:
    from tdmguard.demo import demo_data_dir

    folder = demo_data_dir() / "image"
    return [p.read_bytes() for p in sorted(folder.iterdir())
            if p.suffix.lower() in (".png", ".jpg")]


def _image_rows(shard: int, per: int, images: list[bytes]) -> dict[str, list[Any]]:
    # bytes after the image's end marker make every blob distinct, as real photos are
    return {
        "id": [f"i{shard}_{j}" for j in range(per)],
        "caption": [f"a photo, number {j} of shard {shard}" for j in range(per)],
        "image": [{"bytes": images[j % len(images)] + f"#{shard}/{j}".encode(), "path": None}
                  for j in range(per)],
    }


def _make_parquet_images(folder: Path, shards: int, per: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    images = _demo_images()
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema([("id", pa.string()), ("caption", pa.string()), ("image", image_type)])
    for s in range(shards):
        pq.write_table(pa.Table.from_pydict(_image_rows(s, per, images), schema=schema),
                       folder / f"p-{s:05d}.parquet", row_group_size=BATCH)


def _make_hf_arrow(folder: Path, shards: int, per: int) -> None:
    import datasets

    images = _demo_images()
    rows: dict[str, list[Any]] = {"id": [], "caption": [], "image": []}
    for s in range(shards):
        for key, values in _image_rows(s, per, images).items():
            rows[key] += values
    features = datasets.Features({"id": datasets.Value("string"),
                                  "caption": datasets.Value("string"),
                                  "image": datasets.Image()})
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(
        str(folder), num_shards=shards)


def _make_parquet_text(folder: Path, shards: int, per: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    words = _WORDS.split()
    for s in range(shards):
        texts = [" ".join(words[(j + k) % len(words)] for k in range(40 + j % 60))
                 for j in range(per)]
        pq.write_table(pa.table({"id": [f"t{s}_{j}" for j in range(per)], "text": texts}),
                       folder / f"t-{s:05d}.parquet", row_group_size=4 * BATCH)


def _make_parquet_blobs(folder: Path, shards: int, per: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for s in range(shards):
        pq.write_table(pa.table({"id": [f"r{s}_{i}" for i in range(per)],
                                 "text": [f"caption {i}" for i in range(per)],
                                 "data": [os.urandom(512) for _ in range(per)]}),
                       folder / f"p-{s}.parquet", row_group_size=4 * BATCH)


def _make_wds(folder: Path, shards: int, per: int) -> None:
    import webdataset as wds

    blob = os.urandom(8192)
    for s in range(shards):
        with wds.TarWriter(str(folder / f"s-{s:06d}.tar")) as sink:
            for j in range(per):
                sink.write({"__key__": f"k{s}_{j:06d}", "txt": f"caption {j}",
                            "bin": blob, "json": {"i": j}})


def _cached(cache: Path, name: str, make: Callable[[Path], None]) -> Path:
    folder = cache / name
    if not folder.exists():
        tmp = folder.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        make(tmp)
        tmp.rename(folder)
    return folder


def _ours(source: str) -> Callable[[], int]:
    from tdmguard.scan.plan import plan_source
    from tdmguard.scan.readers import read_shard

    def run() -> int:
        return sum(1 for spec in plan_source(source, BATCH) for _ in read_shard(spec))

    return run


def _plain_parquet(files: list[Path]) -> Callable[[], int]:
    import pyarrow.parquet as pq

    def run() -> int:
        rows = 0
        for path in files:
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=BATCH,
                                              columns=parquet.schema_arrow.names):
                for _row in batch.to_pylist():
                    rows += 1
        return rows

    return run


def _plain_arrow(files: list[Path]) -> Callable[[], int]:
    import pyarrow as pa

    def run() -> int:
        rows = 0
        for path in files:
            table = pa.ipc.open_stream(pa.memory_map(str(path))).read_all()
            for batch in table.to_batches(max_chunksize=BATCH):
                for _row in batch.to_pylist():
                    rows += 1
        return rows

    return run


def _plain_wds(files: list[Path]) -> Callable[[], int]:
    import webdataset as wds

    def run() -> int:
        return sum(1 for _ in wds.WebDataset([str(p) for p in files], shardshuffle=False))

    return run


def _timed(run: Callable[[], int]) -> tuple[int, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    n = run()
    return n, time.perf_counter() - t0, time.process_time() - c0


def bench_readers(cache: Path, quick: bool, repeat: int = 5,
                  cases: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of the reader table (see the module's docstring)."""
    shards = 2 if quick else 4
    per = 1000 if quick else 2500
    image_pq = _cached(cache, f"pq-images-{shards}x{per}",
                       lambda f: _make_parquet_images(f, shards, per))
    hf = _cached(cache, f"hf-images-{shards}x{per}", lambda f: _make_hf_arrow(f, shards, per))
    text_pq = _cached(cache, f"pq-text-{shards}x{per * 4}",
                      lambda f: _make_parquet_text(f, shards, per * 4))
    blob_pq = _cached(cache, f"parquet-{shards}x{per * 4}",
                      lambda f: _make_parquet_blobs(f, shards, per * 4))
    wds_dir = _cached(cache, f"wds-{shards}x{per // 2}",
                      lambda f: _make_wds(f, shards, per // 2))
    tars = sorted(wds_dir.glob("*.tar"))
    table: list[tuple[str, str, Callable[[], int], Callable[[], int], list[Path]]] = [
        ("parquet-images", "parquet", _ours(str(image_pq)),
         _plain_parquet(sorted(image_pq.glob("*.parquet"))), sorted(image_pq.glob("*.parquet"))),
        ("hf-arrow-images", "arrow", _ours(str(hf)), _plain_arrow(sorted(hf.glob("*.arrow"))),
         sorted(hf.glob("*.arrow"))),
        ("parquet-text", "parquet", _ours(str(text_pq)),
         _plain_parquet(sorted(text_pq.glob("*.parquet"))), sorted(text_pq.glob("*.parquet"))),
        ("parquet-blobs", "parquet", _ours(str(blob_pq)),
         _plain_parquet(sorted(blob_pq.glob("*.parquet"))), sorted(blob_pq.glob("*.parquet"))),
        ("webdataset", "webdataset",
         _ours(str(wds_dir / f"s-{{000000..{shards - 1:06d}}}.tar")), _plain_wds(tars), tars),
    ]
    rows: list[dict[str, Any]] = []
    for name, plain_name, ours, plain, files in table:
        if cases and name not in cases:
            continue
        mb = sum(p.stat().st_size for p in files) / 1e6
        wall: dict[str, list[float]] = {"ours": [], "plain": []}
        cpu: dict[str, list[float]] = {"ours": [], "plain": []}
        counts: dict[str, int] = {}
        for _ in range(repeat):
            for side, run in (("ours", ours), ("plain", plain)):
                n, w, c = _timed(run)
                counts[side] = n
                wall[side].append(w)
                cpu[side].append(c)
        assert counts["ours"] == counts["plain"], (name, counts)
        n = counts["ours"]
        med = {f"{k}_{side}": statistics.median(v[side])
               for k, v in (("wall", wall), ("cpu", cpu)) for side in ("ours", "plain")}
        row = {
            "reader": name, "plain": plain_name, "items": n, "mb": round(mb, 1),
            "repeat": repeat,
            "ours_items_s": round(n / med["wall_ours"]),
            "plain_items_s": round(n / med["wall_plain"]),
            "ours_mb_s": round(mb / med["wall_ours"], 1),
            "plain_mb_s": round(mb / med["wall_plain"], 1),
            "ratio": round(med["wall_plain"] / med["wall_ours"], 2),
            "ours_items_cpu_s": round(n / med["cpu_ours"]),
            "plain_items_cpu_s": round(n / med["cpu_plain"]),
            "cpu_ratio": round(med["cpu_plain"] / med["cpu_ours"], 2),
            "ours_us_per_item_cpu": round(med["cpu_ours"] / n * 1e6, 2),
            "plain_us_per_item_cpu": round(med["cpu_plain"] / n * 1e6, 2),
        }
        rows.append(row)
        print(f"{name:16s} {n:6d} items {mb:7.1f} MB | wall: ours {row['ours_items_s']:8d}"
              f" plain {row['plain_items_s']:8d} items/s, ratio {row['ratio']:.2f} | CPU: ours"
              f" {row['ours_us_per_item_cpu']:6.2f} plain {row['plain_us_per_item_cpu']:6.2f}"
              f" us/item, ratio {row['cpu_ratio']:.2f}", flush=True)
    return rows


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["Readers against the plain libraries, reading the same shards (ratio = plain "
             "time / scan reader time: above 1 the scan's reader is faster; target >= 0.8). "
             "Medians of interleaved repeats; CPU = this process's CPU seconds. Plain: "
             "pyarrow reading the same columns, each row handed to Python as a dict "
             "(`to_pylist()`), or iterating `webdataset.WebDataset` (see "
             "`benchmarks/scan/reader_rates.py`):", "",
             "| source | items | MB | scan reader items/s (MB/s) | plain items/s (MB/s) | "
             "ratio (wall) | CPU us/item scan / plain | ratio (CPU) |",
             "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        if "cpu_ratio" in x:
            lines.append(
                f"| {x['reader']} | {x['items']} | {x['mb']} | {x['ours_items_s']} "
                f"({x['ours_mb_s']}) | {x['plain_items_s']} ({x['plain_mb_s']}) | "
                f"{x['ratio']} | {x['ours_us_per_item_cpu']} / {x['plain_us_per_item_cpu']} | "
                f"{x['cpu_ratio']} |")
        else:  # a row from an earlier run, before CPU was measured
            lines.append(f"| {x['reader']} | {x['items']} | {x['mb']} | {x['ours_items_s']} | "
                         f"{x['plain_items_s']} | {x['ratio']} | - | - |")
    return [*lines, ""]


if __name__ == "__main__":
    import sys

    here = Path(__file__).resolve().parent
    chosen = tuple(a for a in sys.argv[1:] if not a.startswith("-"))
    bench_readers(here / "cache", "--quick" in sys.argv, 5, chosen)
