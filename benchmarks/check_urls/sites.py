"""The benchmark's web: 200 origins (one port each on 127.0.0.1) with 50 URLs each, plus one
probe origin per signal channel for the detection table. Served by uvicorn with a plain
ASGI app (``python -m benchmarks.check_urls.sites PORTFILE N_ORIGINS N_PROBES``); the server
counts requests, read back from ``/__stats``."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

PAGES_PER_ORIGIN = 50
TEXT = [(b"content-type", b"text/plain")]
HTML = [(b"content-type", b"text/html; charset=utf-8")]
JSON = [(b"content-type", b"application/json")]
RSL_XML = (
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    b'<prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)
PAGE = (
    b"<!doctype html><html><head><title>t</title>%s</head><body>"
    + b"lorem ipsum " * 40
    + b"</body></html>"
)
MEDIA = b"\xff\xfb\x90\x00" * 1024  # 4 KiB of "MP3 frames"

# Probe origins: exactly one channel says "no AI training" (or nothing, for "none").
PROBES = (
    "robots.txt Disallow (GPTBot)",
    "robots.txt 5xx (complete disallow)",
    "AIPREF Content-Usage (robots.txt)",
    "AIPREF Content-Usage (header)",
    "Content-Signal (robots.txt)",
    "RSL License (robots.txt)",
    "RSL Link header, licence 404",
    "TDMRep tdmrep.json",
    "TDMRep header",
    "TDMRep HTML meta",
    "X-Robots-Tag: noai",
    "X-Robots-Tag: NoAI (case)",
    "X-Robots-Tag: noindex + noai (2 headers)",
    "meta robots noai",
    "ai.txt Disallow *.mp3",
    "none (control)",
)

Route = tuple[int, list[tuple[bytes, bytes]], bytes]


def origin_routes(i: int) -> dict[str, Route]:
    """Routes of bulk origin ``i``: site files vary with ``i % 10``, pages with ``j % 5``."""
    kind = i % 10
    robots = b"User-agent: *\nAllow: /\n"
    routes: dict[str, Route] = {}
    if kind == 0:
        robots = (
            b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n\n"
            b"User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n"
        )
    elif kind == 1:
        robots = b"License: /license.xml\nUser-agent: *\nContent-Usage: train-ai=n\nAllow: /\n"
        routes["/license.xml"] = (200, [(b"content-type", b"application/rsl+xml")], RSL_XML)
    elif kind == 2:
        routes["/.well-known/tdmrep.json"] = (200, JSON, b'[{"location":"/","tdm-reservation":1}]')
    elif kind == 5:
        robots = b"User-agent: *\nDisallow: /p/1\n"
    if kind == 3:
        routes["/ai.txt"] = (200, TEXT, b"User-Agent: *\nDisallow: *.mp3\n")
    elif kind == 4:
        routes["/robots.txt"] = (503, TEXT, b"busy")
    if "/robots.txt" not in routes and kind != 3:
        routes["/robots.txt"] = (200, TEXT, robots)
    for j in range(PAGES_PER_ORIGIN):
        routes.update([page_route(j)])
    return routes


def page_route(j: int) -> tuple[str, Route]:
    k = j % 5
    if k == 0:
        meta = b'<meta name="robots" content="noai"><meta name="tdm-reservation" content="1">'
        return f"/p/{j}.html", (200, HTML, PAGE % meta)
    if k == 1:
        return f"/p/{j}.mp3", (
            200,
            [(b"content-type", b"audio/mpeg"), (b"x-robots-tag", b"noai")],
            MEDIA,
        )
    if k == 2:
        return f"/p/{j}.jpg", (
            200,
            [(b"content-type", b"image/jpeg"), (b"tdm-reservation", b"1")],
            MEDIA,
        )
    if k == 3:
        return f"/p/{j}.txt", (200, [*TEXT, (b"content-usage", b"train-ai=n")], b"text " * 100)
    return f"/p/{j}.html", (200, HTML, PAGE % b"")


def bulk_urls(base_of: Callable[[int], str], n_origins: int) -> list[str]:
    """Every page of every bulk origin, interleaved across origins (as a dataset would be)."""
    paths = [page_route(j)[0] for j in range(PAGES_PER_ORIGIN)]
    return [base_of(i) + p for p in paths for i in range(n_origins)]


def probe_routes(name: str) -> tuple[str, dict[str, Route]]:
    """The probe URL path and the routes of the probe origin for channel ``name``."""
    ok_robots: Route = (200, TEXT, b"User-agent: *\nAllow: /\n")
    html: Route = (200, HTML, PAGE % b"")
    path = "/work.html"
    routes: dict[str, Route] = {"/robots.txt": ok_robots, path: html}
    if name.startswith("robots.txt Disallow"):
        routes["/robots.txt"] = (200, TEXT, b"User-agent: GPTBot\nDisallow: /\n")
    elif name.startswith("robots.txt 5xx"):
        routes["/robots.txt"] = (503, TEXT, b"")
    elif name == "AIPREF Content-Usage (robots.txt)":
        routes["/robots.txt"] = (200, TEXT, b"User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n")
    elif name == "AIPREF Content-Usage (header)":
        routes[path] = (200, [*HTML, (b"content-usage", b"train-ai=n")], PAGE % b"")
    elif name.startswith("Content-Signal"):
        routes["/robots.txt"] = (
            200,
            TEXT,
            b"User-agent: *\nContent-Signal: ai-train=no\nAllow: /\n",
        )
    elif name == "RSL License (robots.txt)":
        routes["/robots.txt"] = (200, TEXT, b"License: /license.xml\nUser-agent: *\nAllow: /\n")
        routes["/license.xml"] = (200, [(b"content-type", b"application/rsl+xml")], RSL_XML)
    elif name.startswith("RSL Link header"):
        link = b'</gone.xml>; rel="license"; type="application/rsl+xml"'
        routes[path] = (200, [*HTML, (b"link", link)], PAGE % b"")
    elif name == "TDMRep tdmrep.json":
        routes["/.well-known/tdmrep.json"] = (200, JSON, b'[{"location":"/","tdm-reservation":1}]')
    elif name == "TDMRep header":
        routes[path] = (200, [*HTML, (b"tdm-reservation", b"1")], PAGE % b"")
    elif name == "TDMRep HTML meta":
        routes[path] = (200, HTML, PAGE % b'<meta name="tdm-reservation" content="1">')
    elif name == "X-Robots-Tag: noai":
        routes[path] = (200, [*HTML, (b"x-robots-tag", b"noai")], PAGE % b"")
    elif name.startswith("X-Robots-Tag: NoAI"):
        routes[path] = (200, [*HTML, (b"x-robots-tag", b"NoAI")], PAGE % b"")
    elif name.startswith("X-Robots-Tag: noindex"):
        routes[path] = (
            200,
            [*HTML, (b"x-robots-tag", b"noindex"), (b"x-robots-tag", b"noai")],
            PAGE % b"",
        )
    elif name == "meta robots noai":
        routes[path] = (200, HTML, PAGE % b'<meta name="robots" content="noai">')
    elif name.startswith("ai.txt"):
        path = "/work.mp3"
        routes[path] = (200, [(b"content-type", b"audio/mpeg")], MEDIA)
        routes["/ai.txt"] = (200, TEXT, b"User-Agent: *\nDisallow: *.mp3\n")
    return path, routes


def make_app(tables: dict[int, dict[str, Route]]) -> Callable[..., Awaitable[None]]:
    counts = {"requests": 0}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/__stats":
            status, headers, body = 200, JSON, json.dumps(counts).encode()
        elif path == "/__reset":
            counts["requests"] = 0
            status, headers, body = 200, TEXT, b"ok"
        else:
            counts["requests"] += 1
            port = scope["server"][1]
            status, headers, body = tables.get(port, {}).get(path, (404, TEXT, b"not found"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    import uvicorn

    port_file, n_origins, n_probes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sockets: list[socket.socket] = []
    tables: dict[int, dict[str, Route]] = {}
    for index in range(n_origins + n_probes):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # loopback only
        sock.listen(1024)
        port = sock.getsockname()[1]
        tables[port] = (
            origin_routes(index)
            if index < n_origins
            else probe_routes(PROBES[index - n_origins])[1]
        )
        sockets.append(sock)
    fast = importlib.util.find_spec("httptools") and importlib.util.find_spec("uvloop")
    config = uvicorn.Config(
        make_app(tables),
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="httptools" if fast else "h11",
        loop="uvloop" if fast else "asyncio",
    )
    server = uvicorn.Server(config)

    print(f"benchmark server: uvicorn {config.http}/{config.loop}", file=sys.stderr)

    async def run() -> None:
        serve = asyncio.ensure_future(server.serve(sockets=sockets))
        while not server.started:
            await asyncio.sleep(0.05)
        ports = [s.getsockname()[1] for s in sockets]
        with open(port_file, "w") as f:
            json.dump({"ports": ports, "server": f"uvicorn {config.http}/{config.loop}"}, f)
        await serve

    asyncio.run(run())


if __name__ == "__main__":
    main()
