"""C2PA manifests carrying a CAWG training-and-data-mining assertion, signed with the holder's
X.509 certificate (optout-protocols.md §8.2; CAWG Training and Data Mining assertion 1.1).

The manifest holds ``c2pa.actions`` (the file was published: ``c2pa.published``) and
``cawg.training-mining`` with one ``notAllowed`` entry per reserved use; with
``legacy_label`` the same entries are also written under the C2PA 1.x label
``c2pa.training-mining`` (``c2pa.``-prefixed keys) for older readers. Uses the holder has not
reserved get no entry: no reservation is not a permission.

Entry keys (their reading in :mod:`tdmguard.vocab`): ``data_mining`` = ``tdm``,
``ai_training`` = ``ai-train``, ``ai_generative_training`` = ``genai-train``,
``ai_inference`` = ``ai-input``. CAWG has no entry for search indexing: a reservation of
``search`` alone cannot be written (a note says so); under a ``tdm`` reservation
``data_mining`` covers it.

Signing goes through c2pa-python (the ``c2pa`` extra). The certificate file holds the signer's
certificate followed by its chain (PEM); the key file the matching private key (PEM):
EC P-256 / P-384 / P-521 (ES256/384/512), Ed25519, or RSA (PS256).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tdmguard.errors import InputError, MediaError, MissingExtraError
from tdmguard.vocab import Use, covered_uses

__all__ = [
    "C2PA_SUFFIXES",
    "CAWG_ENTRIES",
    "C2paCredentials",
    "load_c2pa_credentials",
    "sign_c2pa",
    "training_mining_entries",
]

# Entry name -> the use it reserves (the inverse of vocab.CROSSWALK's "cawg" rows).
CAWG_ENTRIES: dict[str, Use] = {
    "data_mining": Use.TDM,
    "ai_training": Use.AI_TRAIN,
    "ai_generative_training": Use.GENAI_TRAIN,
    "ai_inference": Use.AI_INPUT,
}

# Containers c2pa-rs embeds manifests in, of those tdmguard stamps (checked before signing, so
# the error names the file's type rather than a c2pa-rs message).
C2PA_SUFFIXES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".flac": "audio/flac",
}

CLAIM_GENERATOR = "tdmguard"


@dataclass(frozen=True, slots=True)
class C2paCredentials:
    """A holder's C2PA signing material: the certificate chain (PEM, signer first) and key."""

    cert_chain_pem: bytes
    private_key_pem: bytes
    alg: str  # c2pa-rs algorithm name: es256, es384, es512, ed25519, ps256
    subject: str

    def __repr__(self) -> str:  # never print the key
        return f"C2paCredentials(alg={self.alg!r}, subject={self.subject!r})"


def _alg_for(key: Any, where: str) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        alg = curves.get(key.curve.name)
        if alg is None:
            raise InputError(f"EC curve {key.curve.name} is not allowed by C2PA", where=where)
        return alg
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise InputError("the key is not EC, Ed25519 or RSA", where=where)


def load_c2pa_credentials(cert: Path, key: Path) -> C2paCredentials:
    """Read and check a certificate chain and its private key (they must belong together)."""
    try:
        chain = cert.read_bytes()
        key_pem = key.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where=str(exc.filename)) from exc
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError as exc:
        raise InputError("not a PEM certificate chain", where=str(cert)) from exc
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError("not an unencrypted PEM private key", where=str(key)) from exc
    alg = _alg_for(private, str(key))
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if certs[0].public_key().public_bytes(enc, pub) != private.public_key().public_bytes(enc, pub):
        raise InputError("the key does not belong to the first certificate", where=str(key))
    return C2paCredentials(chain, key_pem, alg, certs[0].subject.rfc4514_string())


def training_mining_entries(
    reserved: Iterable[Use], prefix: str = "cawg"
) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    """``notAllowed`` entries for the reserved uses (each use's narrower uses included, so a
    reader that does not apply the hierarchy still sees every one), and notes."""
    covered = covered_uses(frozenset(reserved))
    entries = {
        f"{prefix}.{name}": {"use": "notAllowed"}
        for name, use in CAWG_ENTRIES.items()
        if use in covered
    }
    notes: tuple[str, ...] = ()
    if Use.SEARCH in covered and Use.TDM not in covered:
        notes = ("CAWG has no entry for search indexing; the search reservation is not in it",)
    return entries, notes


def _manifest(reserved: Iterable[Use], *, title: str, legacy_label: bool) -> dict[str, Any]:
    cawg, notes = training_mining_entries(reserved, "cawg")
    assertions: list[dict[str, Any]] = [
        {"label": "cawg.training-mining", "data": {"entries": cawg}},
    ]
    if legacy_label:
        legacy, _ = training_mining_entries(reserved, "c2pa")
        assertions.append({"label": "c2pa.training-mining", "data": {"entries": legacy}})
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": "1"}],
        "title": title,
        "assertions": assertions,
        "_notes": list(notes),
    }


def sign_c2pa(
    source: Path,
    dest: Path,
    reserved: Iterable[Use],
    creds: C2paCredentials,
    *,
    legacy_label: bool = False,
    where: str | None = None,
    suffix: str | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Write ``source`` with an embedded, signed manifest to ``dest`` (a new file).

    The manifest is added to the file; its media data is copied unchanged. Returns the
    assertion labels written and notes. :class:`MediaError` when the container has no place
    for a manifest or c2pa-rs cannot parse it."""
    where = where or str(source)
    reserved = frozenset(reserved)
    suffix = (suffix or source.suffix).lower()
    if suffix not in C2PA_SUFFIXES:
        raise MediaError(
            f"no room for a C2PA manifest in {suffix or 'suffix-less'} files"
            f" (C2PA embeds in {', '.join(sorted(set(C2PA_SUFFIXES)))})",
            where=where,
        )
    if not reserved:
        raise InputError("nothing reserved: no training-mining assertion to write", where=where)
    try:
        import c2pa
    except ImportError as exc:
        raise MissingExtraError("c2pa-python", "c2pa") from exc
    manifest = _manifest(reserved, title=source.name, legacy_label=legacy_label)
    notes = tuple(manifest.pop("_notes"))
    info = c2pa.C2paSignerInfo(
        alg=creds.alg.encode(),
        sign_cert=creds.cert_chain_pem,
        private_key=creds.private_key_pem,
        ta_url=None,
    )
    try:
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(json.dumps(manifest)) as b:
            # EDIT of an existing asset: c2pa-rs records the source as the parent ingredient
            # and adds the c2pa.opened action itself (UPDATE, meant for non-editorial
            # changes, fails in c2pa-python 0.38 with "ingredient file not found").
            b.set_intent(c2pa.C2paBuilderIntent.EDIT)
            mime = C2PA_SUFFIXES[suffix]
            with source.open("rb") as src, dest.open("w+b") as out:
                b.sign(signer, mime, src, out)
    except Exception as exc:  # c2pa.C2paError subclasses carry c2pa-rs's message
        dest.unlink(missing_ok=True)
        raise MediaError(f"cannot embed a C2PA manifest: {str(exc)[:300]}", where=where) from exc
    labels = tuple(a["label"] for a in manifest["assertions"])
    return labels, notes
