"""Ed25519 signing keys: a holder signs its registry snapshots and declarations with one,
developers pin its public key (published in the holder's declaration bundle).

Formats, chosen to be copied by hand into a config file or a web page:

- private key: PKCS#8 PEM, written with mode 0600;
- public key: the text ``ed25519:<base64url of the 32 raw bytes, unpadded>``, written beside
  the private key as ``KEYFILE.pub``; its key id is the first 16 hex digits of the SHA-256 of
  the raw bytes;
- signature: base64url of the 64 raw bytes, unpadded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from tdmguard.atomic import write_bytes_atomic
from tdmguard.errors import InputError, IntegrityError

__all__ = [
    "PublicKey",
    "SigningKey",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "parse_public_key",
    "save_signing_key",
]

_PREFIX = "ed25519:"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    text = text.strip()
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A pinned Ed25519 public key (32 raw bytes)."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def text(self) -> str:
        """``ed25519:<base64url>``: the form printed, published and pinned."""
        return _PREFIX + _b64e(self.raw)

    def verify(self, data: bytes, signature: str, *, where: str | None = None) -> None:
        """Raise :class:`IntegrityError` unless ``signature`` signs ``data`` with this key."""
        try:
            sig = _b64d(signature)
        except (binascii.Error, ValueError) as exc:
            raise IntegrityError("signature is not base64url", where=where) from exc
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, data)
        except InvalidSignature as exc:
            raise IntegrityError(
                f"bad signature (not made by key {self.key_id})", where=where
            ) from exc

    def to_json(self) -> dict[str, str]:
        return {"alg": "ed25519", "key_id": self.key_id, "public_key": self.text}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key. Never logged, never exported except to its own PEM file."""

    _private: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw)

    def sign(self, data: bytes) -> str:
        return _b64e(self._private.sign(data))


def generate_signing_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


def save_signing_key(key: SigningKey, path: Path) -> Path:
    """Write the private key (PEM, mode 0600) to ``path`` and the public key beside it
    (``path`` + ``.pub``); return the public key's path. Refuses to overwrite a key."""
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists():
            raise InputError("a key file already exists there; refusing to overwrite it",
                             where=str(p))
    pem = key._private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_bytes_atomic(path, pem, file_mode=0o600)
    write_bytes_atomic(pub_path, (key.public.text + "\n").encode("ascii"))
    return pub_path


def load_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"cannot read signing key: {reason}", where=str(path)) from exc
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError("not an unencrypted PEM private key", where=str(path)) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError("not an Ed25519 key", where=str(path))
    return SigningKey(private)


def parse_public_key(text: str, *, where: str | None = None) -> PublicKey:
    """Read ``ed25519:<base64url>`` (the prefix may be omitted)."""
    value = text.strip()
    if value.lower().startswith(_PREFIX):
        value = value[len(_PREFIX):]
    try:
        raw = _b64d(value)
    except (binascii.Error, ValueError) as exc:
        raise InputError("public key is not base64url", where=where) from exc
    if len(raw) != 32:
        raise InputError(f"an Ed25519 public key has 32 bytes, not {len(raw)}", where=where)
    return PublicKey(raw)


def load_public_key(value: str) -> PublicKey:
    """A public key given as text (``ed25519:...``) or as the path of a ``.pub`` file."""
    if value.strip().lower().startswith(_PREFIX):
        return parse_public_key(value, where="public key")
    path = Path(value)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("cannot read public key (give a .pub file or ed25519:...)",
                         where=value) from exc
    return parse_public_key(text, where=value)
