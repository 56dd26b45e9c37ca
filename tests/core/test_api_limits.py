"""Names and fields the database cannot store (NUL, lone surrogates, over-long text, numbers past
PostgreSQL's columns) get a 4xx from every route, on the embedded default and on PostgreSQL alike."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel


@pytest.fixture(scope="module")
def admin(server):
    return server.mint_token("admin", user="root")


@pytest.fixture(scope="module")
def published(server, admin, tmp_path_factory):
    wheel = build_wheel(tmp_path_factory.mktemp("dist"), "limit-pkg", "1.0")
    assert http_upload(server.url, admin, wheel, "limit-pkg", "1.0").status_code == 200
    return "limit-pkg"


@pytest.mark.parametrize("path", [
    "/pypi/simple/a%00b/", "/pypi/pypi/a%00b/json", "/pypi/packages/a%00b", "/rubygems/info/a%00b",
    "/rubygems/api/v1/gems/a%00b.json", "/api/v1/packages/pypi/a%00b", "/api/v1/packages?page=1&q=%00",
    "/api/v1/packages/pypi/limit-pkg/owners", "/api/v1/audit?package=a%00b",
])
def test_a_nul_byte_in_the_url_is_400(server, admin, published, path):
    response = httpx.get(server.url + path.replace("limit-pkg/owners", "limit-pkg%00/owners"),
                         headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 400, response.text
    assert "NUL" in response.text


def _api(server, admin, method, path, **kwargs):
    kwargs.setdefault("headers", {"Authorization": f"Bearer {admin}"})
    return httpx.request(method, f"{server.url}/api/v1{path}", **kwargs)


@pytest.mark.parametrize("method,path,body,status", [
    ("POST", "/tokens", {"name": "a\x00b", "scopes": ["pypi:package:*:read"]}, 422),
    ("POST", "/tokens", {"name": "t" * 201, "scopes": ["pypi:package:*:read"]}, 422),
    ("POST", "/tokens", {"name": "ok", "scopes": ["pypi:package:a\x00:read"]}, 422),
    ("PATCH", "/packages/pypi/limit-pkg", {"status": "archived", "status_reason": "a\x00b"}, 422),
    ("PATCH", "/packages/pypi/limit-pkg", {"status": "archived", "status_reason": "r" * 1001}, 422),
    ("POST", "/packages/pypi/limit-pkg/owners", {"user": "a\x00b"}, 422),
    ("POST", "/packages/pypi/limit-pkg/versions/1.0/yank", {"reason": "a\x00b"}, 422),
    ("POST", "/packages/pypi/limit-pkg/versions/1.0/yank", {"platform": "p" * 101}, 422),
    ("DELETE", "/tokens/1242633538496466", None, 404),
    ("GET", "/packages?page=99999999999999999", None, 422),
])
def test_unstorable_fields_are_refused_before_the_database(server, admin, published, method, path, body, status):
    response = _api(server, admin, method, path, json=body)
    assert response.status_code == status, response.text
    detail = _api(server, admin, "GET", "/packages/pypi/limit-pkg").json()
    assert detail["status"] == "active" and not detail["versions"][0]["yanked"]


def test_a_lone_surrogate_in_a_json_body_is_refused(server, admin, published):
    response = _api(server, admin, "POST", "/tokens", content=b'{"name": "a\\ud800", "scopes": ["pypi:package:*:read"]}',
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin}"})
    assert response.status_code == 422 and "unicode" in response.text.lower()


@pytest.mark.parametrize("user", ["a\x00b", "root\x00"])
def test_credentials_with_a_nul_byte_are_401(server, published, user):
    basic = base64.b64encode(f"{user}:secret".encode()).decode()
    response = httpx.get(f"{server.url}/api/v1/tokens", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401 and "NUL" in response.text
    signin = httpx.get(f"{server.url}/rubygems/api/v1/api_key", headers={"Authorization": f"Basic {basic}"})
    assert signin.status_code == 401


def test_gem_signin_key_name_that_cannot_be_stored_is_400(server):
    server.cli("user", "create", "signer", "--password", "pw")
    basic = base64.b64encode(b"signer:pw").decode()
    response = httpx.post(f"{server.url}/rubygems/api/v1/api_key", data={"name": "k\x00", "push_rubygem": "true"},
                          headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 400, response.text
