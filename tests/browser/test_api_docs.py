"""The API documentation pages render in a browser that can reach nothing but 127.0.0.1.

A private registry usually runs without internet access; FastAPI's default pages load Swagger UI
and ReDoc from CDNs and render blank there. The `offline_browser` fixture fails each test if any
request left 127.0.0.1 (tests/support/browser.py).
"""

from __future__ import annotations

import httpx


def test_swagger_ui_lists_the_management_endpoints(server, offline_browser, tmp_path):
    page = offline_browser.open(server.url + "/docs")
    page.locator('.opblock-summary-path[data-path="/api/v1/tokens"]').first.wait_for(timeout=60_000)
    assert "Unable to render this definition" not in page.content()

    # FastAPI writes OpenAPI 3.1, which needs Swagger UI 5.
    assert httpx.get(server.url + "/openapi.json").json()["openapi"].startswith("3.1.")
    assert page.evaluate("window.versions.swaggerUI.version").split(".")[0] == "5"
    scripts = [url for kind, url in offline_browser.requests if kind == "script"]
    assert scripts and all(url.startswith(server.url + "/static/swagger-ui-5.") for url in scripts), scripts

    screenshot = tmp_path / "docs.png"
    page.screenshot(path=screenshot, full_page=True)
    print(f"screenshot of /docs: {screenshot}")


def test_redoc_lists_the_management_endpoints(server, offline_browser, tmp_path):
    page = offline_browser.open(server.url + "/redoc")
    page.locator(".api-content").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('.api-content').textContent.includes('/api/v1/tokens')", timeout=60_000)
    assert page.locator(".menu-content").get_by_text("tokens", exact=True).count() == 1

    screenshot = tmp_path / "redoc.png"
    page.screenshot(path=screenshot)
    print(f"screenshot of /redoc: {screenshot}")


def test_swagger_ui_try_it_out_calls_packyard(server, offline_browser):
    """The page's Content-Security-Policy still lets Swagger UI call the API it documents."""
    page = offline_browser.open(server.url + "/docs")
    operation = page.locator("#operations-health-healthz_healthz_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table tr.response")
    live.wait_for()
    assert live.locator(".response-col_status").inner_text().strip() == "200"
    assert '"status": "ok"' in live.locator(".response-col_description").inner_text()
    assert ("fetch", server.url + "/healthz") in offline_browser.requests
