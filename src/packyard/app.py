"""The app factory: the management API plus every installed adapter, mounted at /<ecosystem>."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from packyard import __version__
from packyard.api.errors import install_error_handlers
from packyard.api.routes import audit, health, packages, tokens
from packyard.config import Settings
from packyard.registry import Registry

log = logging.getLogger("packyard")


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    registry = registry or Registry(settings or Settings())
    if registry.settings.test_hooks:
        log.warning("PACKYARD_TEST_HOOKS=true: test-only endpoints are on (settable clock). Never run like this in production.")
    app = FastAPI(
        title="packyard",
        version=__version__,
        description="A self-hosted package registry for Python and Ruby packages. "
        "Management API; the wire protocols live under /pypi and /rubygems.",
    )
    app.state.registry = registry
    registry.resync_serials()
    install_error_handlers(app)
    for router in (health.router, tokens.router, packages.router, audit.router):
        app.include_router(router)
    for ecosystem, adapter in registry.adapters.items():
        app.mount(f"/{ecosystem}", adapter.create_app(registry))
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory for worker processes: settings come from the PACKYARD_* environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Settings())
