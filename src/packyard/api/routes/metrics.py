"""`GET /metrics`: the Prometheus text format, for an admin token (or anyone with PACKYARD_METRICS_PUBLIC=true)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from packyard.api.deps import RegistryDep, require_admin, require_identity
from packyard.errors import InsufficientStorage, NotFound, ServiceUnavailable
from packyard.observability import metrics
from packyard.registry import Registry

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def scrape(request: Request, registry: RegistryDep) -> Response:
    """Every worker's counts, whichever worker answers (others' at most a second old); see docs/observability.md."""
    settings = registry.settings
    if not settings.metrics:
        raise NotFound("Metrics are off on this server (PACKYARD_METRICS=false).")
    if not settings.metrics_public:
        require_admin(await run_in_threadpool(require_identity, request, registry))
    own = metrics.RECORDER.totals()  # on the event loop, which alone changes the request counters
    body = await run_in_threadpool(_render, registry, own)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"})


def _render(registry: Registry, own: metrics.Totals) -> bytes:
    merged = metrics.gather(own, registry.settings.metrics_dir)
    gauges = {}
    for ecosystem in registry.adapters:
        try:
            gauges[("packyard_journal_serial", (ecosystem,))] = float(registry.serial(ecosystem))
        except (ServiceUnavailable, InsufficientStorage):  # the database is down: the rest still helps
            pass
    return metrics.render(merged, gauges)
