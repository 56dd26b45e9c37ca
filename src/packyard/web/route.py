"""Errors on web pages are HTML pages a person can act on, never JSON and never a 500."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from packyard.errors import PackyardError, Unauthorized
from packyard.web.pages import render


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    visitor = getattr(request.state, "visitor", None)
    return render(request, visitor, "error.html", status=status, headers=headers, status_code=status, message=message)


class WebRoute(APIRoute):
    """An APIRoute whose core errors and invalid input become the error page (with the error's
    status and headers, but no `WWW-Authenticate`: a browser would pop up its password dialog)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except Unauthorized as exc:
                return error_page(request, 401, exc.detail)
            except PackyardError as exc:
                return error_page(request, exc.status_code, exc.detail, headers=dict(exc.headers) or None)
            except RequestValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in err.get('loc', ())[1:])}: {err.get('msg')}" for err in exc.errors())
                return error_page(request, 400, f"The request is not valid: {problems}.")

        return handler
