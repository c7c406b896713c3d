"""Stamping real files: decoded samples and pixels are identical before and after, the
stamped file reads back as deny, other metadata survives, and bad files fail cleanly."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from tdmguard.declare import StampFields, stamp_file
from tdmguard.declare.stamp import MP4_XMP_UUID
from tdmguard.errors import InputError, MediaError
from tdmguard.signals.metadata import read_embedded
from tdmguard.vocab import Stance, Use
from tests.declare.examples import CORPUS, example_declaration

sf = pytest.importorskip("soundfile")
Image = pytest.importorskip("PIL.Image")

FIELDS = StampFields.from_declaration(example_declaration(), "awakening")
AUDIO = [
    "awakening-excerpt.ogg",
    "awakening-excerpt.opus",
    "awakening-excerpt.flac",
    "awakening-excerpt.wav",
    "awakening-excerpt.aiff",
    "awakening-excerpt.mp3",
]
IMAGES = ["chelsea-small.png", "coffee-small.jpg"]


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copyfile(CORPUS / name, target)
    return target


def _denies_everything(path: Path) -> list[str]:
    reading = read_embedded(path)
    assert not reading.problems, reading.problems
    denying = [v.source for v in reading.verdicts if all(v.stance(u) is Stance.DENY for u in Use)]
    assert denying, reading.to_json()
    return denying


@pytest.mark.parametrize("name", AUDIO)
def test_audio_samples_are_unchanged_and_read_back_as_deny(tmp_path: Path, name: str) -> None:
    path = _copy(tmp_path, name)
    before, rate_before = sf.read(
        path, dtype="int32" if name.endswith((".wav", ".flac")) else "float32"
    )
    result = stamp_file(path, FIELDS)
    after, rate_after = sf.read(path, dtype=before.dtype)
    assert rate_before == rate_after and before.shape == after.shape
    assert np.array_equal(before, after)
    sources = _denies_everything(path)
    reading = read_embedded(path)
    assert reading.isrc == "GBABC2600001"
    assert reading.copyright.startswith("Example Music.")
    if name.endswith((".mp3", ".wav", ".aiff")):  # ID3 carries the XMP packet too
        assert "PRIV:XMP" in result.fields
        assert {"id3:tdmguard", "xmp:plus:DataMining", "xmp:tdm:reservation"} <= set(sources)
    else:
        assert sources == ["vorbis:tdmguard"]


def test_vorbis_comments_of_the_real_track_survive(tmp_path: Path) -> None:
    import mutagen

    path = _copy(tmp_path, "awakening-excerpt.ogg")
    tags = mutagen.File(path).tags
    before = {k: tags[k] for k in tags.keys()}  # noqa: SIM118 (VComment is a list of pairs)
    stamp_file(path, FIELDS)
    after = mutagen.File(path).tags
    assert before["title"] == ["Awakening"] and before["artist"] == ["Maxstack"]
    for key, value in before.items():
        assert after[key] == value
    assert after["TDM_RESERVATION"] == ["1"]
    assert after["TDMGUARD_RESERVED_USES"] == ["tdm"]
    assert after["TDMGUARD_WORK_ID"] == ["awakening"]


def _mp4_boxes(data: bytes) -> dict[bytes, list[bytes]]:
    out: dict[bytes, list[bytes]] = {}
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        out.setdefault(kind, []).append(data[pos + 8 : pos + size])
        pos += size
    return out


def test_mp4_media_data_is_unchanged(tmp_path: Path) -> None:
    path = _copy(tmp_path, "awakening-excerpt.m4a")
    before = _mp4_boxes(path.read_bytes())
    stamp_file(path, FIELDS)
    after = _mp4_boxes(path.read_bytes())
    assert after[b"mdat"] == before[b"mdat"]  # the AAC frames, byte for byte
    (uuid,) = after[b"uuid"]
    assert uuid.startswith(MP4_XMP_UUID)
    assert set(_denies_everything(path)) == {
        "mp4:tdmguard",
        "xmp:plus:DataMining",
        "xmp:tdm:reservation",
    }
    # Stamping again keeps one live XMP box (the old one becomes a same-size free box).
    stamp_file(path, FIELDS)
    again = _mp4_boxes(path.read_bytes())
    assert len(again[b"uuid"]) == 1 and again[b"mdat"] == before[b"mdat"]


@pytest.mark.parametrize("name", IMAGES)
def test_image_pixels_are_unchanged_and_read_back_as_deny(tmp_path: Path, name: str) -> None:
    path = _copy(tmp_path, name)
    with Image.open(path) as im:
        before = np.asarray(im.convert("RGB"))
    stamp_file(path, FIELDS)
    with Image.open(path) as im:
        after = np.asarray(im.convert("RGB"))
    assert np.array_equal(before, after)
    assert set(_denies_everything(path)) == {"xmp:plus:DataMining", "xmp:tdm:reservation"}


def test_jpeg_gets_iptc_iim_copyright(tmp_path: Path) -> None:
    from PIL import IptcImagePlugin

    path = _copy(tmp_path, "coffee-small.jpg")
    stamp_file(path, FIELDS)
    with Image.open(path) as im:
        iim = IptcImagePlugin.getiptcinfo(im)
    assert iim[(2, 116)].decode().startswith("Example Music. All rights reserved")
    assert b"2019/790" in iim[(2, 40)]


def test_narrower_reservation_writes_the_matching_plus_value(tmp_path: Path) -> None:
    fields = StampFields.from_declaration(example_declaration(frozenset({Use.AI_TRAIN})))
    path = _copy(tmp_path, "chelsea-small.png")
    stamp_file(path, fields)
    (verdict,) = read_embedded(path).verdicts  # no tdm:reservation: TDMRep cannot say it
    assert verdict.source == "xmp:plus:DataMining"
    assert (
        verdict.stance(Use.AI_TRAIN) is Stance.DENY
        and verdict.stance(Use.GENAI_TRAIN) is Stance.DENY
    )
    assert verdict.stance(Use.SEARCH) is Stance.UNKNOWN


def test_stamping_twice_is_idempotent(tmp_path: Path) -> None:
    import mutagen

    path = _copy(tmp_path, "awakening-excerpt.mp3")
    stamp_file(path, FIELDS)
    once = path.read_bytes()
    stamp_file(path, FIELDS)
    tags = mutagen.File(path).tags
    assert len([f for f in tags.getall("PRIV") if f.owner == "XMP"]) == 1
    assert len(tags.getall("TXXX:TDM_RESERVATION")) == 1
    assert path.read_bytes() == once


def test_existing_xmp_is_merged_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "with-xmp.jpg"
    other = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        b' xmp:CreatorTool="GIMP"'
        b' xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-ALLOWED"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    with Image.open(CORPUS / "coffee-small.jpg") as im:
        im.save(path, xmp=other, quality=90)
    stamp_file(path, FIELDS)
    with Image.open(path) as im:
        xmp = im.info["xmp"]
    assert b"GIMP" in xmp  # the other property survives
    assert b"DMI-ALLOWED" not in xmp  # the old, contrary value is replaced
    assert "xmp:plus:DataMining" in _denies_everything(path)


@pytest.mark.parametrize(
    "name",
    ["awakening-excerpt.mp3", "awakening-excerpt.flac", "coffee-small.jpg", "chelsea-small.png"],
)
def test_truncated_file_fails_cleanly_and_stays_untouched(tmp_path: Path, name: str) -> None:
    data = (CORPUS / name).read_bytes()
    path = tmp_path / name
    cut = data[: 40 if name.endswith((".jpg", ".png", ".flac")) else 20]
    path.write_bytes(cut)
    with pytest.raises(MediaError) as info:
        stamp_file(path, FIELDS)
    assert str(path) in str(info.value)
    assert path.read_bytes() == cut
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_not_media_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just text\n" * 10)
    with pytest.raises(MediaError, match="not a supported"):
        stamp_file(path, FIELDS)


def test_unreadable_existing_xmp_refuses_rather_than_destroys(tmp_path: Path) -> None:
    path = tmp_path / "bad-xmp.jpg"
    with Image.open(CORPUS / "coffee-small.jpg") as im:
        im.save(path, xmp=b"<x:xmpmeta><unclosed>", quality=90)
    original = path.read_bytes()
    with pytest.raises(MediaError, match="XMP"):
        stamp_file(path, FIELDS)
    assert path.read_bytes() == original


def test_unknown_work_is_refused() -> None:
    with pytest.raises(InputError):
        StampFields.from_declaration(example_declaration(), "nope")


@pytest.mark.slow
def test_full_length_real_tracks(tmp_path: Path) -> None:
    """Every track of Debian's ``singularity-music`` (cached, see dev-data.md §1): stamping
    keeps all decoded samples and the original Vorbis comments."""
    import os

    import mutagen

    cache = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard"))
    folder = cache / "deb/x/singularity-music/usr/share/games/singularity/music"
    tracks = sorted(folder.glob("*.ogg"))
    if not tracks:
        pytest.skip(f"no tracks under {folder}: apt-get download singularity-music; dpkg -x")
    for track in tracks[:4]:
        path = tmp_path / track.name
        shutil.copyfile(track, path)
        before, _ = sf.read(path, dtype="float32")
        tags_before = dict(mutagen.File(path).tags.as_dict())
        stamp_file(path, FIELDS)
        after, _ = sf.read(path, dtype="float32")
        assert np.array_equal(before, after), track.name
        tags_after = mutagen.File(path).tags.as_dict()
        assert all(tags_after[k] == v for k, v in tags_before.items())
        assert "vorbis:tdmguard" in _denies_everything(path)
