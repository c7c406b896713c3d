"""The ``tdmguard`` command: a thin edge that parses input, calls the library and renders.

Each command group lives in its own module with a ``register(app)`` function; adding a
command is one line in :data:`_MODULES`.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from tdmguard import __version__
from tdmguard.cli.exit_codes import ExitCode, exit_code_for
from tdmguard.cli.output import err_console
from tdmguard.config import Settings
from tdmguard.errors import TdmguardError

__all__ = ["app", "main"]

app = typer.Typer(
    name="tdmguard",
    help="Declare, publish, check and enforce TDM / AI-training opt-outs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules, each with register(app). Order is the order of `tdmguard --help`.
_MODULES = (
    "tdmguard.cli.registry_cmds",
    "tdmguard.cli.scan_cmd",
    "tdmguard.cli.identify_cmd",
    "tdmguard.cli.declare_cmd",
    "tdmguard.cli.check_cmd",
    "tdmguard.cli.demo_cmd",
    "tdmguard.cli.serve_cmd",
    "tdmguard.cli.apikey_cmd",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tdmguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Registry database: a SQLite file or a database URL "
            "(env TDMGUARD_DB; default ./tdmguard.db).",
        ),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(
            "--index",
            help="Fingerprint index folder (env TDMGUARD_INDEX; default: next to the SQLite file).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = Settings.load(db=db, index=str(index) if index else None)


for _name in _MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and maps every tdmguard error to its exit code, with a
    one-line message naming the file, line, field or URL (never a traceback). Usage errors
    are Typer's (exit 2, with the usage line)."""
    try:
        app(args=argv, standalone_mode=True)
    except TdmguardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.exit(int(exit_code_for(exc)))
    except OSError as exc:  # permissions, disk full, a folder where a file should be
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False)
        sys.exit(int(ExitCode.FILESYSTEM))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
