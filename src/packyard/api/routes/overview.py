"""/api/v1/overview (counts and recent versions: the home page's data), and for admins
/api/v1/users and /api/v1/storage (the admin page's)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from packyard.api.deps import AdminDep, RegistryDep
from packyard.services import catalog
from packyard.services.users import list_users

router = APIRouter(prefix="/api/v1", tags=["overview"])


@router.get("/overview")
def overview(request: Request, registry: RegistryDep) -> dict[str, Any]:
    """Counts per ecosystem and the 10 most recently published versions, of the packages the caller may read."""
    identity = registry.authenticate(request.headers.get("authorization"))
    registry.read_access(identity, "", None)
    readable = registry.readable_packages(identity)
    with registry.db.read() as session:
        counts = catalog.counts(session, readable)
        recent = catalog.recent_versions(session, readable)
    return {
        "counts": {eco: asdict(counts.get(eco, catalog.EcosystemCounts())) for eco in registry.adapters},
        "recent": [asdict(r) for r in recent],
    }


@router.get("/users")
def users(registry: RegistryDep, _admin: AdminDep) -> list[dict[str, Any]]:
    with registry.db.read() as session:
        rows = list_users(session)
    return [{"name": u.name, "is_admin": u.is_admin, "can_sign_in": u.password_hash is not None, "created_at": u.created_at} for u in rows]


@router.get("/storage")
def storage(registry: RegistryDep, _admin: AdminDep) -> dict[str, Any]:
    """Per ecosystem: packages, versions, files, the files' sizes added up, and the bytes of the
    distinct blobs they use (identical files are stored once)."""
    with registry.db.read() as session:
        counts = catalog.counts(session, None)
        stored = catalog.stored_bytes(session)
    return {eco: {**asdict(counts.get(eco, catalog.EcosystemCounts())), "stored_bytes": stored.get(eco, 0)} for eco in registry.adapters}
