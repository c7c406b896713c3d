"""read_embedded on real files, and on truncated, corrupt and hostile ones: problems, never
exceptions."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tdmguard.signals.metadata import read_embedded
from tdmguard.signals.metadata.audio_tags import read_audio_tags
from tests.declare.examples import CORPUS

pytest.importorskip("mutagen")

MEDIA = sorted(
    p.name
    for p in CORPUS.iterdir()
    if p.suffix in {".ogg", ".opus", ".flac", ".wav", ".aiff", ".mp3", ".m4a", ".png", ".jpg"}
)


def test_real_unstamped_files_carry_no_reservation() -> None:
    for name in MEDIA:
        if "c2pa" in name:
            continue
        reading = read_embedded(CORPUS / name)
        assert reading.verdicts == (), name
        assert reading.problems == (), name
        assert reading.container != "unknown", name


def test_real_vorbis_tags_are_read() -> None:
    tags = read_audio_tags(CORPUS / "awakening-excerpt.ogg")
    assert tags is not None and tags.container == "OggVorbis"
    assert tags.isrc == "" and tags.copyright == ""


@pytest.mark.parametrize("name", MEDIA)
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.7])
def test_truncated_files_never_raise(tmp_path: Path, name: str, fraction: float) -> None:
    data = (CORPUS / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * fraction)])
    reading = read_embedded(path)
    assert isinstance(reading.problems, tuple)


@pytest.mark.parametrize("name", MEDIA)
def test_corrupted_files_never_raise(tmp_path: Path, name: str) -> None:
    rng = random.Random(name)
    data = bytearray((CORPUS / name).read_bytes())
    for _ in range(64):
        data[rng.randrange(16, len(data))] = rng.randrange(256)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    read_embedded(path)


def test_hostile_mp4_box_sizes(tmp_path: Path) -> None:
    # A top-level box claiming 4 GiB, and a 64-bit size running past the end.
    path = tmp_path / "evil.m4a"
    path.write_bytes(
        b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A mp42" + b"\xff\xff\xff\xffmoov" + b"\x00" * 32
    )
    reading = read_embedded(path)
    assert reading.verdicts == ()


def test_pdf_with_xmp(tmp_path: Path) -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:tdm="http://www.w3.org/ns/tdmrep/">'
        b"<tdm:reservation>1</tdm:reservation></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    path = tmp_path / "doc.pdf"
    path.write_bytes(
        b"%PDF-1.7\n1 0 obj << /Type /Metadata /Subtype /XML >> stream\n"
        + xmp
        + b"\nendstream endobj\n%%EOF"
    )
    reading = read_embedded(path, c2pa=False)
    assert reading.container == "PDF"
    assert [v.source for v in reading.verdicts] == ["xmp:tdm:reservation"]


def test_missing_file_and_non_media(tmp_path: Path) -> None:
    assert read_embedded(tmp_path / "nope.mp3").problems
    text = tmp_path / "a.txt"
    text.write_text("hello")
    reading = read_embedded(text)
    assert reading.container == "unknown" and reading.problems
