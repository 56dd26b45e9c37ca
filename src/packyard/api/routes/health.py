"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from packyard.api.deps import RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(registry: RegistryDep) -> JSONResponse:
    problems = {}
    checks = {"database": registry.db.check, "storage": registry.storage.check}
    if hasattr(registry.cache, "check"):
        checks["cache"] = registry.cache.check
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # a probe reports any failure instead of raising it
            problems[name] = f"{type(exc).__name__}: {exc}"
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})
