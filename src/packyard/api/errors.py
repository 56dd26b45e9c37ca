"""JSON error responses `{"detail": ...}` for the management API and anything without its own format."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from packyard.errors import PackyardError

def error_response(exc: PackyardError) -> JSONResponse:
    headers = dict(exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PackyardError)
    async def _packyard_error(_request: Request, exc: PackyardError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'body'}: {err.get('msg')}" for err in exc.errors()
        )
        return JSONResponse({"detail": f"Invalid request: {problems}"}, status_code=422)
