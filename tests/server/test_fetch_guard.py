"""The server's guard against fetching into its own network: URLs refused before any fetch,
and host names that resolve to a non-public address refused by the resolver (also through
``POST /v1/check``, where a name, unlike an address, passed the first check)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tdmguard.cli.check_cmd import serve_demo_site
from tdmguard.demo import demo_data_dir
from tdmguard.errors import InputError
from tdmguard.server.fetch_guard import public_only_resolver, refuse_private
from tests.server.conftest import Live


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.1.2.3/x", "http://[::1]/",
                                 "http://169.254.169.254/latest", "http://localhost:8080/",
                                 "http://db.internal/", "file:///etc/passwd", "http:///x"])
def test_refused_before_any_fetch(url: str) -> None:
    with pytest.raises(InputError):
        refuse_private(url)


def test_public_urls_pass_the_first_check() -> None:
    refuse_private("https://label.example/song.mp3")
    refuse_private("http://93.184.215.14/")


def _loopback_name() -> str:
    name = socket.gethostname()
    try:
        found = {i[4][0] for i in socket.getaddrinfo(name, 80)}
    except OSError:
        found = set()
    if not found or any(not a.startswith(("127.", "::1")) for a in found):
        pytest.skip("this machine's name does not resolve to loopback only")
    return name


def test_the_resolver_refuses_names_of_non_public_addresses() -> None:
    with pytest.raises(OSError, match="public addresses only"):
        asyncio.run(public_only_resolver("localhost", 80))
    with pytest.raises(OSError, match="loopback"):
        asyncio.run(public_only_resolver(_loopback_name(), 80))


def test_api_check_does_not_fetch_a_name_of_a_loopback_address(live: Live) -> None:
    name = _loopback_name()
    base, stop = serve_demo_site(demo_data_dir() / "web")
    try:
        port = base.rsplit(":", 1)[1]
        with live.client("reader") as reader:
            resp = reader.post("/v1/check", json={"urls": [f"http://{name}:{port}/private/x"],
                                                  "agent": "GPTBot"})
        assert resp.status_code == 200, resp.text
        (result,) = resp.json()
        text = str(result)
        assert "public addresses only" in text and "Content-Signal" not in text
    finally:
        stop()
