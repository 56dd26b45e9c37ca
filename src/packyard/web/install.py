"""Adds the web interface's routes to the app."""

from __future__ import annotations

from fastapi import FastAPI

from packyard.web.routes import account, admin, browse, manage


def install_web(api: FastAPI) -> None:
    for router in (browse.router, account.router, manage.router, admin.router):
        api.include_router(router)
