"""ISCC codes: equal to the ISCC project's reference pipeline (iscc-sdk 0.9.7, recorded in
iscc_reference.json by make_iscc_reference.py) on the project's own sample files
(iscc-samples), unit by unit; Meta-Code against iscc-core's conformance vectors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("iscc_core")
iscc_samples = pytest.importorskip("iscc_samples")

from tdmguard.errors import InputError, MediaError  # noqa: E402
from tdmguard.fingerprint.iscc_code import (  # noqa: E402
    ContentKind,
    compute_iscc,
    content_distance,
    content_unit,
    image_pixels,
    meta_code,
    parse_iscc,
)

REFERENCE = json.loads(Path(__file__).with_name("iscc_reference.json").read_text())["files"]
SAMPLES = Path(iscc_samples.__file__).parent / "files"
FPCALC = shutil.which("fpcalc")


def _need_fpcalc() -> None:
    if FPCALC is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install fpcalc (apt-get install libchromaprint-tools)")
        pytest.skip("fpcalc not installed (apt-get install libchromaprint-tools)")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_codes_equal_the_reference_pipeline(name: str) -> None:
    if name.startswith("audio/"):
        _need_fpcalc()
    got = compute_iscc(SAMPLES / name)
    want = REFERENCE[name]
    assert (got.content, got.data, got.instance) == (
        want["content"], want["data"], want["instance"]
    )
    assert got.content_kind is ContentKind(name.split("/")[0])
    assert not got.notes
    # The composite holds exactly these units (Meta-Code absent without a title).
    assert set(parse_iscc(got.iscc)) == {want["content"], want["data"], want["instance"]}


def test_live_reference_when_the_sdk_is_installed() -> None:
    idk = pytest.importorskip("iscc_sdk")
    for name in ("image/demo.png", "image/demo.jpg", "text/demo.txt"):
        ref = idk.code_content(str(SAMPLES / name), extract_meta=False, create_thumb=False)
        assert compute_iscc(SAMPLES / name).content == ref.iscc


def test_meta_code_matches_the_conformance_vectors() -> None:
    import iscc_core

    vectors = json.loads((Path(iscc_core.__file__).parent / "data.json").read_text())
    checked = 0
    for case in vectors["gen_meta_code_v0"].values():
        name, description, meta, bits = case["inputs"]
        if meta is not None or bits != 64 or not isinstance(description, str) or not name:
            continue
        artists = [description] if description else []
        assert meta_code(name, artists) == case["outputs"]["iscc"]
        checked += 1
    assert checked >= 2


def test_title_adds_a_meta_code_unit_and_artists_change_it() -> None:
    path = SAMPLES / "image/demo.png"
    plain = compute_iscc(path, title="Concentrated Cat")
    with_artists = compute_iscc(path, title="Concentrated Cat", artists=["A. Painter"])
    assert plain.meta and with_artists.meta and plain.meta != with_artists.meta
    assert plain.meta in parse_iscc(plain.iscc)
    assert plain.content == with_artists.content


def test_same_picture_in_other_formats_is_content_distance_zero() -> None:
    jpg = compute_iscc(SAMPLES / "image/demo.jpg").iscc
    gif = compute_iscc(SAMPLES / "image/demo.gif").iscc
    txt = compute_iscc(SAMPLES / "text/demo.txt").iscc
    assert content_distance(jpg, gif) == 0
    assert content_distance(jpg, txt) is None  # image vs text: not comparable


def test_resized_copy_is_near(tmp_path: Path) -> None:
    from PIL import Image

    with Image.open(SAMPLES / "image/demo.jpg") as img:
        img.convert("RGB").resize((img.width // 3, img.height // 3)).save(
            tmp_path / "small.jpg", quality=60
        )
        img.convert("RGB").rotate(90, expand=True).save(tmp_path / "turned.jpg")
    ref = compute_iscc(SAMPLES / "image/demo.jpg").iscc
    near = content_distance(ref, compute_iscc(tmp_path / "small.jpg").iscc)
    far = content_distance(ref, compute_iscc(tmp_path / "turned.jpg").iscc)
    assert near is not None and near <= 4
    assert far is not None and far > 12


def test_pixels_are_32_by_32_grey() -> None:
    pixels = image_pixels(SAMPLES / "image/demo.png")
    assert len(pixels) == 1024 and all(0 <= p <= 255 for p in pixels)


def test_too_short_audio_has_no_content_unit_and_says_so() -> None:
    _need_fpcalc()
    got = compute_iscc(SAMPLES / "audio/short.wav")
    assert got.content is None and "too short" in got.notes[0]
    assert content_unit(got.iscc) is None


def test_missing_fpcalc_is_a_note_not_a_failure(tmp_path: Path) -> None:
    got = compute_iscc(SAMPLES / "audio/demo.wav", fpcalc=None) if FPCALC is None else None
    if got is None:
        # Point the lookup at an empty PATH: the code is still made, without the audio unit.
        old = os.environ["PATH"]
        os.environ["PATH"] = str(tmp_path)
        try:
            got = compute_iscc(SAMPLES / "audio/demo.wav")
        finally:
            os.environ["PATH"] = old
    assert got.content is None and "fpcalc" in got.notes[0]
    assert got.data == REFERENCE["audio/demo.wav"]["data"]


def test_undecodable_media_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(MediaError, match=r"broken\.png"):
        compute_iscc(bad)
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(b"\x00" * 10)
    if FPCALC:
        with pytest.raises(MediaError, match=r"noise\.mp3"):
            compute_iscc(noise)


def test_parse_iscc_refuses_garbage() -> None:
    with pytest.raises(InputError, match="not a valid ISCC"):
        parse_iscc("ISCC:NOT-A-CODE")
    assert parse_iscc("EEA4GQZQTY6J5DTH") == ("ISCC:EEA4GQZQTY6J5DTH",)


def test_work_media_pick_the_primary_file_and_read_lrc_as_lyrics(tmp_path: Path) -> None:
    from tdmguard.fingerprint.iscc_code import iscc_for_media
    from tdmguard.vocab import Modality

    plain = (SAMPLES / "text/demo.txt").read_text(encoding="utf-8")
    lines = [ln for ln in plain.splitlines() if ln.strip()][:20]
    (tmp_path / "a.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lrc = "[ar:Someone]\n" + "".join(f"[00:{i:02d}.00]{ln}\n" for i, ln in enumerate(lines))
    (tmp_path / "a.lrc").write_text(lrc, encoding="utf-8")
    txt = iscc_for_media([(Modality.LYRICS, tmp_path / "a.txt")], title="T")
    timed = iscc_for_media([(Modality.LYRICS, tmp_path / "a.lrc")], title="T")
    assert txt and timed and txt.content == timed.content
    both = iscc_for_media(
        [(Modality.LYRICS, tmp_path / "a.txt"), (Modality.IMAGE, SAMPLES / "image/demo.png")],
        title="T",
    )
    assert both and both.content_kind is ContentKind.IMAGE
    assert iscc_for_media([(Modality.MELODY, tmp_path / "a.txt")], title="T") is None


def test_fast_content_digest_equals_iscc_core_decomposition() -> None:
    import iscc_core as ic

    from tdmguard.fingerprint.iscc_code import content_digest

    codes = [compute_iscc(SAMPLES / n, title="T").iscc for n in REFERENCE if "image" in n]
    codes += [REFERENCE[n]["content"] for n in REFERENCE]
    for code in codes:
        unit = ic.Code(content_unit(code))
        got = content_digest(code)
        assert got is not None
        assert got[0] == int(unit.subtype) and got[1] == unit.hash_uint and got[2] == 64
    assert content_digest(REFERENCE["image/demo.png"]["data"]) is None
    with pytest.raises(InputError):
        content_distance("ISCC:1!!!", "ISCC:1!!!")
