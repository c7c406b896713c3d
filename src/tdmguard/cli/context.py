"""Settings for a command, built once by the root callback from flags and environment."""

from __future__ import annotations

import typer

from tdmguard.config import Settings

__all__ = ["settings_from"]


def settings_from(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):
        obj = Settings.load()
    return obj
