"""The web interface in Debian's Chromium (tests/support/browser.py): search, package pages, sign-in,
tokens, yanking from the page, private packages, and descriptions that try to run script.

The `offline_browser` fixture also fails a test on any script error, console error, failed local
request or request beyond 127.0.0.1. Plain-HTTP checks (status codes, ETag, CSRF) are in
tests/core/test_web_pages.py.
"""

from __future__ import annotations

import httpx
import pytest

from packyard.services.users import create_user
from tests.pypi.pypi_clients import api, http_upload
from tests.pypi.pypi_dists import build_wheel, core_metadata
from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import craft_gem

PASSWORD = "s3cret-for-the-browser"

HOSTILE_DESCRIPTION = """# Hostile package

<script>window.ranFromDescription = 1; alert('script tag');</script>

[a markdown link](javascript:alert('markdown link'))

<a href="javascript:alert('html link')" onclick="alert('onclick')" id="evil-link">click me</a>

<div onmouseover="alert('hover')">hover me</div>

<iframe src="javascript:alert('iframe')"></iframe>

Plain **bold** text survives.
"""


@pytest.fixture(scope="module")
def site(server, tmp_path_factory):
    create_user(server.registry(), "wendy", PASSWORD)
    token = server.mint_token("pypi:package:*:write", "pypi:package:*:yank", *PUSH_SCOPES, user="wendy")
    dists = tmp_path_factory.mktemp("dists")
    uploads = [("browse-me", "1.0", None), ("browse-me", "2.0", None), ("yank-me", "1.0", None), ("yank-me", "1.1", None),
               ("secret-thing", "1.0", None), ("hostile", "1.0", HOSTILE_DESCRIPTION)]
    for name, version, description in uploads:
        meta = None
        if description is not None:
            meta = core_metadata(name, version, summary="<script>alert('summary')</script>", description=description)
            meta = meta.replace(b"text/plain", b"text/markdown")
        elif name == "browse-me":
            meta = core_metadata(name, version, requires_dist=("attrs>=23",), description=f"Browse me, version {version}.\n")
        wheel = build_wheel(dists, name, version, metadata=meta)
        assert http_upload(server.url, token, wheel, name, version).status_code == 200
    assert api(server.url, token, "PATCH", "/packages/pypi/secret-thing", json={"visibility": "private"}).status_code == 200
    for version in ("0.1.0", "0.2.0"):
        assert push(server.url, token, craft_gem("yankgem", version)).status_code == 200
    return {"token": token}


def sign_in(browser, server, user: str = "wendy", password: str = PASSWORD):
    page = browser.open(server.url + "/signin")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("button", name=f"Sign out {user}").is_visible()
    return page


def test_search_finds_a_package_and_its_page_shows_versions_and_install_line(server, site, offline_browser, tmp_path):
    home = offline_browser.open(server.url + "/")
    home.get_by_label("Find a package by name").fill("rowse")
    home.get_by_role("button", name="Search").last.click()
    home.wait_for_url("**/?q=rowse")
    results = home.locator("ul.results").first
    assert results.get_by_role("link", name="browse-me").is_visible()
    assert "yank-me" not in results.inner_text()
    screenshot = tmp_path / "home.png"
    home.screenshot(path=screenshot, full_page=True)
    print(f"screenshot of the home page: {screenshot}")

    results.get_by_role("link", name="browse-me").click()
    home.wait_for_url("**/packages/pypi/browse-me")
    assert home.locator("h1").inner_text() == "browse-me 2.0"
    assert home.locator(".install pre").first.inner_text() == f"pip install --index-url {server.url}/pypi/simple/ browse-me"
    assert home.locator("details.release summary strong").all_inner_texts() == ["2.0", "1.0"]
    assert "browse_me-1.0-py3-none-any.whl" in home.locator("#v-1\\.0").text_content()  # a closed <details>
    assert home.locator("ul.deps").inner_text().strip() == "attrs>=23"
    assert "Browse me, version 2.0." in home.locator(".description").inner_text()
    assert "wendy" in home.locator("ul.owners").inner_text()
    screenshot = tmp_path / "package.png"
    home.screenshot(path=screenshot, full_page=True)
    print(f"screenshot of a package page: {screenshot}")

    gem = offline_browser.open(server.url + "/packages/rubygems/yankgem")
    assert gem.locator(".install pre").all_inner_texts() == [
        f"gem install yankgem --source {server.url}/rubygems/",
        f'source "{server.url}/rubygems/"\ngem "yankgem"',
    ]


