"""/api/v1/audit: the audit trail (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import select

from packyard.models import limits
from packyard.api.deps import AdminDep, RegistryDep
from packyard.models import AuditEvent

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("")
def audit_events(
    registry: RegistryDep,
    _admin: AdminDep,
    page: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ecosystem: str | None = None,
    package: str | None = None,
) -> dict[str, Any]:
    """Newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if ecosystem:
        query = query.where(AuditEvent.ecosystem == ecosystem)
    if package:
        query = query.where(AuditEvent.package == package)
    with registry.db.read() as session:
        rows = list(session.exec(query.offset((page - 1) * per_page).limit(per_page)))
    return {"items": [row.model_dump() for row in rows], "page": page, "per_page": per_page}
