"""Token management rules against a real server: a token mints only within its own scopes and
expiry, and lists and revokes only itself and the tokens it minted (transitively); admin manages
all; a user signed in with a password manages all of their own tokens; any other id is 404."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx
import pytest

API = "/api/v1/tokens"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ids(server, token: str) -> set[int]:
    response = httpx.get(server.url + API, headers=_bearer(token))
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()}


def _mint(server, by: str, *scopes: str, expires_at: str | None = None, name: str = "minted") -> httpx.Response:
    body = {"name": name, "scopes": list(scopes), **({"expires_at": expires_at} if expires_at else {})}
    return httpx.post(server.url + API, headers=_bearer(by), json=body)


@pytest.fixture(scope="module")
def admin(server) -> tuple[str, int]:
    secret = server.mint_token("admin", user="carol", name="carol-admin")
    return secret, max(_ids(server, secret))


def test_a_read_token_cannot_see_or_revoke_the_admin_token_of_its_own_user(server, admin):
    admin_secret, admin_id = admin
    reader = server.mint_token("pypi:package:x:read", user="carol", name="ci-read")
    reader_id = max(_ids(server, admin_secret))

    assert _ids(server, reader) == {reader_id}
    revoke = httpx.delete(server.url + f"{API}/{admin_id}", headers=_bearer(reader))
    assert revoke.status_code == 404
    assert str(admin_id) in revoke.json()["detail"]
    unknown = httpx.delete(server.url + f"{API}/999999", headers=_bearer(reader))
    assert unknown.status_code == 404
    assert unknown.json()["detail"].replace("999999", str(admin_id)) == revoke.json()["detail"]  # nothing reveals existence
    assert httpx.get(server.url + API, headers=_bearer(admin_secret)).status_code == 200  # admin still works

    broader = _mint(server, reader, "pypi:package:*:read")
    assert broader.status_code == 403 and "pypi:package:*:read" in broader.json()["detail"]
    narrower = _mint(server, reader, "pypi:package:x:read", expires_at=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    assert narrower.status_code == 201, narrower.text
    assert httpx.delete(server.url + f"{API}/{narrower.json()['id']}", headers=_bearer(reader)).status_code == 200


def test_a_token_mints_only_within_its_scopes_and_manages_what_it_minted(server):
    parent = server.mint_token("pypi:package:x:write", user="dave", name="ci")
    [parent_id] = _ids(server, parent)

    for broader in ("pypi:package:*:read", "pypi:package:y:read", "pypi:package:x:yank", "rubygems:gem:x:read", "admin"):
        refused = _mint(server, parent, broader)
        assert refused.status_code == 403, (broader, refused.text)
        assert broader in refused.json()["detail"] and "scopes it holds" in refused.json()["detail"]

    child = _mint(server, parent, "pypi:package:X:read")  # write implies read; names are normalized
    assert child.status_code == 201, child.text
    child_id, child_secret = child.json()["id"], child.json()["token"]
    assert child.json()["created_by"] == parent_id
    listing = {line.split("\t")[0]: line for line in server.cli("token", "list", "--user", "dave").stdout.splitlines()}
    assert f"\tby={parent_id}\t" in listing[str(child_id)] and "\tby=-\t" in listing[str(parent_id)]
    grandchild = _mint(server, child_secret, "pypi:package:x:read")
    assert grandchild.status_code == 201, grandchild.text
    grandchild_id = grandchild.json()["id"]

    assert _ids(server, parent) == {parent_id, child_id, grandchild_id}
    assert _ids(server, child_secret) == {child_id, grandchild_id}
    assert httpx.delete(server.url + f"{API}/{parent_id}", headers=_bearer(child_secret)).status_code == 404

    revoked = httpx.delete(server.url + f"{API}/{grandchild_id}", headers=_bearer(parent))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert httpx.get(server.url + API, headers=_bearer(grandchild.json()["token"])).status_code == 401

    itself = httpx.delete(server.url + f"{API}/{child_id}", headers=_bearer(child_secret))
    assert itself.status_code == 200, itself.text
    assert httpx.get(server.url + API, headers=_bearer(child_secret)).status_code == 401
    assert httpx.get(server.url + API, headers=_bearer(parent)).status_code == 200


def test_a_minted_token_never_outlives_its_creator(server, admin):
    soon = datetime.now(timezone.utc) + timedelta(days=1)
    parent = _mint(server, admin[0], "rubygems:gem:*:write", expires_at=soon.isoformat())
    assert parent.status_code == 201, parent.text
    parent_secret = parent.json()["token"]

    later = _mint(server, parent_secret, "rubygems:gem:*:read", expires_at=(soon + timedelta(days=1)).isoformat())
    assert later.status_code == 403
    assert "expiry" in later.json()["detail"]

    unspecified = _mint(server, parent_secret, "rubygems:gem:*:read")
    assert unspecified.status_code == 201, unspecified.text
    assert datetime.fromisoformat(unspecified.json()["expires_at"]) == datetime.fromisoformat(parent.json()["expires_at"])

    earlier = _mint(server, parent_secret, "rubygems:gem:*:read", expires_at=(soon - timedelta(hours=1)).isoformat())
    assert earlier.status_code == 201, earlier.text


def test_admin_manages_every_token(server, admin):
    other = server.mint_token("pypi:package:z:read", user="erin", name="erin-read")
    [other_id] = _ids(server, other)
    assert other_id in _ids(server, admin[0])
    assert httpx.delete(server.url + f"{API}/{other_id}", headers=_bearer(admin[0])).status_code == 200


def test_the_cli_manages_every_token(server):
    minted = _mint(server, server.mint_token("pypi:package:q:write", user="hal"), "pypi:package:q:read")
    assert server.cli("token", "revoke", str(minted.json()["id"])).returncode == 0  # the operator needs no token
    unknown = server.cli("token", "revoke", "999999", check=False)
    assert unknown.returncode == 1 and "No token with id 999999" in unknown.stderr


def test_a_password_sign_in_manages_all_of_that_users_tokens(server):
    server.cli("user", "create", "frank", "--password", "s3cret-pw")
    first = server.mint_token("pypi:package:a:read", user="frank", name="one")
    server.mint_token("rubygems:gem:b:write", user="frank", name="two")
    server.mint_token("pypi:package:c:read", user="gina", name="someone-else")
    basic = {"Authorization": "Basic " + base64.b64encode(b"frank:s3cret-pw").decode()}

    listed = httpx.get(server.url + API, headers=basic)
    assert listed.status_code == 200, listed.text
    assert {t["name"] for t in listed.json()} == {"one", "two"}
    [first_id] = _ids(server, first)
    assert httpx.delete(server.url + f"{API}/{first_id}", headers=basic).status_code == 200

    minted = httpx.post(server.url + API, headers=basic, json={"name": "deploy", "scopes": ["pypi:package:*:write"]})
    assert minted.status_code == 201, minted.text
    assert minted.json()["created_by"] is None
    not_admin = httpx.post(server.url + API, headers=basic, json={"name": "x", "scopes": ["admin"]})
    assert not_admin.status_code == 403

    wrong = httpx.get(server.url + API, headers={"Authorization": "Basic " + base64.b64encode(b"frank:nope").decode()})
    assert wrong.status_code == 401
