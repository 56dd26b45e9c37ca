"""Test-only endpoints for RubyGems' conformance suite; mounted only with `PACKYARD_TEST_HOOKS=true`.

- `POST /set_time` (body: an ISO-8601 time): the registry clock reads that time from now on. The
  time is kept in the database (`packyard.clock`), so every worker process sees it.
- `POST /rebuild_versions_list`: the same compaction as `packyard rubygems rebuild-index`, with
  `created_at` = the clock's now.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from packyard_rubygems.index import writer as index_writer

if TYPE_CHECKING:
    from packyard.registry import Registry


def routes(registry: Registry) -> list[Route]:
    async def set_time(request: Request) -> PlainTextResponse:
        raw = (await request.body()).decode("utf-8", "replace").strip()
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return PlainTextResponse(f"Send an ISO-8601 time such as 1990-01-01T00:00:00Z, not {raw!r}.", 400)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        await anyio.to_thread.run_sync(registry.clock.freeze_at, moment)
        return PlainTextResponse(f"Time set to {moment.astimezone(timezone.utc).isoformat()}")

    async def rebuild_versions_list(_request: Request) -> PlainTextResponse:
        await anyio.to_thread.run_sync(index_writer.rebuild_versions, registry)
        return PlainTextResponse("Rebuilt versions list")

    return [
        Route("/set_time", set_time, methods=["POST"]),
        Route("/rebuild_versions_list", rebuild_versions_list, methods=["POST"]),
    ]
