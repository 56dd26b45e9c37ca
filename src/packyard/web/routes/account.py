"""Sign-in, sign-out and the signed-in user's tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from packyard.api.deps import remote_addr
from packyard.errors import BadRequest, Forbidden, NotFound, Unauthorized
from packyard.models import limits
from packyard.services import tokens as token_service
from packyard.web import sessions
from packyard.web.context import SESSION_COOKIE, SIGNIN_COOKIE, Visitor, VisitorDep, check_csrf, check_session_form
from packyard.web.pages import render
from packyard.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)

EXPIRY_DAYS = (7, 30, 90, 365)


def _local_path(target: str) -> str:
    """Where to go after signing in: a path on this server only (never `//host` or a URL)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) and "\x00" not in target else "/"


def _signin_form(request: Request, visitor: Visitor, next_path: str, *, status: int = 200, message: str | None = None, user: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, visitor, "signin.html", status=status, csrf=token, next_path=_local_path(next_path), message=message, user=user)
    response.set_cookie(SIGNIN_COOKIE, token, path="/signin", httponly=True, samesite="lax", secure=visitor.https)
    return response


@router.get("/signin")
def signin_page(request: Request, visitor: VisitorDep, next: str = "/") -> Response:
    return _signin_form(request, visitor, next)


@router.post("/signin")
def signin(request: Request, visitor: VisitorDep, user: str = Form(""), password: str = Form(""), csrf_token: str = Form(""), next: str = Form("/")) -> Response:
    check_csrf(request, visitor, csrf_token, request.cookies.get(SIGNIN_COOKIE))
    try:
        account = visitor.registry.authenticate_password(user, password)
    except Unauthorized as exc:
        return _signin_form(request, visitor, next, status=401, message=exc.detail, user=user)
    secret = sessions.start(visitor.registry, account)
    response = RedirectResponse(_local_path(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=int(sessions.LIFETIME.total_seconds()), path="/", httponly=True, samesite="lax", secure=visitor.https
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, visitor: VisitorDep, csrf_token: str = Form("")) -> Response:
    check_session_form(request, visitor, csrf_token)
    sessions.end(visitor.registry, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=visitor.https)
    return response


def _tokens_page(request: Request, visitor: Visitor, *, status: int = 200, created: token_service.MintedToken | None = None, message: str | None = None) -> Response:
    identity = visitor.require_identity()
    rows = token_service.list_tokens(visitor.registry, by=identity)
    return render(
        request, visitor, "tokens.html", status=status,
        tokens=[token for token, _user in rows], created=created, message=message,
        expiry_days=EXPIRY_DAYS, ecosystems=visitor.registry.scope_rules, now=visitor.registry.clock.now(),
    )


@router.get("/account/tokens")
def tokens_page(request: Request, visitor: VisitorDep) -> Response:
    return _tokens_page(request, visitor)


@router.post("/account/tokens")
def create_token(
    request: Request, visitor: VisitorDep,
    csrf_token: str = Form(""), name: str = Form(""), scopes: str = Form(""), expires_days: str = Form(""),
) -> Response:
    """The secret is shown in this response only (no redirect: it never lands in a URL or history)."""
    identity = check_session_form(request, visitor, csrf_token)
    wanted = [line.strip() for line in scopes.replace(",", "\n").splitlines() if line.strip()]
    expires_at = None
    if expires_days:
        if expires_days not in {str(d) for d in EXPIRY_DAYS}:
            raise BadRequest(f"Choose an expiry of {', '.join(map(str, EXPIRY_DAYS))} days, or none.")
        expires_at = visitor.registry.clock.now() + timedelta(days=int(expires_days))
    try:
        if not name.strip():
            raise BadRequest("Give the token a name, so you can recognise it in this list later.")
        with visitor.registry.db.write() as session:
            user = session.merge(identity.user)
            minted = token_service.mint(visitor.registry, session, user, name.strip(), wanted, expires_at, minted_by=identity, remote_addr=remote_addr(request))
    except (BadRequest, Forbidden) as exc:
        return _tokens_page(request, visitor, status=exc.status_code, message=exc.detail)
    return _tokens_page(request, visitor, created=minted)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(token_id: int, request: Request, visitor: VisitorDep, csrf_token: str = Form("")) -> Response:
    identity = check_session_form(request, visitor, csrf_token)
    if not 1 <= token_id <= limits.MAX_ROW_ID:
        raise NotFound(f"No token with id {token_id}.")
    token_service.revoke(visitor.registry, token_id, by=identity, remote_addr=remote_addr(request))
    return RedirectResponse("/account/tokens", status_code=303)
