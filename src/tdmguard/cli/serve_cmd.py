"""``tdmguard serve``: the registry as an HTTP service (FastAPI on uvicorn).

The registry is created or migrated here, once, before any worker starts; each worker then
builds the app from the environment (``tdmguard.server.app:create_app``), which this
command sets from its own settings, so ``--db`` and ``--index`` reach every worker."""

from __future__ import annotations

import os
import secrets
import tempfile
from typing import Annotated

import typer

from tdmguard.cli.context import settings_from
from tdmguard.config import ServerSettings
from tdmguard.errors import MissingExtraError

__all__ = ["register"]


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes.")
    ] = 1,
    log_level: Annotated[
        str, typer.Option("--log-level", help="critical, error, warning, info or debug.")
    ] = "info",
) -> None:
    """Serve the registry API (/v1, docs at /docs) with API keys (`tdmguard apikey`).
    Settings come from the environment, as for every command (TDMGUARD_DB, TDMGUARD_INDEX,
    TDMGUARD_MAX_UPLOAD_MB, TDMGUARD_MAX_CHECK_URLS, TDMGUARD_CHECK_PRIVATE_HOSTS)."""
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise MissingExtraError(exc.name or "uvicorn", "server") from exc
    from tdmguard.registry.service import RegistryService

    settings = settings_from(ctx)
    ServerSettings.load()  # a bad setting fails here, in one line, not in every worker
    RegistryService.open(settings, create=True).close()
    os.environ["TDMGUARD_DB"] = settings.db_url
    os.environ["TDMGUARD_INDEX"] = str(settings.index_dir)
    if workers > 1 and not os.environ.get("TDMGUARD_WEB_SECRET"):
        # One secret for every worker, or a web session would only be valid on the worker
        # that signed it in (each makes a random one of its own otherwise).
        os.environ["TDMGUARD_WEB_SECRET"] = secrets.token_urlsafe(32)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tdmguard-metrics-")
    uvicorn.run(
        "tdmguard.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        # a worker imports numpy, SQLAlchemy and the engines before it answers uvicorn's
        # health check: on a loaded machine that takes longer than uvicorn's 5 s default
        timeout_worker_healthcheck=120,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
