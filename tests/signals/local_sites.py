"""Real HTTP servers on 127.0.0.1 for the fetcher tests: one server per origin, each with
a route table, request log, slow and huge responses, and in-flight accounting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the headers
    drip_s: float = 0.0  # between 1 KiB chunks of the body


@dataclass
class Site:
    routes: dict[str, Route]
    log: list[tuple[str, str]] = field(default_factory=list)  # (path, user-agent)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def requests_for(self, path: str) -> int:
        return sum(1 for p, _ in self.log if p == path)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with site.lock:
                site.log.append((self.path, self.headers.get("User-Agent", "")))
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            try:
                route = site.routes.get(self.path.split("?")[0]) or Route(404, b"not found")
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.drip_s:
                    for i in range(0, len(route.body), 1024):
                        self.wfile.write(route.body[i : i + 1024])
                        self.wfile.flush()
                        time.sleep(route.drip_s)
                else:
                    self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with site.lock:
                    site.in_flight -= 1

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a scan's workers open a dozen connections
    # at once, and on a loaded machine the kernel then drops connects before the server
    # sees them (a fetch that never reached the site). Real servers listen with far more.
    request_queue_size = 128


@contextmanager
def serve(*sites: Site) -> Iterator[list[Site]]:
    servers = []
    try:
        for site in sites:
            server = _Server(("127.0.0.1", 0), _handler(site))
            server.daemon_threads = True
            site.base = f"http://127.0.0.1:{server.server_address[1]}"
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            servers.append(server)
        yield list(sites)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


TEXT = {"Content-Type": "text/plain"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
