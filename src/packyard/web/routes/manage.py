"""The package owners' forms: yank and unyank a version, add and remove owners, visibility and
project status. Each goes through the same service as the management API (scope and ownership
checks, the journal, the audit log), then back to the package page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from packyard.api.deps import remote_addr
from packyard.services import ownership, yanking
from packyard.web.context import VisitorDep, check_session_form
from packyard.web.route import WebRoute

router = APIRouter(prefix="/packages/{ecosystem}/{name}", route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


def _back(ecosystem: str, name: str) -> Response:
    return RedirectResponse(f"/packages/{quote(ecosystem, safe='')}/{quote(name, safe='')}", status_code=303)


@router.post("/versions/{version}/yank")
def yank(ecosystem: str, name: str, version: str, request: Request, visitor: VisitorDep, csrf_token: str = Form(""), reason: str = Form("")) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    yanking.set_yanked(visitor.registry, ecosystem, name, version, True, identity, reason=reason.strip() or None, remote_addr=remote_addr(request))
    return _back(ecosystem, name)


@router.post("/versions/{version}/unyank")
def unyank(ecosystem: str, name: str, version: str, request: Request, visitor: VisitorDep, csrf_token: str = Form("")) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    yanking.set_yanked(visitor.registry, ecosystem, name, version, False, identity, remote_addr=remote_addr(request))
    return _back(ecosystem, name)


@router.post("/owners")
def add_owner(ecosystem: str, name: str, request: Request, visitor: VisitorDep, csrf_token: str = Form(""), user: str = Form("")) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    ownership.add_owner(visitor.registry, ecosystem, name, user.strip(), identity, remote_addr(request))
    return _back(ecosystem, name)


@router.post("/owners/{user}/remove")
def remove_owner(ecosystem: str, name: str, user: str, request: Request, visitor: VisitorDep, csrf_token: str = Form("")) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    ownership.remove_owner(visitor.registry, ecosystem, name, user, identity, remote_addr(request))
    return _back(ecosystem, name)


@router.post("/settings")
def settings(
    ecosystem: str, name: str, request: Request, visitor: VisitorDep,
    csrf_token: str = Form(""), visibility: str = Form(""), status: str = Form(""), status_reason: str = Form(""),
) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    ownership.update_settings(
        visitor.registry, ecosystem, name, identity,
        visibility=visibility or None, status=status or None, status_reason=status_reason.strip() or None, remote_addr=remote_addr(request),
    )
    return _back(ecosystem, name)
