"""Each worker renders the home page and the newest public package's page once before it serves.

A process's first render of a page costs 10-15 ms more than the next (SQLAlchemy compiles each
query once per process, Jinja loads the templates), and every package page runs the same queries,
so one render warms them all: the first visitor after a restart waits no longer than the next one
(bench/web_pages.py). The requests go to the app itself, not through the server, so they are in
no access log and no request metric. A database that does not answer only leaves the worker cold.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.types import ASGIApp, Message

from packyard.services import catalog

if TYPE_CHECKING:
    from packyard.registry import Registry

log = logging.getLogger("packyard.web")


def warm_up_paths(registry: Registry) -> list[str]:
    if registry.settings.private:
        return []
    try:
        with registry.db.read() as session:
            newest = catalog.recent_versions(session, registry.readable_packages(None), limit=1)
    except Exception:  # the database is away: the worker starts cold
        log.debug("no warm-up: the database did not answer", exc_info=True)
        return ["/"]
    return ["/"] + [f"/packages/{quote(v.ecosystem)}/{quote(v.name)}" for v in newest]


async def warm_up(app: ASGIApp, paths: list[str]) -> None:
    for path in paths:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80),
        }

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            return None

        try:
            await app(scope, receive, send)
        except Exception:
            log.debug("warm-up of %s failed", path, exc_info=True)
