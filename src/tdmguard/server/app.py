"""The FastAPI application: ``create_app()`` builds it from the environment (as the CLI's
settings: ``TDMGUARD_DB``, ``TDMGUARD_INDEX``...; see ``config.ServerSettings``).

Layout: ``routes/`` (one router per area, under ``/v1``), ``auth.py`` (the key dependency),
``errors.py`` (the one error shape and the error -> HTTP status table), ``metrics.py``,
``uploads.py``. Every route parses, calls one use case of
:class:`~tdmguard.registry.service.RegistryService` and renders.

Extending: a module listed in :data:`EXTENSIONS` is imported and its ``register(app)``
called, e.g. server-rendered web pages (``server/web/``) that use the same service on
``app.state.service`` and the same keys (``auth.current_actor``).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tdmguard import __version__
from tdmguard.config import ServerSettings
from tdmguard.registry.service import RegistryService
from tdmguard.server.errors import BodyLimitMiddleware, install_error_handlers
from tdmguard.server.metrics import install_metrics
from tdmguard.server.routes import matching, ops, registry, terms
from tdmguard.server.snapshot_routes import snapshot_router

__all__ = ["EXTENSIONS", "create_app"]

#: Modules with a ``register(app: FastAPI)`` function, called in order after the API routes.
EXTENSIONS: tuple[str, ...] = ("tdmguard.server.web",)


def create_app(
    settings: ServerSettings | None = None, *, service: RegistryService | None = None
) -> FastAPI:
    """The app over the registry of ``settings`` (default: from the environment). The
    registry must exist and be migrated (``tdmguard serve`` does that before starting)."""
    settings = settings or ServerSettings.load()
    service = service or RegistryService.open(settings.registry, create=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="tdmguard registry",
        version=__version__,
        summary="Rights holders' TDM / AI-training reservations, licences and fingerprints.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    install_metrics(app)  # added last, so outermost: 413s are counted too
    for router in (ops.router, registry.router, terms.router, matching.router):
        app.include_router(router)
    if settings.snapshots_dir is not None:  # signed, public: served without a key
        app.include_router(snapshot_router(settings.snapshots_dir))
    for name in EXTENSIONS:
        importlib.import_module(name).register(app)
    return app
