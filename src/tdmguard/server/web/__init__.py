"""Server-rendered web pages over the same service and the same API keys as ``/v1``.

``register(app)`` (listed in ``server.app.EXTENSIONS``) adds the pages at ``/`` and their
static files at ``/static``. Pages parse forms, call one
:class:`~tdmguard.registry.service.RegistryService` use case and render a Jinja2 template;
authorisation is the service's (a refused call renders the 403 page). See ``session.py`` for
the cookie and CSRF rules."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tdmguard.server.web.jobs import JobStore
from tdmguard.server.web.pages import router
from tdmguard.server.web.session import SessionCodec

__all__ = ["register"]


def register(app: FastAPI) -> None:
    if not os.environ.get("TDMGUARD_WEB_SECRET"):
        logging.getLogger("tdmguard.server").warning(
            "TDMGUARD_WEB_SECRET is not set: web sessions use a random key of this process "
            "(they end at a restart, and do not work across --workers)"
        )
    app.state.web_sessions = SessionCodec()
    app.state.web_jobs = JobStore.for_registry(app.state.settings.registry.db_url)
    app.include_router(router)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"
    )
