"""PACKYARD_PRIVATE=true: every read needs a token; health probes stay open."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx


def test_private_registry_needs_a_token_for_every_read(server_factory):
    server = server_factory(extra_env={"PACKYARD_PRIVATE": "true"})
    assert httpx.get(server.url + "/healthz").status_code == 200
    anonymous = httpx.get(server.url + "/api/v1/packages")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="packyard"'
    for path in ("/pypi/simple/", "/rubygems/versions"):
        response = httpx.get(server.url + path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == 'Basic realm="packyard"'
    token = server.mint_token("pypi:package:*:read", "rubygems:gem:*:read")
    assert httpx.get(server.url + "/api/v1/packages", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert httpx.get(server.url + "/pypi/simple/", auth=("__token__", token)).status_code == 200
    assert httpx.get(server.url + "/rubygems/versions", auth=("__token__", token)).status_code == 200


def test_expired_token_is_refused(server):
    admin = server.mint_token("admin", user="root-admin")
    created = httpx.post(
        server.url + "/api/v1/tokens",
        headers={"Authorization": f"Bearer {admin}"},
        json={"name": "old", "scopes": ["pypi:package:*:read"], "expires_at": "2000-01-01T00:00:00Z"},
    )
    assert created.status_code == 400 and "past" in created.json()["detail"]

    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    created = httpx.post(
        server.url + "/api/v1/tokens",
        headers={"Authorization": f"Bearer {admin}"},
        json={"name": "brief", "scopes": ["pypi:package:*:read"], "expires_at": soon},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    time.sleep(2.2)
    expired = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
