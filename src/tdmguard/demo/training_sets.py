"""Training sets for ``tdmguard demo``, written with the real libraries from the demo's own
media, the way ML teams keep them: WebDataset tar shards (``webdataset.TarWriter``) and a
Hugging Face dataset saved with ``save_to_disk`` (``datasets``, ``Audio`` and ``Image``
features holding the bytes). Each holds metadata-stripped copies of registered works (audio
excerpts re-encoded without tags, a resized and a cropped artwork, a quoted lyric, a melody
excerpt) among never-registered items.

Needs the ``datasets`` extra (webdataset, datasets) and the ``audio`` extra (soundfile).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdmguard.demo import demo_data_dir

__all__ = [
    "HF_SONGS",
    "WDS_SAMPLES",
    "Excerpt",
    "SampleFile",
    "audio_excerpt",
    "write_hf_songs",
    "write_webdataset",
]


@dataclass(frozen=True, slots=True)
class SampleFile:
    """A file of the demo's data, as it is."""

    area: str
    name: str


@dataclass(frozen=True, slots=True)
class Excerpt:
    """Part of one of the demo's recordings, re-encoded without tags."""

    name: str
    start_s: float
    length_s: float


# A member's content: a demo file, an audio excerpt, or literal text.
_Member = SampleFile | Excerpt | str

# (shard, key, {member extension: content})
WDS_SAMPLES: tuple[tuple[int, str, dict[str, _Member]], ...] = (
    (0, "clip-000", {"flac": Excerpt("ref-nebula.ogg", 8.0, 6.0),
                     "txt": "ambient synth pad, slow build"}),
    (0, "clip-001", {"ogg": SampleFile("audio", "unregistered-armygeddon.ogg"),
                     "txt": "drum and bass loop"}),
    (0, "img-002", {"jpg": SampleFile("image", "query-frog-resized.jpg"),
                    "txt": "a green frog on a leaf"}),
    (1, "img-003", {"png": SampleFile("image", "armadillo-unregistered.png"),
                    "txt": "an armadillo, line drawing"}),
    (1, "img-004", {"jpg": SampleFile("image", "query-penguin-mirrored.jpg"),
                    "txt": "a penguin, flat colours"}),
    (1, "txt-005", {"txt": SampleFile("lyrics/training", "forum_thread_old_songs.txt")}),
    (1, "mid-006", {"mid": SampleFile("melody", "query-jeanie-excerpt.mid"),
                    "txt": "piano melody"}),
)

# Rows of the Hugging Face dataset: id, title, lyrics (text column), audio, cover.
HF_SONGS: tuple[dict[str, Any], ...] = (
    {"id": "song-01", "title": "Morning Theme",
     "audio": Excerpt("ref-awakening.ogg", 5.0, 6.0),
     "cover": SampleFile("image", "armadillo-unregistered.png")},
    {"id": "song-02", "title": "Breakbeat Study",
     "audio": Excerpt("unregistered-armygeddon.ogg", 2.0, 6.0),
     "cover": SampleFile("image", "query-caterpillar-cropped.png")},
    {"id": "song-03", "title": "Am Brunnen",
     "lyrics": SampleFile("lyrics", "der_lindenbaum.txt")},
    {"id": "song-04", "title": "Light Brown Hair (cover)",
     "lyrics": SampleFile("lyrics", "jeanie_with_the_light_brown_hair.txt")},
    {"id": "song-05", "title": "Penguin Parade",
     "lyrics": "Waddle to the water, waddle back again,\nthe ice is our stage and the sea is "
               "our friend.",
     "cover": SampleFile("image", "query-penguin-mirrored.jpg")},
)


def audio_excerpt(path: Path, start_s: float, length_s: float) -> bytes:
    """``length_s`` seconds of ``path`` from ``start_s``, re-encoded as FLAC with no tags (a
    metadata-stripped copy: only the content can tell what it is)."""
    import soundfile

    samples, rate = soundfile.read(str(path), always_2d=True)
    cut = samples[int(start_s * rate): int((start_s + length_s) * rate)]
    buf = io.BytesIO()
    soundfile.write(buf, cut, rate, format="FLAC")
    return buf.getvalue()


def _member(value: _Member) -> bytes:
    data = demo_data_dir()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, Excerpt):
        return audio_excerpt(data / "audio" / value.name, value.start_s, value.length_s)
    return (data / value.area / value.name).read_bytes()


def write_webdataset(folder: Path) -> str:
    """Two WebDataset shards ``shards-00000{0,1}.tar``; returns their brace pattern."""
    import webdataset as wds

    folder.mkdir(parents=True, exist_ok=True)
    shards = sorted({s for s, _, _ in WDS_SAMPLES})
    for shard in shards:
        with wds.TarWriter(str(folder / f"shards-{shard:06d}.tar")) as sink:
            for s, key, members in WDS_SAMPLES:
                if s == shard:
                    sink.write({"__key__": key, **{ext: _member(v) for ext, v in members.items()},
                                "json": {"collected": "2025-06", "licence": "unknown"}})
    return str(folder / f"shards-{{{shards[0]:06d}..{shards[-1]:06d}}}.tar")


def write_hf_songs(folder: Path) -> Path:
    """A ``save_to_disk`` dataset with an ``Audio`` and an ``Image`` feature (bytes inside
    the dataset) and a ``lyrics`` text column; returns its folder."""
    import datasets

    def media(row: dict[str, Any], column: str, ext: str) -> dict[str, Any] | None:
        value = row.get(column)
        if value is None:
            return None
        return {"bytes": _member(value), "path": f"{row['id']}.{ext}"}

    def text(row: dict[str, Any]) -> str | None:
        value = row.get("lyrics")
        return None if value is None else _member(value).decode("utf-8")

    columns = {
        "id": [r["id"] for r in HF_SONGS],
        "title": [r["title"] for r in HF_SONGS],
        "lyrics": [text(r) for r in HF_SONGS],
        "audio": [media(r, "audio", "flac") for r in HF_SONGS],
        "cover": [media(r, "cover", "img") for r in HF_SONGS],
    }
    # Built as plain {bytes, path} structs, then typed: Audio/Image with decode=False take
    # the bytes as they are (encoding audio through datasets would need torchcodec).
    ds = datasets.Dataset.from_dict(columns)
    ds = ds.cast_column("audio", datasets.Audio(decode=False))
    ds = ds.cast_column("cover", datasets.Image(decode=False))
    ds.save_to_disk(str(folder))
    return folder
