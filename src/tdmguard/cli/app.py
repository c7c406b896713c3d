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
import typer.main
from rich.text import Text
from typer.core import TyperCommand, TyperGroup, TyperOption

from tdmguard import __version__
from tdmguard.cli.exit_codes import ExitCode, exit_code_for
from tdmguard.cli.output import err_console
from tdmguard.config import Settings, sqlite_path
from tdmguard.errors import TdmguardError

__all__ = ["app", "cli_command", "main"]

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
    "tdmguard.cli.snapshot_cmds",
    "tdmguard.cli.scan_cmd",
    "tdmguard.cli.identify_cmd",
    "tdmguard.cli.declare_cmd",
    "tdmguard.cli.tdmai_cmds",
    "tdmguard.cli.check_cmd",
    "tdmguard.cli.demo_cmd",
    "tdmguard.cli.report_cmds",
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
            "(env TDMGUARD_DB; default: tdmguard.db in the user data folder, "
            "e.g. ~/.local/share/tdmguard).",
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
    settings = Settings.load(db=db, index=str(index) if index else None)
    default_file = sqlite_path(settings.db_url) if settings.db_is_default else None
    if default_file is not None and not default_file.exists() and not ctx.resilient_parsing:
        default_file.parent.mkdir(parents=True, exist_ok=True)
        err_console.print(f"note: no --db or TDMGUARD_DB given: the registry is {default_file}",
                          highlight=False, markup=False, soft_wrap=True)
    ctx.obj = settings


for _name in _MODULES:
    importlib.import_module(_name).register(app)

# `tdmguard --help` groups commands by who uses them; a command not listed goes to "Other".
_ROLES: dict[str, tuple[str, ...]] = {
    "Rights holders": ("holder", "work", "reserve", "reservation", "licence", "declare",
                       "stamp", "keys", "declaration", "apikey"),
    "AI developers and dataset builders": ("check", "scan", "decide", "report", "summary"),
    "Platforms": ("identify", "serve"),
    "Registry and index": ("registry", "index"),
    "Getting started": ("demo",),
}
_PANEL = {name: panel for panel, names in _ROLES.items() for name in names}


def _group_by_role() -> None:
    for cmd in app.registered_commands:
        name = cmd.name or (cmd.callback.__name__.replace("_", "-") if cmd.callback else "")
        cmd.rich_help_panel = _PANEL.get(name, "Other")
    for group in app.registered_groups:
        group.rich_help_panel = _PANEL.get(group.name or "", "Other")


_group_by_role()


def _flags_as_flags(command: TyperCommand | TyperGroup) -> None:
    """Typer prints a flag's type (``--json <bool>``); a flag takes no value, so show none."""
    for param in command.params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""
    # --help is made on first use from the context's names; make it now to set its metavar.
    help_opt = command.get_help_option(typer.Context(command, help_option_names=["--help"]))
    if help_opt is not None:
        help_opt.metavar = ""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, TyperCommand | TyperGroup):
                _flags_as_flags(sub)


def cli_command() -> TyperGroup:
    """The click command behind ``tdmguard`` (with flags shown as flags)."""
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    _flags_as_flags(command)
    return command


def _print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr, the message as it is: never read as rich markup (a path
    or field may hold brackets) and never folded at the terminal's width (a folded path
    cannot be copied back; the terminal wraps the line itself)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True,
                      highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and maps every tdmguard error to its exit code, with a
    one-line message naming the file, line, field or URL (never a traceback). Usage errors
    are Typer's (exit 2, with the usage line)."""
    try:
        cli_command().main(args=argv, standalone_mode=True, prog_name="tdmguard")
    except TdmguardError as exc:
        _print_error(str(exc))
        sys.exit(int(exit_code_for(exc)))
    except OSError as exc:  # permissions, disk full, a folder where a file should be
        where = f"{exc.filename}: " if exc.filename else ""
        _print_error(f"{where}{exc.strerror or exc}")
        sys.exit(int(ExitCode.FILESYSTEM))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(int(ExitCode.INTERRUPTED))
