"""The management API's auth paths, against a real server: each credential form, 401 vs 403 vs 200."""

from __future__ import annotations

import base64

import httpx
import pytest


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def admin_token(server) -> str:
    return server.mint_token("admin", user="root-admin")


@pytest.mark.parametrize(
    "header",
    [
        lambda t: f"Bearer {t}",
        lambda t: f"Token {t}",
        lambda t: _basic("__token__", t),
        lambda t: _basic("root-admin", t),
        lambda t: t,
    ],
    ids=["bearer", "token", "basic-__token__", "basic-username", "raw"],
)
def test_every_credential_form_is_accepted(server, admin_token, header):
    response = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": header(admin_token)})
    assert response.status_code == 200, response.text
    assert any(t["user"] == "root-admin" for t in response.json())


@pytest.mark.parametrize(
    "header",
    [None, "Bearer pky_not-a-real-token", _basic("__token__", "pky_wrong"), "Basic !!!notbase64", "Digest abc def"],
    ids=["missing", "unknown-bearer", "unknown-basic", "malformed-basic", "unknown-scheme"],
)
def test_missing_or_invalid_credentials_get_401_with_a_challenge(server, header):
    headers = {"Authorization": header} if header else {}
    response = httpx.get(server.url + "/api/v1/tokens", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="packyard"'
    assert response.json()["detail"]


def test_token_of_another_user_name_in_basic_is_refused(server, admin_token):
    response = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": _basic("mallory", admin_token)})
    assert response.status_code == 401
    assert "does not belong" in response.json()["detail"]


def test_a_scoped_token_cannot_mint_admin_or_yank_a_gem(server, admin_token):
    created = httpx.post(
        server.url + "/api/v1/tokens",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={"name": "ci", "scopes": ["pypi:package:foo:write"]},
    )
    assert created.status_code == 201, created.text
    scoped = created.json()["token"]
    assert scoped.startswith("pky_")

    mint_admin = httpx.post(
        server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {scoped}"}, json={"name": "x", "scopes": ["admin"]}
    )
    assert mint_admin.status_code == 403
    assert "admin" in mint_admin.json()["detail"]

    mint_narrower = httpx.post(
        server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {scoped}"}, json={"name": "r", "scopes": ["pypi:package:Foo:read"]}
    )
    assert mint_narrower.status_code == 201, mint_narrower.text
    assert mint_narrower.json()["scopes"] == ["pypi:package:foo:read"]

    yank = httpx.post(server.url + "/api/v1/packages/rubygems/rails/versions/1.0/yank", headers={"Authorization": f"Bearer {scoped}"})
    assert yank.status_code == 403
    assert "rubygems:gem:rails:yank" in yank.json()["detail"]


def test_revoked_token_gets_401(server, admin_token):
    created = httpx.post(
        server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {admin_token}"}, json={"name": "short", "scopes": ["pypi:package:*:read"]}
    ).json()
    revoked = httpx.delete(server.url + f"/api/v1/tokens/{created['id']}", headers={"Authorization": f"Bearer {admin_token}"})
    assert revoked.status_code == 200
    response = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {created['token']}"})
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
