"""The CLI against a running server on the same data: tokens it prints work, revoked ones don't."""

from __future__ import annotations

import httpx


def test_token_create_prints_only_a_working_secret(server):
    result = server.cli("token", "create", "--user", "alice", "--scope", "admin")
    secret = result.stdout.strip()
    assert secret.startswith("pky_") and "\n" not in secret and len(secret) >= 40
    ok = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    wrong = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret[:-2]}xx"})
    assert wrong.status_code == 401


def test_token_list_and_revoke(server):
    secret = server.cli("token", "create", "--user", "dora", "--scope", "pypi:package:*:read", "--name", "laptop").stdout.strip()
    listing = server.cli("token", "list", "--user", "dora").stdout
    assert "laptop" in listing and secret not in listing and "pypi:package:*:read" in listing
    token_id = listing.split("\t", 1)[0]
    assert server.cli("token", "revoke", token_id).returncode == 0
    assert "revoked" in server.cli("token", "list", "--user", "dora").stdout
    response = httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_bad_scope_is_refused_with_advice(server):
    result = server.cli("token", "create", "--user", "alice", "--scope", "pypi:gem:x:write", check=False)
    assert result.returncode != 0
    assert "pypi:package:<name|*>:<read|write|yank>" in result.stderr


def test_user_create_and_duplicate(server):
    assert server.cli("user", "create", "erin", "--password", "pw").returncode == 0
    again = server.cli("user", "create", "erin", check=False)
    assert again.returncode == 1 and "exists already" in again.stderr


def test_db_upgrade_is_idempotent(server):
    result = server.cli("db", "upgrade")
    assert "up to date" in result.stdout
