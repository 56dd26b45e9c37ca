"""The app factory: the management API (FastAPI) plus every installed adapter at /<ecosystem>.

Adapters are dispatched to ahead of FastAPI's routing: their hot read paths serve cached bytes,
and a plain ASGI hop costs a fraction of a FastAPI route.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from packyard import __version__
from packyard.api.assets import install_assets
from packyard.api.docs import install_docs
from packyard.api.errors import install_error_handlers
from packyard.api.routes import audit, health, metrics, overview, packages, proxy, tokens
from packyard.config import Settings
from packyard.documents.redis_copies import RedisUnavailable
from packyard.errors import InsufficientStorage, ServiceUnavailable
from packyard.registry import Registry
from packyard.http import hot_reads
from packyard.http.supervisor import REPLACES_DEAD_WORKER
from packyard.http.request_guard import refuse_nul_url, url_has_nul
from packyard.observability.metrics import RECORDER
from packyard.observability.observer import observe
from packyard.observability.request_context import CURRENT, ECOSYSTEM
from packyard.web.install import install_web
from packyard.web.warm_up import warm_up, warm_up_paths

if TYPE_CHECKING:
    from packyard.documents.serial_feed import SerialFeed

log = logging.getLogger("packyard")


class EcosystemDispatch:
    """`/<ecosystem>/...` goes straight to that adapter's app (with root_path set as a mount would);
    everything else, lifespan included, to the management API. A URL with a NUL byte is refused first.

    The scope is changed in place, as Starlette's router does, so that what the request notes in it
    (`observability/request_context.py`) reaches the observer, which holds the scope uvicorn made."""

    def __init__(self, api: FastAPI, adapters: dict[str, ASGIApp], *, notes_users: bool):
        self.api = api
        self.adapters = adapters
        self.notes_users = notes_users  # the access log's `user`

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.notes_users:
                CURRENT.set(scope)  # in this request's own task context
            if url_has_nul(scope):
                await refuse_nul_url(send)
                return
            path: str = scope["path"]
            prefix = path[1:].split("/", 1)[0]
            adapter = self.adapters.get(prefix)
            if adapter is not None:
                scope[ECOSYSTEM] = prefix
                scope["root_path"] = scope.get("root_path", "") + "/" + prefix
                await adapter(scope, receive, send)
                return
        await self.api(scope, receive, send)


# A publish's Python work (SQLAlchemy, rendering) runs in a worker thread beside the event loop
# that serves reads. Each time the loop releases the GIL (every socket send, every select) it then
# waits for that thread to hand it back: up to the switch interval, 5 ms by default, so a read
# answered among dozens queued on the loop waited hundreds of ms while a publish ran. 1 ms bounds
# that wait at a small cost in the publish thread's throughput (bench/README.md, issue #9).
GIL_SWITCH_SECONDS = 0.001

# The garbage collector's full collections walk every container object, ~150,000 of them in a
# worker once the app is imported (~24 ms each here), and a worker filling its memo after a start
# (10,000 project pages) triggers several: the first walk over a large registry had a p99 of 15-27
# ms against 2-4 ms once warm. So the objects of start-up, which live as long as the process, are
# frozen out of collections, and young objects are collected every 50,000 allocations instead of
# 700 (bench/README.md, issue #9).
GC_THRESHOLDS = (50_000, 20, 100)

# How long a starting worker waits for its serial feed before it serves without the hot documents
# in memory: the feed's first try connects within 1 s or fails, then re-reads the serials from
# the database, which a busy one may take seconds to answer.
HOT_LOAD_WAIT_SECONDS = 10.0


async def _load_hot_documents(registry: Registry, feed: SerialFeed | None) -> None:
    """The pages clients walk, from their files or from Redis into this worker's memo before it
    serves (`DocumentStore.load_hot`). A worker whose serial feed is not live within
    `HOT_LOAD_WAIT_SECONDS`, or whose database, disk or Redis fails meanwhile, starts without them."""
    hot = {eco: adapter.hot_documents for eco, adapter in registry.adapters.items() if adapter.hot_documents}
    aggregates = {eco: adapter.hot_aggregates for eco, adapter in registry.adapters.items()}
    if not hot or (feed is not None and not await feed.wait_live(HOT_LOAD_WAIT_SECONDS)):
        return
    started = time.perf_counter()
    try:
        loaded = await asyncio.to_thread(registry.documents.load_hot, hot, aggregates)
    except (ServiceUnavailable, InsufficientStorage, RedisUnavailable, OSError) as exc:  # an outage: no traceback
        log.warning("could not load the hot documents (%s: %s); each is read on its first request", type(exc).__name__, exc)
        return
    except Exception:
        log.warning("could not load the hot documents; each is read on its first request", exc_info=True)
        return
    log.info("loaded %d hot documents into memory in %.0f ms", loaded, (time.perf_counter() - started) * 1000)


def _lifespan(registry: Registry):
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        """Each worker renders a page or two before it serves (web/warm_up.py), follows serial
        changes pushed over Redis (serial_feed.py), if configured, and then loads the pages clients
        walk into its memo (`_load_hot_documents`), writes its metrics for the other workers'
        scrapes (metrics.py), hands the GIL round more often (`GIL_SWITCH_SECONDS`) and keeps
        garbage collection short (`GC_THRESHOLDS`)."""
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        await warm_up(api, await asyncio.to_thread(warm_up_paths, registry))
        feed = registry.serials.feed
        if feed is not None:
            feed.start()
        await _load_hot_documents(registry, feed)
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        if registry.settings.metrics:
            RECORDER.start_flushing(registry.settings.metrics_dir, registry.settings.metrics_flush_seconds)
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()

    return lifespan


def create_api(registry: Registry) -> FastAPI:
    api = FastAPI(
        lifespan=_lifespan(registry),
        title="packyard",
        version=__version__,
        description="A self-hosted package registry for Python and Ruby packages. "
        "Management API; the wire protocols live under "
        + ", ".join(f"/{eco}" for eco in registry.adapters)
        + ".",
        docs_url=None,  # install_docs serves /docs and /redoc from packyard, without any CDN
        redoc_url=None,
    )
    api.state.registry = registry
    install_error_handlers(api)
    install_assets(api)
    install_docs(api)
    for router in (health.router, tokens.router, packages.router, audit.router, metrics.router, overview.router, proxy.router):
        api.include_router(router)
    install_web(api, registry.settings.data_dir)
    _build_included_routes(api)
    return api


def _build_included_routes(api: FastAPI) -> None:
    """FastAPI builds the routes of an included router (each one's dependency analysis and pydantic
    adapters) when a request is first matched against them: a worker's first page paid ~30 ms for
    it (bench/web_pages.py). Build them here, once, before the worker serves. A FastAPI that builds
    them eagerly has no `effective_candidates`, and this does nothing."""
    pending = list(api.router.routes)
    while pending:
        route = pending.pop()
        build = getattr(route, "effective_candidates", None)
        if build is not None:
            pending.extend(build())
            route.effective_low_priority_routes()


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> ASGIApp:
    registry = registry or Registry(settings or Settings())
    if registry.settings.test_hooks:
        log.warning("PACKYARD_TEST_HOOKS=true: test-only endpoints are on (settable clock). Never run like this in production.")
    registry.resync_serials(announce=os.environ.get(REPLACES_DEAD_WORKER) == "1")
    adapters = {ecosystem: adapter.create_app(registry) for ecosystem, adapter in registry.adapters.items()}
    offers = {ecosystem: registry.adapters[ecosystem].hot_reads(app) for ecosystem, app in adapters.items()}
    watching = observe(registry)
    if watching is not None and watching.access_log_on:  # its line wants what the app notes: every request goes there
        hot_reads.install({}, None)
    else:
        hot_reads.install({ecosystem: offer for ecosystem, offer in offers.items() if offer is not None},
                          watching.recorder if watching is not None else None)
    return EcosystemDispatch(create_api(registry), adapters, notes_users=registry.settings.access_log == "json")


def create_app_from_env() -> ASGIApp:
    """uvicorn factory for worker processes: settings come from the PACKYARD_* environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Settings())
