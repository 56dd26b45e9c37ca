"""The documentation pages and their assets over plain HTTP: everything comes from packyard itself."""

from __future__ import annotations

import re

import httpx
import pytest

from packyard.api.assets import SWAGGER_UI_URL


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_refer_only_to_packyard_and_forbid_other_origins(server, path):
    response = httpx.get(server.url + path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    references = re.findall(r'(?:src|href|url|spec-url)\s*[=:]\s*["\']([^"\']+)', response.text)
    assert references and all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    for ref in references:
        assert httpx.get(server.url + ref).status_code == 200, ref
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy


def test_assets_are_cacheable_and_revalidate(server):
    first = httpx.get(server.url + "/static/redoc-2.5.4/redoc.standalone.js")
    assert first.status_code == 200 and "javascript" in first.headers["content-type"]
    again = httpx.get(first.url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_vendored_redoc_has_its_licence_beside_it(server):
    licence = httpx.get(server.url + "/static/redoc-2.5.4/LICENSE")
    assert licence.status_code == 200 and "MIT License" in licence.text and "Rebilly" in licence.text


@pytest.mark.parametrize(
    "path",
    [
        SWAGGER_UI_URL + "/index.html",  # Swagger UI's demo page, which loads its spec from the internet
        SWAGGER_UI_URL + "/swagger-initializer.js",
        "/static/nothing-here.js",
        "/static/",
    ],
)
def test_only_the_assets_the_pages_use_are_served(server, path):
    response = httpx.get(server.url + path)
    assert response.status_code == 404 and response.json()["detail"] == "Not Found"


def test_writes_to_assets_are_refused(server):
    response = httpx.post(server.url + "/static/favicon.svg", content=b"x")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_favicon_ico_for_pages_without_an_icon_link(server):
    response = httpx.get(server.url + "/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")

