"""Cached pages stay correct across worker processes: a yank shows on the very next request."""

from __future__ import annotations

import httpx

from tests.pypi.pypi_clients import api, http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.support.access_log import from_every_worker

JSON_V1 = "application/vnd.pypi.simple.v1+json"


def test_yank_is_visible_at_once_from_every_worker(server_factory, tmp_path):
    server = server_factory(workers=3)
    token = server.mint_token("admin", user="root")
    wheel = build_wheel(tmp_path, "multi-worker", "1.0")
    assert http_upload(server.url, token, wheel, "multi-worker", "1.0").status_code == 200

    def pages() -> set[tuple]:
        """The yank state of both documents, as each of the 3 workers serves them."""
        simple = from_every_worker(server, 3, lambda headers: httpx.get(
            f"{server.url}/pypi/simple/multi-worker/", headers={"Accept": JSON_V1, **headers}).json()["files"][0]["yanked"])
        legacy = from_every_worker(server, 3, lambda headers: httpx.get(
            f"{server.url}/pypi/pypi/multi-worker/json", headers=headers).json()["urls"][0]["yanked"])
        return set(simple) | {("legacy", yanked) for yanked in legacy}

    assert pages() == {False, ("legacy", False)}  # every worker has the pages in its memo now
    response = api(server.url, token, "POST", "/packages/pypi/multi-worker/versions/1.0/yank", json={"reason": "oops"})
    assert response.status_code == 200
    assert pages() == {"oops", ("legacy", True)}


def test_owner_changes_show_in_the_json_api_of_every_worker_at_once(server_factory, tmp_path):
    server = server_factory(workers=2)
    token = server.mint_token("admin", user="root")
    server.cli("user", "create", "bea")
    wheel = build_wheel(tmp_path, "owned-multi", "1.0")
    assert http_upload(server.url, token, wheel, "owned-multi", "1.0").status_code == 200

    def owners_seen() -> set[tuple[str, ...]]:
        """The owners in the JSON API, as each of the 2 workers serves it."""
        return set(from_every_worker(server, 2, lambda headers: tuple(sorted(
            r["user"] for r in httpx.get(f"{server.url}/pypi/pypi/owned-multi/json", headers=headers).json()["ownership"]["roles"]))))

    assert owners_seen() == {("root",)}  # cached in every worker now
    added = api(server.url, token, "POST", "/packages/pypi/owned-multi/owners", json={"user": "bea"})
    assert added.status_code in (200, 201), added.text
    assert owners_seen() == {("bea", "root")}
    removed = api(server.url, token, "DELETE", "/packages/pypi/owned-multi/owners/root")
    assert removed.status_code == 200, removed.text
    assert owners_seen() == {("bea",)}
