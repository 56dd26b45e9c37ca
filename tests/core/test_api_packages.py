"""The management API on real packages: listing, detail, pagination, yank, owners, visibility, audit."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.pypi.pypi_dists import build_wheel


def upload(server, token: str, name: str, version: str, workdir) -> None:
    wheel = build_wheel(workdir, name, version)
    data = wheel.read_bytes()
    response = httpx.post(
        server.url + "/pypi/legacy/",
        auth=("__token__", token),
        data={":action": "file_upload", "protocol_version": "1", "name": name, "version": version,
              "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
              "sha256_digest": hashlib.sha256(data).hexdigest()},
        files={"content": (wheel.name, data, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def tokens(server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dists")
    admin = server.mint_token("admin", user="root-admin")
    alice = server.mint_token("pypi:package:*:write", "pypi:package:*:yank", user="alice")
    server.mint_token("pypi:package:*:read", user="bob")
    for name, version in [("Alpha.One", "1.0"), ("Alpha.One", "1.1"), ("beta", "0.1"), ("gamma", "2.0")]:
        upload(server, alice, name, version, workdir)
    return {"admin": admin, "alice": alice, "reader": server.mint_token("pypi:package:beta:read", user="carol")}


def get(server, path: str, token: str | None = None, headers: dict[str, str] | None = None, **kw) -> httpx.Response:
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(server.url + path, headers=headers, **kw)


def call(server, method: str, path: str, token: str, **kw) -> httpx.Response:
    return httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, **kw)


def test_listing_is_paginated(server, tokens):
    first = get(server, "/api/v1/packages/pypi", params={"per_page": 2}).json()
    second = get(server, "/api/v1/packages/pypi", params={"per_page": 2, "page": 2}).json()
    assert first["total"] == 3
    assert [p["normalized_name"] for p in first["items"] + second["items"]] == ["alpha-one", "beta", "gamma"]
    assert get(server, "/api/v1/packages").json()["total"] == 3
    assert get(server, "/api/v1/packages/cobol").status_code == 404


def test_detail_has_versions_files_and_owners(server, tokens):
    detail = get(server, "/api/v1/packages/pypi/alpha_one").json()
    assert detail["name"] == "Alpha.One" and detail["owners"] == ["alice"] and detail["visibility"] == "public"
    assert [v["version"] for v in detail["versions"]] == ["1.1", "1.0"]
    files = detail["versions"][0]["artifacts"]
    assert files[0]["filename"] == "alpha_one-1.1-py3-none-any.whl" and len(files[0]["sha256"]) == 64
    missing = get(server, "/api/v1/packages/pypi/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_yank_and_unyank_show_in_the_simple_api_at_once(server, tokens):
    bad = call(server, "POST", "/api/v1/packages/pypi/beta/versions/0.1/yank", tokens["reader"], json={"reason": "x"})
    assert bad.status_code == 403
    ok = call(server, "POST", "/api/v1/packages/pypi/beta/versions/0.1/yank", tokens["alice"], json={"reason": "broken build"})
    assert ok.status_code == 200 and ok.json()["changed"] == ["beta-0.1-py3-none-any.whl"]
    page = get(server, "/pypi/simple/beta/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert page["files"][0]["yanked"] == "broken build"
    assert get(server, "/api/v1/packages/pypi/beta").json()["versions"][0]["yanked"] is True
    assert call(server, "POST", "/api/v1/packages/pypi/beta/versions/0.1/unyank", tokens["alice"]).status_code == 200
    page = get(server, "/pypi/simple/beta/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert page["files"][0]["yanked"] is False
    assert call(server, "POST", "/api/v1/packages/pypi/beta/versions/9.9/yank", tokens["alice"]).status_code == 404


def test_owners_add_and_remove(server, tokens):
    assert call(server, "POST", "/api/v1/packages/pypi/gamma/owners", tokens["alice"], json={"user": "nobody"}).status_code == 404
    added = call(server, "POST", "/api/v1/packages/pypi/gamma/owners", tokens["alice"], json={"user": "bob"})
    assert added.status_code == 201 and added.json() == [{"user": "alice"}, {"user": "bob"}]
    assert get(server, "/api/v1/packages/pypi/gamma/owners").json() == [{"user": "alice"}, {"user": "bob"}]
    removed = call(server, "DELETE", "/api/v1/packages/pypi/gamma/owners/bob", tokens["alice"])
    assert removed.status_code == 200 and removed.json() == [{"user": "alice"}]
    last = call(server, "DELETE", "/api/v1/packages/pypi/gamma/owners/alice", tokens["alice"])
    assert last.status_code == 400 and "last owner" in last.json()["detail"]


def test_private_package_needs_a_read_scope(server, tokens):
    changed = call(server, "PATCH", "/api/v1/packages/pypi/gamma", tokens["alice"], json={"visibility": "private"})
    assert changed.status_code == 200 and changed.json()["visibility"] == "private"
    anonymous = get(server, "/api/v1/packages/pypi/gamma")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="packyard"'
    assert get(server, "/api/v1/packages/pypi/gamma", tokens["reader"]).status_code == 403
    assert get(server, "/api/v1/packages/pypi/gamma", tokens["alice"]).status_code == 200
    anonymous_listing = get(server, "/api/v1/packages/pypi").json()
    assert [p["normalized_name"] for p in anonymous_listing["items"]] == ["alpha-one", "beta"]
    assert anonymous_listing["total"] == 2  # private packages are neither listed nor counted
    owner_listing = get(server, "/api/v1/packages/pypi", tokens["alice"]).json()
    assert owner_listing["total"] == 3 and "gamma" in [p["normalized_name"] for p in owner_listing["items"]]
    named = get(server, "/api/v1/packages/pypi", tokens["reader"], params={"per_page": 1}).json()
    assert named["total"] == 2 and [p["normalized_name"] for p in named["items"]] == ["alpha-one"]
    bad = call(server, "PATCH", "/api/v1/packages/pypi/gamma", tokens["alice"], json={"visibility": "secret"})
    assert bad.status_code == 422 and "visibility" in bad.json()["detail"]


def test_audit_is_admin_only_and_records_changes(server, tokens):
    assert get(server, "/api/v1/audit", tokens["alice"]).status_code == 403
    events = get(server, "/api/v1/audit", tokens["admin"]).json()["items"]
    actions = {e["action"] for e in events}
    assert {"package.claim", "file.publish", "token.create"} <= actions
    publish = next(e for e in events if e["action"] == "file.publish")
    assert publish["actor"] == "alice" and publish["remote_addr"] == "127.0.0.1"
