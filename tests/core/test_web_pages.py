"""The web interface over plain HTTP: status codes, headers, ETag/304, odd input, sessions and CSRF.

The pages in a real browser are tested in tests/browser/test_web_interface.py.
"""

from __future__ import annotations

import httpx
import pytest

from packyard.services.users import create_user
from tests.pypi.pypi_clients import api, http_upload
from tests.pypi.pypi_dists import build_wheel, core_metadata
from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import craft_gem
from tests.support.web import post_forms, signed_in_client

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def site(server, tmp_path_factory):
    """Two PyPI packages and a gem owned by `olive` (who can sign in), and an admin `ada`."""
    create_user(server.registry(), "olive", PASSWORD)
    create_user(server.registry(), "ada", PASSWORD, is_admin=True)
    token = server.mint_token("pypi:package:*:write", "pypi:package:*:yank", *PUSH_SCOPES, user="olive")
    dists = tmp_path_factory.mktemp("dists")
    meta = core_metadata("web-demo", "1.0", requires_dist=("requests>=2",), description="# Web demo\n\nSome *markdown*.\n")
    wheel = build_wheel(dists, "web-demo", "1.0", metadata=meta.replace(b"text/plain", b"text/markdown"))
    assert http_upload(server.url, token, wheel, "web-demo", "1.0").status_code == 200
    wheel = build_wheel(dists, "web-demo", "1.1", requires_dist=("requests>=2", "attrs"))
    assert http_upload(server.url, token, wheel, "web-demo", "1.1").status_code == 200
    assert http_upload(server.url, token, build_wheel(dists, "hidden-web", "1.0"), "hidden-web", "1.0").status_code == 200
    assert api(server.url, token, "PATCH", "/packages/pypi/hidden-web", json={"visibility": "private"}).status_code == 200
    assert push(server.url, token, craft_gem("webgem", "0.1.0")).status_code == 200
    return {"token": token}


