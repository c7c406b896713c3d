"""What the server fetches for whoever holds a key (``POST /v1/check``, the web app's URL
check): never its own network (server-side request forgery). A URL naming a local host or
a non-public address is refused before any fetch, and every host name is resolved through
:func:`public_only_resolver`, so a public name that resolves to a private address (or a
redirect to one) is refused too. ``TDMGUARD_CHECK_PRIVATE_HOSTS`` turns both off (tests,
intranets)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from tdmguard.errors import InputError
from tdmguard.signals.fetch import address_class

__all__ = ["public_only_resolver", "refuse_private"]


def refuse_private(url: str, *, where: str = "urls") -> None:
    """Refuse a URL that is not http(s), names a local host, or is a non-public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r}", where=where)
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise InputError(f"refusing to fetch a local host: {url!r}", where=where)
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return
    if not addr.is_global:
        raise InputError(f"refusing to fetch a non-public address: {url!r}", where=where)


async def public_only_resolver(host: str, port: int) -> Sequence[str]:
    """The host's addresses, or :class:`OSError` when any of them is not public (the
    fetcher then records the refusal as that resource's error)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in found:
        kind = address_class(address)
        if kind != "public":
            raise OSError(f"{host} resolves to a {kind} address ({address}): this server "
                          "fetches public addresses only")
    return found
