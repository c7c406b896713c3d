from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tdmguard.errors import MediaError
from tdmguard.scan.record import MediaKind
from tdmguard.scan.sniff import sniff_bytes, sniff_path


@pytest.mark.parametrize(("head", "kind"), [
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", MediaKind.AUDIO),
    (b"fLaC\x00\x00", MediaKind.AUDIO),
    (b"OggS\x00\x02", MediaKind.AUDIO),
    (b"ID3\x04\x00", MediaKind.AUDIO),
    (b"\xff\xfb\x90\x64" + b"\x00" * 8, MediaKind.AUDIO),
    (b"\x00\x00\x00\x20ftypM4A \x00", MediaKind.AUDIO),
    (b"\x00\x00\x00\x1cftypavif", MediaKind.IMAGE),
    (b"\x89PNG\r\n\x1a\n\x00", MediaKind.IMAGE),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", MediaKind.IMAGE),
    (b"GIF89a", MediaKind.IMAGE),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", MediaKind.IMAGE),
    (b"MThd\x00\x00\x00\x06", MediaKind.SYMBOLIC),
    (b'<?xml version="1.0"?>\n<!DOCTYPE score-partwise>\n<score-partwise>', MediaKind.SYMBOLIC),
    (b'<?xml version="1.0"?><html></html>', MediaKind.TEXT),
    (b"X:1\nT:Tune\nK:G\nGABc", MediaKind.SYMBOLIC),
    (b"**kern\t**kern\n*M4/4", MediaKind.SYMBOLIC),
    ("Und über allen Gipfeln ist Ruh".encode(), MediaKind.TEXT),
    (b"[00:12.00]Line one\n", MediaKind.TEXT),
    ("日本語の歌詞".encode()[:-1], MediaKind.TEXT),  # multi-byte char cut at the end
    (b"\x00\x01\x02binary", MediaKind.UNKNOWN),
    # not UTF-8, but text all the same (read as Windows-1252): checked, not set aside
    (b"\xc3\x28 invalid utf8 in the middle of a long line" * 3, MediaKind.TEXT),
])
def test_sniff_bytes(head: bytes, kind: MediaKind) -> None:
    assert sniff_bytes(head) is kind


def test_sniff_path_errors_and_mxl(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="empty"):
        (tmp_path / "e").write_bytes(b"")
        sniff_path(tmp_path / "e")
    with pytest.raises(MediaError, match=str(tmp_path / "missing")):
        sniff_path(tmp_path / "missing")
    mxl = tmp_path / "score.bin"
    with zipfile.ZipFile(mxl, "w") as zf:
        zf.writestr("META-INF/container.xml", "<container/>")
        zf.writestr("score.xml", "<score-partwise/>")
    assert sniff_path(mxl) is MediaKind.SYMBOLIC
    plain_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("a.txt", "x")
    assert sniff_path(plain_zip) is MediaKind.UNKNOWN
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04truncated")
    assert sniff_path(tmp_path / "bad.zip") is MediaKind.UNKNOWN


def test_text_in_other_encodings_is_text() -> None:
    """A lyric saved as Windows-1252, KOI8-R, Shift-JIS or UTF-16 is checked as text (the
    UTF-16 byte-order mark FF FE is not an MP3 frame); binary stays unknown."""
    lyric = "Träume süß, mein Kind, über Täler und Höhen; " * 20
    assert sniff_bytes(lyric.encode("cp1252")) is MediaKind.TEXT
    assert sniff_bytes(("Песня о любви и разлуке. " * 40).encode("koi8-r")) is MediaKind.TEXT
    assert sniff_bytes(("春の海 ひねもすのたり のたりかな " * 40).encode("shift_jis")) \
        is MediaKind.TEXT
    assert sniff_bytes(lyric.encode("utf-16")) is MediaKind.TEXT
    assert sniff_bytes(lyric.encode("utf-16-le")) is MediaKind.TEXT
    assert sniff_bytes(bytes(range(256)) * 8) is MediaKind.UNKNOWN


