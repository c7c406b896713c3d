"""Issue #18: a lyric saved in another encoding is read, not skipped or mangled. The
reserved lyric is registered from UTF-8; copies in other encodings must match it, and the
encoding read is part of the result (``decode_bytes``, ``TextChunk.encoding``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdmguard.errors import MediaError
from tdmguard.fingerprint.lyrics import LyricsFingerprinter
from tdmguard.fingerprint.lyrics.reading import decode_bytes, iter_text_chunks
from tdmguard.index.hash_index import HashIndex, SegmentWriter

LYRICS = {
    # Western European: the reproduction (a reserved lyric saved as Windows-1252)
    "chanson": (
        "cp1252",
        "Où es-tu, mon cœur? J'écoute la pluie tomber sur les toits de la ville endormie,\n"
        "Le vent d'été souffle encore, et je rêve de tes yeux bleus comme la mer d'hiver.\n"
        "Quand la nuit tombe, mon âme s'élève vers toi, ô mon amour perdu à jamais.\n"
        "Les rues sont vides, les cafés fermés, et ton nom résonne dans le silence.\n",
    ),
    "romans": (
        "koi8_r",
        "Я помню чудное мгновенье: передо мной явилась ты,\n"
        "Как мимолетное виденье, как гений чистой красоты.\n"
        "В томленьях грусти безнадежной, в тревогах шумной суеты,\n"
        "Звучал мне долго голос нежный и снились милые черты.\n",
    ),
    "hoshi": (
        "shift_jis",
        "夜空に輝く星たちよ、私の声を聞いておくれ。\n"
        "君のことを思うたびに、胸が痛むんだ。\n"
        "明日もまた会えるといいな、この道の先で。\n"
        "風が吹いて、花が散って、季節が巡っても忘れない。\n",
    ),
}


@pytest.fixture(scope="module")
def engine() -> LyricsFingerprinter:
    return LyricsFingerprinter()


@pytest.fixture(scope="module")
def index(engine: LyricsFingerprinter, tmp_path_factory: pytest.TempPathFactory) -> HashIndex:
    folder = tmp_path_factory.mktemp("idx") / "lyrics"
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = SegmentWriter(engine.aux_width)
    for work_id, (_enc, text) in LYRICS.items():
        fp = engine.extract_text(text, where=work_id)
        writer.add(work_id, fp.keys, fp.aux, fp.meta)
    HashIndex.append_segment(folder, writer)
    return HashIndex.open(folder)


def _encodings(native: str) -> list[str]:
    return [native, "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32-le"]


@pytest.mark.parametrize(
    ("work_id", "encoding"),
    [(w, e) for w, (native, _t) in LYRICS.items() for e in _encodings(native)],
)
def test_a_lyric_in_any_encoding_matches(
    engine: LyricsFingerprinter, index: HashIndex, tmp_path: Path, work_id: str, encoding: str
) -> None:
    text = LYRICS[work_id][1]
    path = tmp_path / f"{work_id}.txt"
    path.write_bytes(text.encode(encoding))
    # whole-file reading (registration, identify) and streamed matching (scans)
    fp = engine.extract(path)
    assert "decode_errors" not in fp.meta
    found = engine.match_file(path, index)
    assert [m.work_id for m in found] == [work_id], (encoding, found)
    chunks = list(iter_text_chunks(path, chunk_chars=100_000, overlap_chars=100))
    decoded, recorded = decode_bytes(path.read_bytes(), where=str(path))
    assert chunks[0].encoding == recorded
    assert decoded.replace("\ufeff", "") == text
    assert fp.meta["encoding"] == recorded


def test_binary_data_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(MediaError, match="binary"):
        decode_bytes(path.read_bytes(), where=str(path))
    # a regular NUL pattern that does not decode to text is not UTF-16
    path.write_bytes(b"\x01\x00\x02\x00\x03\x00\x04\x00" * 512)
    with pytest.raises(MediaError, match="binary"):
        list(iter_text_chunks(path, chunk_chars=1000, overlap_chars=10))


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_decode_never_raises_but_media_error(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data, where="fuzz")
    except MediaError:
        return
    assert isinstance(text, str) and encoding
