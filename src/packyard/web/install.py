"""Adds the web interface's routes to the app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from packyard.web.pages import keep_compiled_templates
from packyard.web.routes import account, admin, browse, manage


def install_web(api: FastAPI, data_dir: Path) -> None:
    keep_compiled_templates(data_dir / "compiled-templates")
    for router in (browse.router, account.router, manage.router, admin.router):
        api.include_router(router)
