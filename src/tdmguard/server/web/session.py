"""The web session: an encrypted, authenticated cookie (AES-GCM) holding the API key the
person signed in with and the session's CSRF token. Every request re-authenticates the key
through the service, so a revoked key ends its sessions at once.

The cookie key comes from ``TDMGUARD_WEB_SECRET`` (any text; set the same value on every
worker of a deployment so sessions survive restarts and work across workers), or is random
per process (sessions then end when the server restarts).

CSRF: every form POST carries a ``csrf`` field. Signed in, it must equal the token bound to
the session; on the sign-in form (no session yet) it must equal a random token in a separate
``SameSite=Strict`` cookie (double submit)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Session",
    "SessionCodec",
    "same_token",
]

SESSION_COOKIE = "tdmguard_session"
PRE_COOKIE = "tdmguard_signin_csrf"
SESSION_SECONDS = 12 * 3600
_AAD = b"tdmguard-web-session-v1"


@dataclass(frozen=True, slots=True)
class Session:
    api_key: str
    csrf: str
    issued: int


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two non-empty tokens."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class SessionCodec:
    """Seals sessions into cookie values and opens them (None when forged, old or garbled)."""

    def __init__(self, secret: str | None = None) -> None:
        secret = secret if secret is not None else os.environ.get("TDMGUARD_WEB_SECRET")
        raw = secret.encode("utf-8") if secret else secrets.token_bytes(32)
        self._aead = AESGCM(hashlib.sha256(b"tdmguard-web\0" + raw).digest())

    def new(self, api_key: str) -> Session:
        return Session(api_key, secrets.token_urlsafe(32), int(time.time()))

    def seal(self, session: Session) -> str:
        body = json.dumps({"k": session.api_key, "c": session.csrf, "t": session.issued})
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, body.encode("utf-8"), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def open(self, value: str | None) -> Session | None:
        if not value or len(value) > 4096:
            return None
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            body = json.loads(self._aead.decrypt(blob[:12], blob[12:], _AAD))
            session = Session(str(body["k"]), str(body["c"]), int(body["t"]))
        except (InvalidTag, ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not 0 <= time.time() - session.issued <= SESSION_SECONDS:
            return None
        return session
