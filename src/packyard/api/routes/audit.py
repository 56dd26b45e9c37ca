"""/api/v1/audit: the audit trail (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from packyard.models import limits
from packyard.api.deps import AdminDep, RegistryDep
from packyard.services.audit import list_events

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("")
def audit_events(
    registry: RegistryDep,
    _admin: AdminDep,
    page: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ecosystem: str | None = None,
    package: str | None = None,
    action: Annotated[str | None, Query(description="e.g. version.yank, token.create, owner.add")] = None,
    actor: Annotated[str | None, Query(description="the user who acted")] = None,
) -> dict[str, Any]:
    """Newest first."""
    with registry.db.read() as session:
        rows = list_events(session, ecosystem=ecosystem, package=package, action=action, actor=actor, offset=(page - 1) * per_page, limit=per_page)
    return {"items": [row.model_dump() for row in rows], "page": page, "per_page": per_page}
