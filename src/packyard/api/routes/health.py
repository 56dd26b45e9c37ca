"""Liveness and readiness probes.

`/readyz` answers 503 when the database or the blob storage cannot be reached. A full disk and a
down Redis are reported under "degraded" but never make it unready: reads are still served (and,
without Redis, writes too), so taking every instance out of a load balancer would turn them into
a full outage.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from packyard.api.deps import RegistryDep
from packyard.resilience.faults import disk_fault

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(registry: RegistryDep) -> JSONResponse:
    problems, degraded = _failures({"database": registry.db.check, "storage": registry.storage.check})
    if registry.redis is not None:
        degraded.update(_failures({"redis": registry.redis.check})[0])
    body: dict = {"status": "unavailable" if problems else "ready"}
    if problems:
        body["problems"] = problems
    if degraded:
        body["degraded"] = degraded
    return JSONResponse(body, status_code=503 if problems else 200, headers={"Retry-After": "5"} if problems else None)


def _failures(checks: dict[str, Callable[[], None]]) -> tuple[dict[str, str], dict[str, str]]:
    """(failures, full disks) by check name."""
    failures, full = {}, {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # a probe reports any failure instead of raising it
            (full if disk_fault(exc) is not None else failures)[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return failures, full