def test_binary_at_a_glance_agrees_with_the_lyrics_reader() -> None:
    """The sniffer's quick binary test (no charset detector) only says binary where the
    lyrics reader says 'not text' too, and never for text in any encoding it reads."""
    import random

    from tdmguard.fingerprint.lyrics.reading import text_encoding
    from tdmguard.scan.sniff import _binary_at_a_glance

    rng = random.Random(12)
    blobs = [rng.randbytes(size) for size in (16, 64, 512, 4096) for _ in range(60)]
    quick = [b for b in blobs if _binary_at_a_glance(b)]
    # random bytes of 512 and more are told at a glance (shorter ones may read as UTF-16
    # and go to the detector)
    assert sum(len(b) >= 512 for b in quick) == 120
    assert all(text_encoding(b) is None for b in quick)
    poem = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n" * 8
    texts = [poem.encode(e) for e in ("utf-16-le", "utf-16-be", "utf-32-le", "gb18030")]
    texts += ["床前明月光疑是地上霜举头望明月低头思故乡".encode("utf-16-le") * 10]  # no NUL
    texts += ["Über allen Gipfeln ist Ruh, in allen Wipfeln\n".encode(e) * 5
              for e in ("cp1252", "utf-8", "utf-16-be")]
    texts += ["Во поле берёза стояла\n".encode("koi8-r") * 8,
              "月がとっても青いから\n".encode("shift_jis") * 8]
    for text in texts:
        assert not _binary_at_a_glance(text), text[:20]
        assert sniff_bytes(text) is MediaKind.TEXT, text[:20]


def _blobs() -> list[bytes]:
    """Real media files of the test corpus and blobs a reader must not take for media."""
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    real = [p.read_bytes() for p in sorted((corpus / "metadata").iterdir())
            if p.suffix in (".aiff", ".flac", ".m4a", ".mp3", ".ogg", ".opus", ".wav", ".png",
                            ".jpg")]
    real += [p.read_bytes() for p in sorted((corpus / "image").glob("*.png"))]
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
    disguised_tar = jpeg + bytes(257 - len(jpeg)) + b"ustar\x0000" + bytes(250)
    return [
        *real,
        disguised_tar,  # a tar whose first member's name looks like a JPEG: a container
        b"\x1f\x8b\x08\x00" + bytes(40),  # gzip
        b"PK\x03\x04" + bytes(40),  # zip
        b"PAR1" + bytes(40),
        "\ufeffUnd über allen Gipfeln".encode("utf-16"),  # BOM-led text
        b"\xff\xfe" + bytes(30),  # a UTF-16 BOM that is also an MPEG frame sync
        b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(20),
        b"\x00\x00\x00\x20ftypM4A " + bytes(20),
        b"\x00\x00\x00\x1cftypheic" + bytes(20),
        b"MThd\x00\x00\x00\x06\x00\x01\x00\x02",
        b"plain words of a caption, long enough",
        b"GIF89a",  # shorter than the 12 bytes looked at: sniffed in full
        b"",
        bytes(range(256)) * 3,
        *(bytes((i * 37 + j * 11) % 256 for j in range(600)) for i in range(8)),
    ]


def test_blob_kinds_agree_with_the_full_sniff() -> None:
    """The vectorised answer is the full sniff's wherever it gives one, real media always
    gets one, and containers, zips, BOM-led and short blobs are left to the full sniff."""
    import numpy as np

    from tdmguard.scan.sniff import SNIFF_BYTES, blob_kinds, container_magic

    blobs = _blobs()
    blobs = blobs + blobs[::-1]  # repeated heads share one judgement
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    lengths = np.array([len(b) for b in blobs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    kinds = blob_kinds(data, starts, lengths)
    assert len(kinds) == len(blobs)
    for blob, kind in zip(blobs, kinds, strict=True):
        head = blob[:SNIFF_BYTES]
        if kind is not None:
            assert container_magic(head) is None and head[:4] != b"PK\x03\x04"
            assert kind is sniff_bytes(head), blob[:16]
    n_real = len(_blobs()) - 22
    assert all(k is not None for k in kinds[:n_real])
    assert kinds[n_real] is None  # the disguised tar
    assert kinds[n_real + 1 : n_real + 6] == [None] * 5
    assert kinds[n_real + 6 : n_real + 10] == [MediaKind.UNKNOWN, MediaKind.AUDIO,
                                               MediaKind.IMAGE, MediaKind.SYMBOLIC]
    assert blob_kinds(data[:0], starts[:0], lengths[:0]) == []
