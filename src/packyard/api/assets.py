"""Files packyard serves as they are, all from itself (a private registry often has no internet).

- `/static/`: `packyard/static/` — the favicon, and ReDoc vendored beside its licence.
- `/static/swagger-ui-<version>/`: Swagger UI from the `swagger-ui-bundle-v2` package.
- `/favicon.ico`: browsers ask for it on every page without an icon link (the PyPI simple pages).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

STATIC_DIR = Path(__file__).parent.parent / "static"
STATIC_URL = "/static"
SWAGGER_UI_URL = f"{STATIC_URL}/{swagger_ui_path.name}"  # the version is in the name: swagger-ui-5.x.y
REDOC_JS_URL = f"{STATIC_URL}/redoc-2.5.4/redoc.standalone.js"
FAVICON_URL = f"{STATIC_URL}/favicon.svg"


class NamedFiles(StaticFiles):
    """Only the named files of a directory. The Swagger UI distribution also holds a demo page whose
    spec is loaded from the internet; packyard serves no page that reaches out."""

    def __init__(self, directory, names: frozenset[str]) -> None:
        super().__init__(directory=directory)
        self.names = names

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in self.names:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def install_assets(api: FastAPI) -> None:
    swagger_files = {"swagger-ui-bundle.js", "swagger-ui.css"}
    swagger_files |= {f"{name}.map" for name in swagger_files}  # what browser developer tools ask for
    # The more specific mount first: Starlette takes the first that matches.
    api.mount(SWAGGER_UI_URL, NamedFiles(swagger_ui_path, frozenset(swagger_files)), name="swagger-ui")
    api.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")

    @api.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.png", media_type="image/png")