def test_sign_in_then_create_and_revoke_a_token(server, site, offline_browser):
    page = sign_in(offline_browser, server)
    page.get_by_role("link", name="Tokens").click()
    page.wait_for_url("**/account/tokens")
    page.get_by_label("Name", exact=True).fill("from the browser")
    page.get_by_label("Scopes, one per line").fill("pypi:package:browse-me:read")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").inner_text()
    assert secret.startswith("pky_")

    listed = api(server.url, secret, "GET", "/tokens")
    assert listed.status_code == 200 and [t["name"] for t in listed.json()] == ["from the browser"]
    assert listed.json()[0]["scopes"] == ["pypi:package:browse-me:read"] and listed.json()[0]["expires_at"]

    page.goto(server.url + "/account/tokens")  # the secret is not shown again
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke token from the browser").click()
    page.wait_for_url("**/account/tokens")
    assert "revoked" in page.locator("tr", has_text="from the browser").inner_text()
    assert api(server.url, secret, "GET", "/tokens").status_code == 401


def test_yank_from_the_page_shows_on_the_simple_index_at_the_next_request(server, site, offline_browser):
    assert "data-yanked" not in httpx.get(server.url + "/pypi/simple/yank-me/").text
    page = sign_in(offline_browser, server)
    page.goto(server.url + "/packages/pypi/yank-me")
    release = page.locator("#v-1\\.1")
    release.get_by_label("Reason").fill("broken build")
    release.get_by_role("button", name="Yank 1.1").click()
    page.wait_for_url("**/packages/pypi/yank-me")
    assert "yanked" in page.locator("#v-1\\.1 summary").inner_text()
    assert "broken build" in page.locator("#v-1\\.1 summary").inner_text()

    simple = httpx.get(server.url + "/pypi/simple/yank-me/").text
    assert 'data-yanked="broken build">yank_me-1.1-py3-none-any.whl' in simple
    detail = httpx.get(server.url + "/api/v1/packages/pypi/yank-me").json()
    assert detail["versions"][0]["yank_reason"] == "broken build" and detail["latest_version"] == "1.0"

    page.locator("#v-1\\.1").get_by_role("button", name="Unyank 1.1").click()
    page.wait_for_url("**/packages/pypi/yank-me")
    assert "data-yanked" not in httpx.get(server.url + "/pypi/simple/yank-me/").text


def test_yank_a_gem_from_the_page_removes_it_from_the_compact_index(server, site, offline_browser):
    assert "0.1.0" in httpx.get(server.url + "/rubygems/info/yankgem").text
    page = sign_in(offline_browser, server)
    page.goto(server.url + "/packages/rubygems/yankgem")
    page.locator("#v-0\\.1\\.0 summary").click()  # only the newest release is open
    page.locator("#v-0\\.1\\.0").get_by_role("button", name="Yank 0.1.0").click()
    page.wait_for_url("**/packages/rubygems/yankgem")
    info = httpx.get(server.url + "/rubygems/info/yankgem").text
    assert "0.1.0" not in info and "0.2.0" in info
    assert "yankgem 0.1.0" not in httpx.get(server.url + "/rubygems/versions").text.splitlines()[-1]


def test_a_private_package_is_invisible_signed_out(server, site, offline_browser):
    home = offline_browser.open(server.url + "/?q=secret")
    assert home.locator("#results").inner_text() == "0 results for “secret”"
    assert "secret-thing" not in home.content()
    assert httpx.get(server.url + "/packages/pypi/secret-thing").status_code == 404

    page = sign_in(offline_browser, server)
    page.goto(server.url + "/?q=secret")
    page.get_by_role("link", name="secret-thing", exact=True).click()
    page.wait_for_url("**/packages/pypi/secret-thing")
    assert "private" in page.locator(".tags").inner_text()


def test_a_description_with_script_renders_without_running_it(server, site, offline_browser):
    dialogs = []
    offline_browser.context.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page = offline_browser.open(server.url + "/packages/pypi/hostile")
    description = page.locator(".description")
    assert "Plain bold text survives." in description.inner_text()
    assert description.locator("strong").inner_text() == "bold"
    # Sanitized DOM: no script, frame, event handler or javascript: URL anywhere in the page.
    assert page.locator("script, iframe, object, embed").count() == 0
    assert page.locator("[onclick], [onmouseover], [onerror]").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], hrefs
    assert page.locator(".summary").inner_text() == "<script>alert('summary')</script>"  # shown as text

    description.get_by_text("click me").click()
    description.get_by_text("a markdown link").click()
    description.get_by_text("hover me").hover()
    page.wait_for_timeout(200)
    assert page.evaluate("window.ranFromDescription") is None
    assert dialogs == []
    assert page.url == server.url + "/packages/pypi/hostile"
