"""Admin pages: users, storage used per ecosystem, the audit log with filters."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from typing import Annotated

from packyard.models import limits
from packyard.services import catalog
from packyard.services.audit import list_events
from packyard.services.users import list_users
from packyard.web.context import VisitorDep
from packyard.web.pages import render
from packyard.web.route import WebRoute

router = APIRouter(prefix="/admin", route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)

AUDIT_PAGE_SIZE = 50


@router.get("")
def admin_home(request: Request, visitor: VisitorDep) -> Response:
    visitor.require_admin()
    with visitor.registry.db.read() as session:
        users = list_users(session)
        counts = catalog.counts(session, None)
        stored = catalog.stored_bytes(session)
    return render(request, visitor, "admin.html", users=users, counts=counts, stored=stored, ecosystems=list(visitor.registry.adapters))


@router.get("/audit")
def audit_log(
    request: Request, visitor: VisitorDep,
    ecosystem: str = "", package: str = "", action: str = "", actor: str = "",
    page: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 1,
) -> Response:
    visitor.require_admin()
    filters = {"ecosystem": ecosystem.strip(), "package": package.strip(), "action": action.strip(), "actor": actor.strip()}
    with visitor.registry.db.read() as session:
        events = list_events(session, **filters, offset=(page - 1) * AUDIT_PAGE_SIZE, limit=AUDIT_PAGE_SIZE + 1)
    return render(
        request, visitor, "audit.html", events=events[:AUDIT_PAGE_SIZE], filters=filters, page=page,
        more=len(events) > AUDIT_PAGE_SIZE, ecosystems=list(visitor.registry.adapters),
    )
