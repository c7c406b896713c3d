"""C2PA writing: ``stamp`` with a signed manifest (``cawg.training-mining``) on the corpus
files, read back by tdmguard's own reader; signed by a test CA made here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("c2pa")
pytest.importorskip("mutagen")

from tdmguard.declare.c2pa_sign import (
    load_c2pa_credentials,
    sign_c2pa,
    training_mining_entries,
)
from tdmguard.declare.stamp import C2paStamp, StampFields, stamp_file
from tdmguard.errors import InputError, MediaError
from tdmguard.signals.metadata.c2pa_manifest import read_c2pa
from tdmguard.vocab import Stance, Use, covered_uses
from tests.declare.c2pa_test_ca import C2paTestCA, make_test_ca
from tests.declare.examples import CORPUS, example_declaration

FORMATS = [
    "coffee-small.jpg",
    "chelsea-small.png",
    "awakening-excerpt.mp3",
    "awakening-excerpt.wav",
    "awakening-excerpt.m4a",
    "awakening-excerpt.flac",
]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> C2paTestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


def _fields(uses: frozenset[Use]) -> StampFields:
    base = StampFields.from_declaration(example_declaration())
    return StampFields(**{**{f: getattr(base, f) for f in base.__slots__},  # type: ignore[attr-defined]
                          "reserved_uses": uses})


def _denied(path: Path, anchors: bytes | None) -> tuple[dict[Use, Stance], tuple[str, ...]]:
    verdicts, problems = read_c2pa(path, trust_anchors_pem=anchors)
    stances: dict[Use, Stance] = {}
    for v in verdicts:
        stances.update(v.stances)
    return stances, problems


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA"))


def _samples(path: Path) -> np.ndarray:
    if path.suffix == ".m4a":
        av = pytest.importorskip("av")
        with av.open(str(path)) as box:
            return np.concatenate([f.to_ndarray().ravel() for f in box.decode(audio=0)])
    import soundfile

    data, _ = soundfile.read(str(path), dtype="float32")
    return np.asarray(data)


@pytest.mark.parametrize("name", FORMATS)
def test_trusted_manifest_reads_back_as_deny_for_exactly_the_reserved_uses(
    name: str, ca: C2paTestCA, tmp_path: Path
) -> None:
    target = tmp_path / name
    shutil.copyfile(CORPUS / name, target)
    reserved = frozenset({Use.AI_TRAIN})
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    result = stamp_file(target, _fields(reserved), c2pa=C2paStamp(creds, legacy_label=True))
    assert "c2pa:cawg.training-mining" in result.fields
    assert "c2pa:c2pa.training-mining" in result.fields
    stances, problems = _denied(target, ca.root_pem)
    assert {u for u, s in stances.items() if s is Stance.DENY} == covered_uses(reserved)
    assert not any("not verified" in p for p in problems), problems
    # The decoded media are unchanged by the tags and the manifest.
    if name.endswith((".jpg", ".png")):
        assert np.array_equal(_pixels(target), _pixels(CORPUS / name))
    else:
        assert np.array_equal(_samples(target), _samples(CORPUS / name))


def test_untrusted_signer_keeps_the_restriction_and_says_unverified(
    ca: C2paTestCA, tmp_path: Path
) -> None:
    target = tmp_path / "a.png"
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    sign_c2pa(CORPUS / "chelsea-small.png", target, {Use.TDM}, creds)
    other = make_test_ca(tmp_path / "other", "someone else")
    for anchors in (None, other.root_pem):
        stances, problems = _denied(target, anchors)
        assert stances == {u: Stance.DENY for u in Use}
        assert any("not verified" in p for p in problems)


def test_tampered_file_fails_validation_but_still_denies(ca: C2paTestCA, tmp_path: Path) -> None:
    target = tmp_path / "a.wav"
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    sign_c2pa(CORPUS / "awakening-excerpt.wav", target, {Use.GENAI_TRAIN}, creds)
    data = bytearray(target.read_bytes())
    data[len(data) // 4] ^= 0xFF  # a sample in the data chunk (the manifest is at the end)
    target.write_bytes(bytes(data))
    stances, problems = _denied(target, ca.root_pem)
    assert stances == {Use.GENAI_TRAIN: Stance.DENY}
    assert any("not verified" in p and "mismatch" in p.lower() for p in problems), problems


@pytest.mark.parametrize("name", ["awakening-excerpt.ogg", "awakening-excerpt.opus",
                                  "awakening-excerpt.aiff"])
def test_files_without_room_for_a_manifest_are_refused_unchanged(
    name: str, ca: C2paTestCA, tmp_path: Path
) -> None:
    target = tmp_path / name
    shutil.copyfile(CORPUS / name, target)
    before = target.read_bytes()
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    with pytest.raises(MediaError, match="no room for a C2PA manifest"):
        stamp_file(target, _fields(frozenset({Use.TDM})), c2pa=C2paStamp(creds))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_corrupt_container_is_a_media_error(ca: C2paTestCA, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    with pytest.raises(MediaError, match=r"bad\.jpg"):
        sign_c2pa(bad, tmp_path / "out.jpg", {Use.TDM}, creds)
    assert not (tmp_path / "out.jpg").exists()


def test_entries_and_credentials_checks(ca: C2paTestCA, tmp_path: Path) -> None:
    entries, notes = training_mining_entries({Use.AI_TRAIN})
    assert entries == {
        "cawg.ai_training": {"use": "notAllowed"},
        "cawg.ai_generative_training": {"use": "notAllowed"},
    }
    assert not notes
    _, notes = training_mining_entries({Use.SEARCH})
    assert "search" in notes[0]
    other = make_test_ca(tmp_path / "o", "other")
    with pytest.raises(InputError, match="does not belong"):
        load_c2pa_credentials(ca.cert_path, other.key_path)
    with pytest.raises(InputError, match="PEM certificate"):
        load_c2pa_credentials(ca.key_path, ca.key_path)


def test_a_file_already_carrying_a_manifest_gets_a_new_active_one(
    ca: C2paTestCA, tmp_path: Path
) -> None:
    # The corpus file was signed by another (untrusted) CA with ai_generative_training and
    # data_mining restricted; the new active manifest is the holder's, the old one becomes
    # its parent ingredient.
    target = tmp_path / "signed-before.jpg"
    shutil.copyfile(CORPUS / "coffee-c2pa-cawg.jpg", target)
    creds = load_c2pa_credentials(ca.cert_path, ca.key_path)
    stamp_file(target, _fields(frozenset({Use.AI_INPUT})), c2pa=C2paStamp(creds))
    stances, problems = _denied(target, ca.root_pem)
    assert stances == {Use.AI_INPUT: Stance.DENY}
    assert any("non-active manifest" in p for p in problems)
