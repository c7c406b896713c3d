"""The demo's training sets are what the real libraries read: WebDataset shards grouped by
key, a ``save_to_disk`` dataset with typed ``Audio``/``Image`` features holding the bytes."""

from __future__ import annotations

import io
from pathlib import Path

from tdmguard.demo import demo_data_dir
from tdmguard.demo.training_sets import (
    HF_SONGS,
    WDS_SAMPLES,
    audio_excerpt,
    write_hf_songs,
    write_webdataset,
)


def test_audio_excerpt_is_a_tagless_flac_of_the_asked_length() -> None:
    import soundfile

    data = audio_excerpt(demo_data_dir() / "audio" / "ref-nebula.ogg", 8.0, 6.0)
    info = soundfile.info(io.BytesIO(data))
    assert info.format == "FLAC" and abs(info.duration - 6.0) < 0.01
    assert not soundfile.SoundFile(io.BytesIO(data)).copy_metadata()  # no title, no artist


def test_webdataset_shards_hold_every_sample_with_its_members(tmp_path: Path) -> None:
    import webdataset as wds

    pattern = write_webdataset(tmp_path / "wds")
    assert pattern == str(tmp_path / "wds" / "shards-{000000..000001}.tar")
    samples = list(wds.WebDataset(pattern, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [key for _, key, _ in WDS_SAMPLES]
    for sample, (_, _, members) in zip(samples, WDS_SAMPLES, strict=True):
        assert set(members) | {"json"} <= set(sample)
    frog = next(s for s in samples if s["__key__"] == "img-002")
    assert frog["jpg"] == (demo_data_dir() / "image" / "query-frog-resized.jpg").read_bytes()


def test_hugging_face_dataset_has_audio_and_image_features(tmp_path: Path) -> None:
    import datasets

    folder = write_hf_songs(tmp_path / "hf")
    ds = datasets.load_from_disk(str(folder))
    assert ds["id"] == [row["id"] for row in HF_SONGS]
    assert isinstance(ds.features["audio"], datasets.Audio)
    assert isinstance(ds.features["cover"], datasets.Image)
    first = ds[0]
    assert first["audio"]["bytes"][:4] == b"fLaC" and first["lyrics"] is None
    assert ds[2]["audio"] is None and "lindenbaum" in ds[2]["lyrics"].lower()
