"""Cached pages stay correct across worker processes: a yank shows on the very next request."""

from __future__ import annotations

import httpx

from tests.pypi.pypi_clients import api, http_upload
from tests.pypi.pypi_dists import build_wheel

JSON_V1 = "application/vnd.pypi.simple.v1+json"


def test_yank_is_visible_at_once_from_every_worker(server_factory, tmp_path):
    server = server_factory(workers=3)
    token = server.mint_token("admin", user="root")
    wheel = build_wheel(tmp_path, "multi-worker", "1.0")
    assert http_upload(server.url, token, wheel, "multi-worker", "1.0").status_code == 200

    def pages():
        # fresh connections, so the requests spread over the worker processes
        for _ in range(30):
            simple = httpx.get(f"{server.url}/pypi/simple/multi-worker/", headers={"Accept": JSON_V1}).json()
            legacy = httpx.get(f"{server.url}/pypi/pypi/multi-worker/json").json()
            yield simple["files"][0]["yanked"], legacy["urls"][0]["yanked"]

    assert set(pages()) == {(False, False)}  # every worker has the page cached now
    response = api(server.url, token, "POST", "/packages/pypi/multi-worker/versions/1.0/yank", json={"reason": "oops"})
    assert response.status_code == 200
    assert set(pages()) == {("oops", True)}


def test_owner_changes_show_in_the_json_api_of_every_worker_at_once(server_factory, tmp_path):
    server = server_factory(workers=2)
    token = server.mint_token("admin", user="root")
    server.cli("user", "create", "bea")
    wheel = build_wheel(tmp_path, "owned-multi", "1.0")
    assert http_upload(server.url, token, wheel, "owned-multi", "1.0").status_code == 200

    def owners_seen():
        for _ in range(20):  # fresh connections, so both workers answer
            roles = httpx.get(f"{server.url}/pypi/pypi/owned-multi/json").json()["ownership"]["roles"]
            yield tuple(sorted(r["user"] for r in roles))

    assert set(owners_seen()) == {("root",)}  # cached in every worker now
    added = api(server.url, token, "POST", "/packages/pypi/owned-multi/owners", json={"user": "bea"})
    assert added.status_code in (200, 201), added.text
    assert set(owners_seen()) == {("bea", "root")}
    removed = api(server.url, token, "DELETE", "/packages/pypi/owned-multi/owners/root")
    assert removed.status_code == 200, removed.text
    assert set(owners_seen()) == {("bea",)}