def test_pages_answer_html_with_a_strict_policy(server, site):
    for path in ("/", "/?q=web", "/packages/pypi/web-demo", "/packages/rubygems/webgem", "/signin"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script" not in policy, policy  # no script may ever run
        assert response.headers["x-content-type-options"] == "nosniff"


def test_search_and_package_page_content(server, site):
    home = httpx.get(server.url + "/", params={"q": "EB-DE"}).text  # substring, any case
    assert 'href="/packages/pypi/web-demo"' in home
    assert "hidden-web" not in httpx.get(server.url + "/", params={"q": "web"}).text
    assert "webgem" in httpx.get(server.url + "/", params={"q": "web"}).text

    page = httpx.get(server.url + "/packages/pypi/web-demo").text
    assert f"pip install --index-url {server.url}/pypi/simple/ web-demo" in page
    assert f"uv add --index {server.url}/pypi/simple/ web-demo" in page
    assert "web_demo-1.0-py3-none-any.whl" in page and "web_demo-1.1-py3-none-any.whl" in page
    gem = httpx.get(server.url + "/packages/rubygems/webgem").text
    assert f"gem install webgem --source {server.url}/rubygems/" in gem
    assert f"source &#34;{server.url}/rubygems/&#34;" in gem


def test_odd_input_gets_a_clear_4xx_page_never_a_500(server, site):
    cases = {
        "/packages/pypi/no-such-package": 404,
        "/packages/cargo/serde": 404,
        "/packages/pypi/" + "x" * 5000: 404,
        "/packages/pypi/%ED%A0%80": 404,  # bytes that are not UTF-8
        "/?q=" + "a" * 5000: 400,
        "/?q=%00": 400,
        "/?q=%ED%A0%80": 200,
        "/admin/audit?page=0": 400,
        "/admin/audit?page=99999999999999999999": 400,
        "/account/tokens/abc/revoke": 405,
    }
    for path, status in cases.items():
        response = httpx.get(server.url + path)
        assert response.status_code == status, (path, response.status_code, response.text[:300])
    unknown = httpx.get(server.url + "/packages/pypi/no-such-package")
    assert unknown.headers["content-type"].startswith("text/html") and "No package named" in unknown.text


def test_private_package_is_invisible_signed_out(server, site):
    anonymous = httpx.get(server.url + "/packages/pypi/hidden-web")
    assert anonymous.status_code == 404 and "www-authenticate" not in anonymous.headers  # no browser password dialog
    with signed_in_client(server.url, "olive", PASSWORD) as olive:
        assert olive.get("/packages/pypi/hidden-web").status_code == 200
        assert 'href="/packages/pypi/hidden-web"' in olive.get("/", params={"q": "hidden"}).text


def test_public_pages_revalidate_with_etag_and_304(server, site):
    for path in ("/packages/pypi/web-demo", "/"):
        first = httpx.get(server.url + path)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        again = httpx.get(server.url + path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    etag = httpx.get(server.url + "/packages/pypi/web-demo").headers["etag"]
    token = site["token"]
    assert api(server.url, token, "POST", "/packages/pypi/web-demo/versions/1.1/yank", json={"reason": "etag test"}).status_code == 200
    try:
        changed = httpx.get(server.url + "/packages/pypi/web-demo", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag and "etag test" in changed.text
    finally:
        assert api(server.url, token, "POST", "/packages/pypi/web-demo/versions/1.1/unyank").status_code == 200


def test_session_cookie_flags_and_sign_out_ends_the_session(server, site):
    with httpx.Client(base_url=server.url) as client:
        form = post_forms(client.get("/signin").text)[0]
        response = client.post("/signin", data={**form.fields, "user": "olive", "password": PASSWORD})
        cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("packyard_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        page = client.get("/account/tokens")
        assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store" and "etag" not in page.headers
        signout = next(f for f in post_forms(page.text) if f.action == "/signout")
        stolen = client.cookies["packyard_session"]
        assert client.post("/signout", data=signout.fields).status_code == 303
    # The session is gone on the server, not only from this browser's cookie jar.
    replay = httpx.get(server.url + "/account/tokens", cookies={"packyard_session": stolen})
    assert replay.status_code == 401
    assert httpx.post(server.url + "/signout", data=signout.fields, cookies={"packyard_session": stolen}).status_code == 401

    # Behind a TLS proxy both cookies are Secure (httpx would not send them back over http: by hand).
    behind_tls = {"X-Forwarded-Proto": "https"}
    form_page = httpx.get(server.url + "/signin", headers=behind_tls)
    assert "Secure" in form_page.headers["set-cookie"]
    form = post_forms(form_page.text)[0]
    response = httpx.post(
        server.url + "/signin", data={**form.fields, "user": "olive", "password": PASSWORD},
        headers={**behind_tls, "Origin": "https://" + server.url.split("://")[1], "Cookie": f"packyard_signin={form.fields['csrf_token']}"},
    )
    cookie = next(v for v in response.headers.get_list("set-cookie") if v.startswith("packyard_session="))
    assert "Secure" in cookie


def test_wrong_password_is_refused_on_the_form(server, site):
    with httpx.Client(base_url=server.url) as client:
        form = post_forms(client.get("/signin").text)[0]
        response = client.post("/signin", data={**form.fields, "user": "olive", "password": "wrong"})
        assert response.status_code == 401 and "Invalid user name or password" in response.text
        assert "packyard_session" not in client.cookies


def test_every_form_refuses_a_request_without_its_csrf_token(server, site):
    """Every POST form on every page an owner and an admin see: 403 without the token, with
    another session's token, and from another origin; nothing changes."""
    before = httpx.get(server.url + "/api/v1/packages/pypi/web-demo").json()
    with signed_in_client(server.url, "ada", PASSWORD) as ada, signed_in_client(server.url, "olive", PASSWORD) as olive:
        pages = ["/", "/packages/pypi/web-demo", "/packages/rubygems/webgem", "/account/tokens", "/admin"]
        found = {}
        for path in pages:
            for form in post_forms(ada.get(path).text):
                found.setdefault(form.action, form)
        other_token = post_forms(olive.get("/account/tokens").text)[0].fields["csrf_token"]
        expected = {"/signout", "/account/tokens", "/packages/pypi/web-demo/owners", "/packages/pypi/web-demo/settings",
                    "/packages/pypi/web-demo/versions/1.0/yank", "/packages/rubygems/webgem/versions/0.1.0/yank"}
        assert expected <= set(found), sorted(found)
        for action, form in found.items():
            fields = {k: v for k, v in form.fields.items() if k != "csrf_token"}
            fields.setdefault("name", "x")
            for data, headers in (
                (fields, {}),
                ({**fields, "csrf_token": ""}, {}),
                ({**fields, "csrf_token": other_token}, {}),
                (form.fields, {"Origin": "http://evil.example"}),
            ):
                response = ada.post(action, data=data, headers=headers)
                assert response.status_code == 403, (action, data, headers, response.status_code)
                assert "security token" in response.text
        assert ada.get("/account/tokens").status_code == 200  # still signed in: sign-out was refused too

    with httpx.Client(base_url=server.url) as client:  # the sign-in form (no session yet: its own token)
        form = post_forms(client.get("/signin").text)[0]
        fields = {**form.fields, "user": "olive", "password": PASSWORD}
        assert client.post("/signin", data={**fields, "csrf_token": ""}).status_code == 403
        assert client.post("/signin", data={**fields, "csrf_token": "forged"}).status_code == 403
        assert client.post("/signin", data=fields, headers={"Origin": "http://evil.example"}).status_code == 403
    assert httpx.get(server.url + "/api/v1/packages/pypi/web-demo").json() == before


def test_owner_forms_change_the_package_through_the_services(server, site):
    """Owners, visibility and status from the page, each audited like the API's."""
    with signed_in_client(server.url, "olive", PASSWORD) as olive:
        page = olive.get("/packages/pypi/web-demo").text
        forms = {f.action: f for f in post_forms(page)}
        base = "/packages/pypi/web-demo"
        assert olive.post(base + "/owners", data={**forms[base + "/owners"].fields, "user": "ada"}).status_code == 303
        assert httpx.get(server.url + "/api/v1/packages/pypi/web-demo/owners").json() == [{"user": "ada"}, {"user": "olive"}]
        page = olive.get(base).text
        remove = next(f for f in post_forms(page) if f.action == base + "/owners/ada/remove")
        assert olive.post(remove.action, data=remove.fields).status_code == 303
        settings = {**forms[base + "/settings"].fields, "visibility": "public", "status": "deprecated", "status_reason": "use web-demo2"}
        assert olive.post(base + "/settings", data=settings).status_code == 303
        assert "use web-demo2" in olive.get(base).text
        settings.update(status="active", status_reason="")
        assert olive.post(base + "/settings", data=settings).status_code == 303
        missing = olive.post(base + "/owners", data={**forms[base + "/owners"].fields, "user": "nobody"})
        assert missing.status_code == 404 and "No user named &#39;nobody&#39;" in missing.text
    admin = server.mint_token("admin", user="ada")
    audit = api(server.url, admin, "GET", "/audit", params={"package": "web-demo", "actor": "olive"}).json()["items"]
    assert [e["action"] for e in audit][:4] == ["package.settings", "package.settings", "owner.remove", "owner.add"]


def test_a_stranger_cannot_use_an_owners_form(server, site):
    create_user(server.registry(), "mallory", PASSWORD)
    with signed_in_client(server.url, "mallory", PASSWORD) as mallory:
        page = mallory.get("/packages/pypi/web-demo").text
        assert "/versions/1.0/yank" not in page  # no owner forms for someone else's package
        token = post_forms(mallory.get("/account/tokens").text)[0].fields["csrf_token"]
        response = mallory.post("/packages/pypi/web-demo/versions/1.0/yank", data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 403 and "not an owner" in response.text


def test_admin_pages_need_an_admin(server, site):
    assert httpx.get(server.url + "/admin").status_code == 401
    with signed_in_client(server.url, "olive", PASSWORD) as olive:
        assert olive.get("/admin").status_code == 403
    with signed_in_client(server.url, "ada", PASSWORD) as ada:
        admin = ada.get("/admin").text
        assert "olive" in admin and "webgem" not in admin  # users and storage, not packages
        audit = ada.get("/admin/audit", params={"ecosystem": "pypi", "action": "package.settings"}).text
        assert "<td>hidden-web</td>" in audit and "<td>version.yank</td>" not in audit


def test_api_shows_what_the_page_shows(server, site):
    detail = httpx.get(server.url + "/api/v1/packages/pypi/web-demo").json()
    assert detail["summary"] == "A test package" and detail["latest_version"] == "1.1"
    assert {"tool": "pip", "text": f"pip install --index-url {server.url}/pypi/simple/ web-demo"} in detail["install"]
    assert detail["dependencies"] == ["requests>=2", "attrs"]  # the latest version's
    v10 = next(v for v in detail["versions"] if v["version"] == "1.0")
    assert v10["artifacts"][0]["uploader"] == "olive" and v10["artifacts"][0]["filename"] == "web_demo-1.0-py3-none-any.whl"
    found = httpx.get(server.url + "/api/v1/packages", params={"q": "web"}).json()["items"]
    assert [(p["ecosystem"], p["name"]) for p in found] == [("pypi", "web-demo"), ("rubygems", "webgem")]
    overview = httpx.get(server.url + "/api/v1/overview").json()
    assert overview["counts"]["rubygems"]["packages"] == 1 and "hidden-web" not in str(overview["recent"])
    admin = server.mint_token("admin", user="ada")
    storage = api(server.url, admin, "GET", "/storage").json()
    assert storage["pypi"]["files"] == 3 and storage["pypi"]["stored_bytes"] > 0
    users = {u["name"]: u for u in api(server.url, admin, "GET", "/users").json()}
    assert users["olive"]["can_sign_in"] and not users["olive"]["is_admin"] and users["ada"]["is_admin"]


def test_a_private_registry_shows_nothing_until_signed_in(server_factory):
    private = server_factory(extra_env={"PACKYARD_PRIVATE": "true"})
    create_user(private.registry(), "pat", PASSWORD)
    token = private.mint_token("rubygems:gem:*:write", user="pat")
    assert push(private.url, token, craft_gem("closed-gem", "1.0.0")).status_code == 200
    home = httpx.get(private.url + "/", params={"q": "closed"})
    assert home.status_code == 200 and "sign in" in home.text and "closed-gem" not in home.text
    assert httpx.get(private.url + "/packages/rubygems/closed-gem").status_code == 404
    assert httpx.get(private.url + "/api/v1/overview").status_code == 401
    with signed_in_client(private.url, "pat", PASSWORD) as pat:
        assert 'href="/packages/rubygems/closed-gem"' in pat.get("/", params={"q": "closed"}).text
        assert "gem install closed-gem" in pat.get("/packages/rubygems/closed-gem").text


def test_a_package_costs_the_same_queries_whatever_its_number_of_versions(server, site, tmp_path):
    """No query per version: 1 version and 3 versions (one of them yanked) take the same statements."""
    from sqlalchemy import event

    from packyard.services.package_view import load_package_view
    from packyard.services.packages import get_package

    token = site["token"]
    for version in ("1.0", "1.1", "1.2"):
        wheel = build_wheel(tmp_path, "many-versions", version)
        assert http_upload(server.url, token, wheel, "many-versions", version).status_code == 200
    assert api(server.url, token, "POST", "/packages/pypi/many-versions/versions/1.2/yank").status_code == 200
    registry = server.registry()
    statements: list[str] = []
    event.listen(registry.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = {}
    for name, latest in (("hidden-web", "1.0"), ("many-versions", "1.1")):  # 1.2 is yanked
        statements.clear()
        with registry.db.read() as session:
            view = load_package_view(registry, session, get_package(session, "pypi", name))
        counts[name] = sum(1 for sql in statements if sql.lstrip().upper().startswith("SELECT"))
        assert view.latest.version == latest
    # the package, then versions, files with uploaders, the latest version and its files, owners
    assert counts["hidden-web"] == counts["many-versions"] == 6, counts


def test_a_description_is_rendered_when_published_and_the_page_shows_what_was_kept(server, site, tmp_path):
    """A README's code blocks make pygments compile a lexer the first time a process meets their
    language (tens of ms), so the first view after a restart must not render it: the upload renders
    and keeps it, and the page shows the kept HTML (edited here before the first view, to tell)."""
    from sqlmodel import select

    from packyard.models import RenderedDescription

    text = "# Kept readme\n\n```python\nprint('kept')\n```\n"
    meta = core_metadata("kept-readme", "1.0", description=text).replace(b"text/plain", b"text/markdown")
    wheel = build_wheel(tmp_path, "kept-readme", "1.0", metadata=meta)
    assert http_upload(server.url, site["token"], wheel, "kept-readme", "1.0").status_code == 200
    with server.registry().db.write() as session:
        (kept,) = session.exec(select(RenderedDescription).where(RenderedDescription.html.contains("Kept readme"))).all()
        assert "print" in kept.html and "<script" not in kept.html
        kept.html = kept.html.replace("Kept readme", "Rendered at upload")
    page = httpx.get(server.url + "/packages/pypi/kept-readme").text
    assert "Rendered at upload" in page and "Kept readme" not in page


def test_sign_in_returns_only_to_a_page_of_this_server(server, site):
    for target, location in (("/packages/pypi/web-demo", "/packages/pypi/web-demo"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        with httpx.Client(base_url=server.url) as client:
            form = post_forms(client.get("/signin", params={"next": target}).text)[0]
            response = client.post("/signin", data={**form.fields, "user": "olive", "password": PASSWORD})
            assert response.status_code == 303 and response.headers["location"] == location, target


def test_pages_render_whatever_becomes_of_their_compiled_templates(tmp_path):
    """Compiled templates are kept on disk for the next start; a copy that is corrupt, or a
    directory that is gone (a full or broken disk), makes a page compile its template, never fail."""
    import shutil

    from jinja2 import DictLoader, Environment

    from packyard.web.pages import CompiledTemplates

    directory = tmp_path / "compiled-templates"

    def render(cache: CompiledTemplates, value: int) -> str:
        environment = Environment(loader=DictLoader({"page.html": "<p>{{ value }}</p>"}), bytecode_cache=cache)
        return environment.get_template("page.html").render(value=value)

    assert render(CompiledTemplates(directory), 1) == "<p>1</p>"
    (kept,) = directory.iterdir()
    kept.write_bytes(kept.read_bytes()[:20])  # cut short
    assert render(CompiledTemplates(directory), 2) == "<p>2</p>"
    kept.write_bytes(b"garbage")
    assert render(CompiledTemplates(directory), 3) == "<p>3</p>"
    cache = CompiledTemplates(directory)
    shutil.rmtree(directory)  # taken away under a running server: nothing can be kept
    assert render(cache, 4) == "<p>4</p>"
