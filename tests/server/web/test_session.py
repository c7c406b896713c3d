"""The session cookie: sealed (AES-GCM), refused when tampered with, expired, or sealed with
another secret; the key is never readable in the cookie."""

from __future__ import annotations

import time

import pytest

from tdmguard.server.web import session as web_session
from tdmguard.server.web.session import Session, SessionCodec, same_token


def test_round_trip_and_key_not_in_clear() -> None:
    codec = SessionCodec("s3cret")
    s = codec.new("tdm_abc_SECRETKEY")
    value = codec.seal(s)
    assert "SECRETKEY" not in value and codec.open(value) == s
    assert SessionCodec("s3cret").open(value) == s  # same secret: another worker opens it
    assert SessionCodec("other").open(value) is None


def test_tampered_garbled_or_expired_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SessionCodec("s3cret")
    value = codec.seal(codec.new("k"))
    flipped = value[:20] + ("A" if value[20] != "A" else "B") + value[21:]
    for bad in (flipped, value[:-2], "", "!!!", "x" * 5000):
        assert codec.open(bad) is None
    old = Session("k", "c", int(time.time()) - web_session.SESSION_SECONDS - 5)
    assert codec.open(codec.seal(old)) is None


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDMGUARD_WEB_SECRET", "from-env")
    value = SessionCodec().seal(SessionCodec().new("k"))
    assert SessionCodec("from-env").open(value) is not None
    monkeypatch.delenv("TDMGUARD_WEB_SECRET")
    assert SessionCodec().open(value) is None  # random per process without it


def test_same_token() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd") and not same_token("", "") and not same_token(None, "a")
