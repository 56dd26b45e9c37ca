"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc), with every asset served by packyard.

A private registry often runs where there is no internet, so nothing here points at a CDN (FastAPI's
defaults do): the assets come from `packyard.api.assets`. Swagger UI must be 5.x: FastAPI writes
OpenAPI 3.1, which Swagger UI 4 cannot render.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from packyard.api.assets import FAVICON_URL, REDOC_JS_URL, SWAGGER_UI_URL

# The browser itself refuses anything from elsewhere: ReDoc 2.x always shows Redocly's logo from
# their CDN in its sidebar, and a later change could add another such asset without anyone noticing.
# Inline script and style are FastAPI's page templates and the UIs' own styling; ReDoc runs its
# search in a worker made from a blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:"
)


def install_docs(api: FastAPI) -> None:
    """Serve /docs and /redoc; `api` must be built with docs_url=None, redoc_url=None."""

    def urls(request: Request) -> tuple[str, str]:
        """The OpenAPI document's URL and the prefix of asset URLs, under the root path we are mounted at."""
        root = request.scope.get("root_path", "").rstrip("/")
        return root + api.openapi_url, root

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        openapi_url, root = urls(request)
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{api.title} - API documentation",
            swagger_js_url=f"{root}{SWAGGER_UI_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_UI_URL}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_URL,
            # The validator badge would send the document's URL to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return page

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        openapi_url, root = urls(request)
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{api.title} - API documentation",
            redoc_js_url=root + REDOC_JS_URL,
            redoc_favicon_url=root + FAVICON_URL,
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return page
