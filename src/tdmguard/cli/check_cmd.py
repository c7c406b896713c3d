"""``tdmguard check URL... [--file urls.txt] [--agent TOKEN] [--use USE] [--json]``: every web
opt-out signal for the URLs, with evidence (docs/signals.md).

Also holds :func:`serve_demo_site`, which serves the demo's static site folder on 127.0.0.1
so ``tdmguard demo`` can check it (servers belong to the edges, not to ``signals``)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tdmguard.cli.output import console, err_console
from tdmguard.errors import InputError
from tdmguard.vocab import Stance, Use

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["DEMO_PATHS", "register", "serve_demo_site"]

# What `tdmguard demo` checks on the demo site (src/tdmguard/demo/data/web/): the home page
# (TDMRep meta, noai, RSL), a track page (agent-scoped noai, Content-Usage header, Link
# licence), the press kit (tdmrep.json 0 for /press/: disagreements) and a disallowed path.
DEMO_PATHS = ("/", "/music/track01.html", "/press/kit.txt", "/private/x")

_STYLE = {Stance.DENY: "bold red", Stance.ALLOW: "green", Stance.UNKNOWN: "dim"}
_PROGRESS_FROM = 20  # show a progress bar from this many URLs on


def _read_url_file(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the URL list: {exc}", where=str(path)) from exc
    # One URL per line; blank lines and lines starting with '#' are skipped.
    out: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not _is_url(s):
            raise InputError(
                f"not an http(s) URL with a host: {_shown(s)}", where=f"{path}:{number}"
            )
        out.append(s)
    return out


def _is_url(text: str) -> bool:
    from tdmguard.signals.fetch import origin_of

    return origin_of(text) is not None and not any(c.isspace() for c in text)


def _shown(text: str) -> str:
    """A value for one line of an error message: control characters escaped, cut short."""
    return ascii(text[:200])


def _write_json_line(data: object) -> None:
    """One JSON object per line, always valid UTF-8: a lone surrogate (a byte that was not
    UTF-8 in a robots.txt or a header, kept by ``surrogateescape``) is written as its
    ``\\udcXX`` JSON escape instead of failing or writing invalid bytes."""
    text = json.dumps(data, ensure_ascii=False) + "\n"
    sys.stdout.flush()  # what the text layer holds goes first
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()


def check(
    urls: Annotated[list[str] | None, typer.Argument(help="URLs to check.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file with one URL per line.")
    ] = None,
    agent: Annotated[
        str,
        typer.Option(
            "--agent",
            help="Product token of the crawler that would collect (GPTBot, CCBot, "
            "Google-Extended...); '*' = any crawler robots.txt does not name.",
        ),
    ] = "*",
    use: Annotated[
        Use | None,
        typer.Option("--use", help="Show this use only in the table and count denials for it."),
    ] = None,
    no_pages: Annotated[
        bool,
        typer.Option(
            "--no-pages",
            help="Read only the sites' files (robots.txt, tdmrep.json, ai.txt), not each URL.",
        ),
    ] = False,
    geo: Annotated[
        str | None,
        typer.Option("--geo", help="Where the trainer is (ISO country or EU), for RSL terms."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=1024, help="Requests in flight overall.")
    ] = 64,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per URL per line.")
    ] = False,
    allow_private_addresses: Annotated[
        bool,
        typer.Option(
            "--allow-private-addresses",
            help="Let redirects and licence links from public sites reach private, loopback "
            "and link-local addresses (refused by default: server-side request forgery).",
        ),
    ] = False,
) -> None:
    """Check URLs against every web opt-out signal (robots.txt and AI tokens, AIPREF,
    Content Signals, RSL, TDMRep, noai, ai.txt)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tdmguard.signals.check import check_urls
    from tdmguard.signals.fetch import FetchSettings

    url_list = list(urls or [])
    for url in url_list:
        if not _is_url(url):
            raise typer.BadParameter(
                f"{_shown(url)} is not an http(s) URL with a host", param_hint="URLS"
            )
    if file is not None:
        url_list += _read_url_file(file)
    if not url_list:
        raise InputError("give at least one URL, or --file", where="tdmguard check")
    settings = FetchSettings(
        max_concurrency=concurrency, allow_private_addresses=allow_private_addresses
    )

    progress: Progress | None = None
    on_result: Callable[[object], None] | None = None
    if len(url_list) >= _PROGRESS_FROM:
        progress = Progress(
            TextColumn("checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        task = progress.add_task("urls", total=len(url_list))

        def on_result(_: object) -> None:
            assert progress is not None
            progress.advance(task)

    if progress is not None:
        progress.start()
    try:
        results = check_urls(
            url_list,
            agent=agent,
            fetch_pages=not no_pages,
            geo=geo,
            settings=settings,
            on_result=on_result,
        )
    finally:
        if progress is not None:
            progress.stop()

    if as_json:
        for r in results:
            _write_json_line(r.to_json())
        return
    from rich.table import Table

    uses = [use] if use is not None else list(Use)
    table = Table(title=f"web opt-out signals for agent {agent!r}")
    table.add_column("url", overflow="fold")
    for u in uses:
        table.add_column(u.value)
    table.add_column("decided by", overflow="fold")
    for r in results:
        cells = [f"[{_STYLE[r.stances[u]]}]{r.stances[u].value}[/]" for u in uses]
        deciders = sorted(
            {v.source for v in r.verdicts for u in uses if v.stance(u) is not Stance.UNKNOWN}
        )
        table.add_row(r.url, *cells, ", ".join(deciders) or "-")
    console.print(table)
    for r in results:
        for d in r.disagreements:
            console.print(f"[yellow]disagreement[/] {r.url}: {d}", highlight=False)
    if use is not None:
        denied = sum(1 for r in results if r.stances[use] is Stance.DENY)
        console.print(f"{denied} of {len(results)} URLs deny {use.value}")


def register(app: typer.Typer) -> None:
    app.command("check")(check)


# -- demo site -------------------------------------------------------------------------


def serve_demo_site(folder: Path) -> tuple[str, Callable[[], None]]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a background thread and return the
    base URL and a function that stops the server.

    Files are served as they are; ``headers.json`` in the folder maps a URL path to extra
    response headers (``{"/song.mp3": {"X-Robots-Tag": "noai"}}``) and may set a
    ``Content-Type``; paths not in the folder answer 404."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    root = folder.resolve()
    headers_file = root / "headers.json"
    extra: dict[str, dict[str, str]] = {}
    if headers_file.is_file():
        try:
            extra = json.loads(headers_file.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the headers map: {exc}", where=str(headers_file)
            ) from exc
    types = {".txt": "text/plain", ".json": "application/json", ".html": "text/html",
             ".xml": "application/rsl+xml", ".mp3": "audio/mpeg", ".jpg": "image/jpeg",
             ".png": "image/png", ".flac": "audio/flac"}  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            target = (root / path.lstrip("/")).resolve()
            if path.endswith("/"):
                target = target / "index.html"
            if root not in target.parents or not target.is_file() or target == headers_file:
                self.send_error(404)
                return
            body = target.read_bytes()
            self.send_response(200)
            hdrs = {"Content-Type": types.get(target.suffix, "application/octet-stream")}
            hdrs.update(extra.get(path, {}))
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_address[1]}", stop
