"""Ed25519 keys: round trip through files, tampering and wrong keys refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tdmguard.errors import InputError, IntegrityError
from tdmguard.signing import (
    generate_signing_key,
    load_public_key,
    load_signing_key,
    parse_public_key,
    save_signing_key,
)


def test_round_trip_through_files(tmp_path: Path) -> None:
    key = generate_signing_key()
    pub_path = save_signing_key(key, tmp_path / "holder.key")
    assert stat.S_IMODE((tmp_path / "holder.key").stat().st_mode) == 0o600
    loaded = load_signing_key(tmp_path / "holder.key")
    public = load_public_key(str(pub_path))
    assert public == key.public == loaded.public
    assert public.text.startswith("ed25519:") and len(public.key_id) == 16
    sig = loaded.sign(b"manifest")
    public.verify(b"manifest", sig)
    assert parse_public_key(public.text.removeprefix("ed25519:")) == public


def test_tampered_data_and_other_key_refused() -> None:
    key, other = generate_signing_key(), generate_signing_key()
    sig = key.sign(b"manifest")
    with pytest.raises(IntegrityError, match="bad signature"):
        key.public.verify(b"manifesT", sig, where="m.json")
    with pytest.raises(IntegrityError):
        other.public.verify(b"manifest", sig)
    with pytest.raises(IntegrityError, match="base64"):
        key.public.verify(b"manifest", "!!!")


def test_refuses_overwrite_and_bad_files(tmp_path: Path) -> None:
    key = generate_signing_key()
    save_signing_key(key, tmp_path / "k")
    with pytest.raises(InputError, match="refusing to overwrite"):
        save_signing_key(generate_signing_key(), tmp_path / "k")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(InputError, match="PEM"):
        load_signing_key(tmp_path / "bad.pem")
    with pytest.raises(InputError, match="32 bytes"):
        parse_public_key("ed25519:AAAA")
    with pytest.raises(InputError):
        load_public_key(str(tmp_path / "missing.pub"))
