"""Scans of the formats ML teams keep training data in, written by the real libraries
(webdataset, datasets, pyarrow) and checked with the real lyrics engine and index: reserved
copies are excluded item by item, damage goes to errors.jsonl naming shard and key, and
``--write-kept`` writes what a pipeline reads back unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tdmguard.scan.runner import run_scan
from tests.scan.conftest import ESSAY, JEANIE, LINDENBAUM, LyricsWorld, wav_bytes


def _lines(out: Path, name: str) -> list[dict[str, Any]]:
    raw = (out / f"{name}.jsonl").read_bytes()
    raw.decode("utf-8")  # strict: always valid UTF-8
    return [json.loads(x) for x in raw.splitlines()]


def _decisions(out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("kept", "excluded", "review", "errors"):
        for row in _lines(out, name):
            assert row["id"] not in found, f"{row['id']} written twice"
            found[row["id"]] = name
    return found


def _texts(n: int) -> list[str]:
    # every third item holds a reserved lyric; the rest an essay or a short caption
    return [[JEANIE, f"caption {i}: a field at dawn", ESSAY, LINDENBAUM][i % 4] for i in range(n)]


def _write_wds(folder: Path, shards: int, per_shard: int) -> list[str]:
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    texts = _texts(shards * per_shard)
    keys = []
    for s in range(shards):
        with wds.TarWriter(str(folder / f"shards-{s:06d}.tar")) as sink:
            for j in range(per_shard):
                i = s * per_shard + j
                key = f"sample{i:05d}"
                keys.append(key)
                sink.write({"__key__": key, "txt": texts[i], "wav": wav_bytes(),
                            "json": {"url": f"https://example.org/{i}", "n": i}})
    return keys


def test_webdataset_brace_pattern_excludes_reserved_samples_and_writes_filtered_shards(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import webdataset as wds

    keys = _write_wds(tmp_path / "wds", shards=2, per_shard=6)
    out = tmp_path / "out"
    pattern = str(tmp_path / "wds" / "shards-{000000..000001}.tar")
    report = run_scan(lyrics_world.job(pattern, out, shard_size=4, write_kept=True))
    decisions = _decisions(out)
    reserved = {f"shards-{i // 6:06d}.tar#{k}" for i, k in enumerate(keys) if i % 4 in (0, 3)}
    assert {k for k, v in decisions.items() if v == "excluded"} == reserved
    assert len(decisions) == 12 and report["counts"]["errors"] == 0
    assert report["shards"] == 4  # 6 samples per tar, 4 per shard: member ranges
    row = next(r for r in _lines(out, "excluded") if r["id"].endswith("sample00000"))
    assert row["where"] == "shards-000000.tar#sample00000"
    assert row["fields"]["json"] == {"url": "https://example.org/0", "n": 0}
    assert row["evidence"][0]["source"] == "registry:lyrics"
    # The kept shards are WebDataset shards again: same names, same members, kept keys only.
    kept_keys = []
    for s in range(2):
        path = out / "kept" / f"shards-{s:06d}.tar"
        for sample in wds.WebDataset(str(path), shardshuffle=False):
            kept_keys.append(sample["__key__"])
            assert set(sample) >= {"txt", "wav", "json"}
            assert sample["wav"] == wav_bytes()
    assert kept_keys == [k for i, k in enumerate(keys) if i % 4 in (1, 2)]


def test_tar_in_a_folder_is_read_truncated_tar_names_shard_and_key(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    _write_wds(tmp_path / "ds" / "train", shards=2, per_shard=4)
    (tmp_path / "ds" / "notes.txt").write_text(LINDENBAUM)
    good = (tmp_path / "ds" / "train" / "shards-000001.tar").read_bytes()
    # cut inside the third sample's audio member
    (tmp_path / "ds" / "train" / "shards-000001.tar").write_bytes(good[: len(good) * 3 // 5])
    out = tmp_path / "out"
    report = run_scan(lyrics_world.job(tmp_path / "ds", out, shard_size=64))
    decisions = _decisions(out)
    assert decisions["notes.txt"] == "excluded"
    assert decisions["train/shards-000000.tar#sample00000"] == "excluded"
    assert decisions["train/shards-000000.tar#sample00001"] == "kept"
    errors = _lines(out, "errors")
    assert len(errors) == 1 and "train/shards-000001.tar#sample0000" in errors[0]["error"]
    assert "unreadable tar shard" in errors[0]["error"]
    assert report["counts"]["errors"] == 1
    assert not any(k.endswith(".tar") for k in decisions)  # never one opaque item


def test_hugging_face_save_to_disk_with_audio_and_a_text_column(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import datasets

    texts = _texts(10)
    ds = datasets.Dataset.from_dict({
        "id": [f"item-{i}" for i in range(10)],
        "lyrics": texts,
        "audio": [{"bytes": wav_bytes(), "path": f"a{i}.wav"} for i in range(10)],
        "score": list(range(10)),
    }).cast_column("audio", datasets.Audio(decode=False))
    ds.save_to_disk(str(tmp_path / "hf"), max_shard_size="20KB")
    assert len(list((tmp_path / "hf").glob("*.arrow"))) > 1
    out = tmp_path / "out"
    from tdmguard.scan.readers import ReadOptions

    run_scan(lyrics_world.job(tmp_path / "hf", out, shard_size=3, write_kept=True,
                              read=ReadOptions(text_column="lyrics")))
    decisions = _decisions(out)
    assert {k for k, v in decisions.items() if v == "excluded"} == {
        f"item-{i}" for i in range(10) if i % 4 in (0, 3)}
    kept_row = _lines(out, "kept")[0]
    assert kept_row["fields"]["score"] == 1 and kept_row["parts"][0]["media"] == "text"
    again = datasets.load_from_disk(str(out / "kept"))
    assert again.features == ds.features
    assert again["id"] == [f"item-{i}" for i in range(10) if i % 4 in (1, 2)]


def test_dataset_dict_and_parquet_folder_inside_a_scanned_folder(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import datasets
    import pyarrow.parquet as pq

    texts = _texts(8)
    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": texts[:6]}),
        "test": datasets.Dataset.from_dict({"text": texts[6:]}),
    })
    dd.save_to_disk(str(tmp_path / "root" / "saved"))
    (tmp_path / "root" / "hub" / "data").mkdir(parents=True)
    datasets.Dataset.from_dict({"text": texts, "n": list(range(8))}).to_parquet(
        str(tmp_path / "root" / "hub" / "data" / "train-00000-of-00001.parquet"))
    out = tmp_path / "out"
    report = run_scan(lyrics_world.job(tmp_path / "root", out, shard_size=4, write_kept=True))
    decisions = _decisions(out)
    assert decisions["saved/train/data-00000-of-00001.arrow:row-1"] == "excluded"
    assert decisions["saved/test/data-00000-of-00001.arrow:row-1"] == "kept"  # texts[6]
    assert decisions["hub/data/train-00000-of-00001.parquet:row-4"] == "excluded"
    assert report["counts"]["errors"] == 0 and len(decisions) == 16
    kept = pq.read_table(out / "kept" / "hub" / "data" / "train-00000-of-00001.parquet")
    assert kept.column("n").to_pylist() == [1, 2, 5, 6]
    saved = datasets.load_from_disk(str(out / "kept" / "saved"))
    assert len(saved["train"]) == 3 and len(saved["test"]) == 1


def test_jsonl_write_kept_keeps_rows_byte_for_byte(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import gzip

    rows = [json.dumps({"id": f"r{i}", "text": t, "extra": {"k": i}}) for i, t in
            enumerate(_texts(9))]
    (tmp_path / "m.jsonl.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    out = tmp_path / "out"
    run_scan(lyrics_world.job(tmp_path / "m.jsonl.gz", out, shard_size=2, write_kept=True))
    kept = (out / "kept" / "m.jsonl").read_text().splitlines()
    assert kept == [r for i, r in enumerate(rows) if i % 4 in (1, 2)]
    assert _lines(out, "kept")[0]["fields"] == json.loads(rows[1])


def test_s3_sources_through_fsspec(
    tmp_path: Path, lyrics_world: LyricsWorld, s3_endpoint: str
) -> None:
    import fsspec

    _write_wds(tmp_path / "wds", shards=2, per_shard=3)
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1").create_bucket(
        Bucket="bucket")
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    for s in range(2):
        fs.put(str(tmp_path / "wds" / f"shards-{s:06d}.tar"), f"bucket/wds/shards-{s:06d}.tar")
    rows = [json.dumps({"id": f"r{i}", "text": t}) for i, t in enumerate(_texts(5))]
    fs.pipe("bucket/m.jsonl", ("\n".join(rows) + "\n").encode())
    out = tmp_path / "out"
    run_scan(lyrics_world.job("s3://bucket/wds/shards-{000000..000001}.tar", out, shard_size=2))
    decisions = _decisions(out)
    assert decisions["shards-000000.tar#sample00000"] == "excluded"
    assert decisions["shards-000000.tar#sample00001"] == "kept"
    assert len(decisions) == 6
    run_scan(lyrics_world.job("s3://bucket/m.jsonl", tmp_path / "out2", shard_size=2))
    decisions = _decisions(tmp_path / "out2")
    assert decisions == {"r0": "excluded", "r1": "kept", "r2": "kept", "r3": "excluded",
                         "r4": "excluded"}
    run_scan(lyrics_world.job("s3://bucket/wds", tmp_path / "out3", shard_size=2))
    assert _decisions(tmp_path / "out3")["shards-000001.tar#sample00003"] == "excluded"


@pytest.mark.parametrize("kind", ["parquet-glob", "csv"])
def test_glob_and_csv_sources(tmp_path: Path, lyrics_world: LyricsWorld, kind: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = _texts(6)
    if kind == "csv":
        import csv

        with (tmp_path / "m.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            writer.writerows([[f"r{i}", t] for i, t in enumerate(texts)])
        source = str(tmp_path / "m.csv")
    else:
        for part in range(2):
            pq.write_table(pa.table({"text": texts[part * 3:part * 3 + 3]}),
                           tmp_path / f"part-{part}.parquet")
        source = str(tmp_path / "part-*.parquet")
    out = tmp_path / "out"
    run_scan(lyrics_world.job(source, out, shard_size=2, write_kept=True))
    excluded = [k for k, v in _decisions(out).items() if v == "excluded"]
    assert len(excluded) == 3
    if kind == "csv":
        with (out / "kept" / "m.csv").open(newline="") as fh:
            kept = list(csv.reader(fh))
        assert kept[0] == ["id", "text"] and [r[0] for r in kept[1:]] == ["r1", "r2", "r5"]
        assert kept[2][1] == texts[2]
    else:
        assert pq.read_table(out / "kept" / "part-0.parquet").num_rows == 2


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_a_reserved_lyric_in_another_encoding_is_excluded(
    tmp_path: Path, lyrics_world: LyricsWorld, encoding: str
) -> None:
    """Issue 18's reproduction: the Windows-1252 (or UTF-16) copy of a reserved lyric was
    kept while its UTF-8 copy was excluded. Every copy is read as text and excluded."""

    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "lyric.txt").write_bytes(LINDENBAUM.encode(encoding, errors="replace"))
    (folder / "essay.txt").write_bytes(ESSAY.encode(encoding, errors="replace"))
    out = tmp_path / "out"
    run_scan(lyrics_world.job(folder, out, shard_size=4))
    assert _decisions(out) == {"lyric.txt": "excluded", "essay.txt": "kept"}
