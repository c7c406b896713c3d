"""Issue #18, bounded per item: absurd parameters are refused before decoding, FIFOs never
block, and catalogue import refuses paths outside its folder. Every hostile file is made
here, at test time, small."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from tdmguard.cli.app import main
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.declare import StampFields, stamp_file
from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.audio.decode import decode_mono
from tdmguard.fingerprint.lyrics.reading import iter_text_chunks
from tdmguard.fingerprint.melody.notes import MAX_MUSIC21_NOTES, read_note_lines
from tdmguard.registry.catalogue import parse_catalogue, read_catalogue
from tests.declare.examples import example_declaration

sf = pytest.importorskip("soundfile")


def _wav_with_rate(path: Path, rate: int, frames: int = 48_000) -> None:
    """A valid PCM WAV whose header declares ``rate`` (written by hand: libsndfile refuses
    to write absurd rates, which is the point)."""
    data = (np.sin(np.arange(frames) / 7.0) * 20000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("rate", [1, 100, 1_999, 10_000_000])
def test_absurd_sample_rates_are_refused_before_decoding(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "x.wav"
    _wav_with_rate(path, rate)  # 96 KB: the reproduction (1 Hz took 29 s and 5.2 GB)
    with pytest.raises(MediaError, match=r"sample rate .* refused before decoding"):
        decode_mono(path, rate_hz=8000, max_duration_s=3600)


def test_sane_rates_still_decode(tmp_path: Path) -> None:
    path = tmp_path / "ok.wav"
    _wav_with_rate(path, 8_000)
    decoded = decode_mono(path, rate_hz=8000, max_duration_s=3600)
    assert decoded.samples.shape[0] == 48_000


@pytest.mark.timeout(60)
def test_a_huge_kern_score_is_refused_before_music21_parses_it(tmp_path: Path) -> None:
    # no music21 import: the counts are checked before it is loaded
    path = tmp_path / "big.krn"
    notes = "\n".join(("4c", "4d", "4e", "4f")[i % 4] for i in range(MAX_MUSIC21_NOTES + 10))
    path.write_text(f"**kern\n*M4/4\n{notes}\n*-\n")
    with pytest.raises(MediaError, match="notes; at most"):
        read_note_lines(path)
    abc = tmp_path / "big.abc"
    abc.write_text("X:1\nT:t\nK:C\n" + "CDEF GABc|" * (MAX_MUSIC21_NOTES // 8 + 10) + "\n")
    with pytest.raises(MediaError, match="notes; at most"):
        read_note_lines(abc)
    xml = tmp_path / "big.musicxml"
    xml.write_text("<score-partwise>" + "<note/>" * (MAX_MUSIC21_NOTES + 1) + "</score-partwise>")
    with pytest.raises(MediaError, match="notes; at most"):
        read_note_lines(xml)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["song.wav", "score.krn", "score.mid", "lyrics.txt"])
def test_fifos_never_block_the_readers(tmp_path: Path, name: str) -> None:
    path = _fifo(tmp_path, name)
    with pytest.raises(MediaError, match="not a regular file"):
        if name.endswith(".wav"):
            decode_mono(path, rate_hz=8000, max_duration_s=10)
        elif name.endswith(".txt"):
            list(iter_text_chunks(path, chunk_chars=1000, overlap_chars=10))
        else:
            read_note_lines(path)


@pytest.mark.timeout(30)
def test_stamp_refuses_a_fifo(tmp_path: Path) -> None:
    path = _fifo(tmp_path, "cover.jpg")
    fields = StampFields.from_declaration(example_declaration())
    with pytest.raises(MediaError, match="not a regular file"):
        stamp_file(path, fields)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("TDMGUARD_INDEX", str(tmp_path / "index"))

    def _run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        return int(exit_info.value.code or 0), captured.out + captured.err

    return _run


@pytest.mark.timeout(60)
def test_identify_refuses_a_fifo_without_blocking(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("registry", "init")[0] == 0
    fifo = _fifo(tmp_path, "in.wav")
    # a writer that never writes: before the fix, open() waited for it forever
    code, out = run("identify", str(fifo), "--json")
    assert code != 0
    assert "not a regular file" in out


# -- catalogue ----------------------------------------------------------------------------


def _catalogue(folder: Path, media: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cat = folder / "cat.csv"
    cat.write_text(f"id,title,lyrics\nW1,Song,{media}\n")
    return cat


@pytest.mark.parametrize("media", ["../outside.txt", "/etc/passwd", "sub/../../outside.txt"])
def test_media_outside_the_catalogue_folder_is_refused(tmp_path: Path, media: str) -> None:
    (tmp_path / "outside.txt").write_text("la la la\n")
    cat = _catalogue(tmp_path / "cat", media)
    with pytest.raises(InputError, match="outside the catalogue's folder"):
        read_catalogue(cat)
    if Path(media.replace("../", "")).is_absolute() or (cat.parent / media).resolve().exists():
        rows = read_catalogue(cat, allow_outside_paths=True)
        assert rows[0].media[0][1] == (cat.parent / media).resolve()


def test_a_link_leading_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret\n")
    cat = _catalogue(tmp_path / "cat", "link.txt")
    (cat.parent / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(InputError, match="outside"):
        read_catalogue(cat)


def test_media_fifo_and_catalogue_fifo_do_not_block(tmp_path: Path) -> None:
    cat = _catalogue(tmp_path / "cat", "pipe.txt")
    os.mkfifo(cat.parent / "pipe.txt")
    with pytest.raises(InputError, match="not a regular file"):
        read_catalogue(cat)
    fifo_cat = _fifo(tmp_path, "cat2.csv")
    with pytest.raises(InputError, match="not a regular file"):
        read_catalogue(fifo_cat)


def test_control_characters_are_stripped_from_titles(tmp_path: Path) -> None:
    folder = tmp_path / "cat"
    folder.mkdir()
    (folder / "cat.jsonl").write_text(
        json.dumps(
            {"id": "W1", "title": "Evil\x1b[2J\x1b]0;pwned\x07 Song\r", "artists": ["A\x1bB"]}
        )
        + "\n"
    )
    (row,) = read_catalogue(folder / "cat.jsonl")
    assert row.work.title == "Evil[2J]0;pwned Song"
    assert list(row.work.artists) == ["AB"]


def test_duplicate_ids_are_found_in_one_pass(tmp_path: Path) -> None:
    folder = tmp_path / "cat"
    folder.mkdir()
    rows = "".join(f"W{i},Title {i}\n" for i in range(20_000)) + "W7,again\nW9,again\n"
    (folder / "cat.csv").write_text("id,title\n" + rows)
    with pytest.raises(InputError, match=r"duplicate id 'W7' \(first on line 9\) \(and 1 more"):
        read_catalogue(folder / "cat.csv")
    problems = parse_catalogue(folder / "cat.csv").problems
    assert [(p.line, p.id) for p in problems] == [(20_002, "W7"), (20_003, "W9")]


def test_import_cli_flag(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tdmguard.demo import demo_data_dir

    lyric = demo_data_dir() / "lyrics" / "jeanie_with_the_light_brown_hair.txt"
    cat = _catalogue(tmp_path / "cat", str(lyric))
    assert run("registry", "init")[0] == 0
    assert run("holder", "add", "H")[0] == 0
    code, out = run("work", "import", str(cat), "--holder", "H")
    assert code == ExitCode.INPUT and "outside the catalogue's folder" in out
    code, out = run("work", "import", str(cat), "--holder", "H", "--allow-outside-paths")
    assert code == 0, out
