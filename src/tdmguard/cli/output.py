"""Rendering for the CLI: JSON on stdout for ``--json``, rich tables for people, errors on
stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["cell_text", "console", "err_console", "print_json", "print_json_line",
           "print_table"]

console = Console()
err_console = Console(stderr=True)


def _default(obj: Any) -> Any:
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    return str(obj)


def print_json(data: Any) -> None:
    """One JSON document on stdout (not through rich: it must stay machine-readable)."""
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def print_json_line(data: Any) -> None:
    """One JSON object per line (JSON Lines) on stdout."""
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


_CONTROL = dict.fromkeys([*range(0x20), 0x7F], " ")


def cell_text(value: Any) -> Text:
    """A table cell: lists joined, control characters (from a title, a file name) made
    spaces, and never read as rich markup (a title may contain ``[bold]``)."""
    if value is None:
        return Text("")
    if isinstance(value, list | tuple | set | frozenset):
        value = ", ".join(str(v) for v in value)
    return Text(str(value).translate(_CONTROL))


def print_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]
) -> None:
    """Columns wrap to the terminal's width; a long code folds rather than being cut."""
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        values = [row.get(c, "") for c in columns] if isinstance(row, Mapping) else list(row)
        table.add_row(*(cell_text(v) for v in values))
    console.print(table)
