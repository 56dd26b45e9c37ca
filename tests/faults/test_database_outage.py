"""PostgreSQL cut for real (a proxy in front of it refuses connections and drops the open ones):
every route answers a clear, retryable 503 at once — never a 500, never a hang — and after the
outage the very next request succeeds, with everything acknowledged before it intact.

Runs on both passes, always against PostgreSQL (the embedded default's SQLite has no connection to
cut; its disk-full and busy answers are tested in test_disk_full.py and tests/core)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.faults.faultkit import FAST_FAILING, SCOPES, gem_file, gem_push, require_ruby, server_behind_proxy
from tests.pypi.pypi_clients import http_upload, twine_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import RubyEnv, craft_gem

DOWN = "database is unavailable"


@pytest.fixture
def outage(tmp_path, postgres_backend):
    with server_behind_proxy(tmp_path / "server", postgres_backend, "database", extra_env=FAST_FAILING) as cut:
        yield cut


def _retryable_503(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["retry-after"].isdigit()
    assert DOWN in response.text


def test_every_route_answers_503_while_the_database_is_down_and_recovers_by_itself(outage, tmp_path):
    require_ruby()
    server, proxy = outage
    token = server.mint_token(*SCOPES)
    admin = server.mint_token("admin", user="root")
    dists = tmp_path / "dists"
    dists.mkdir()
    first = build_wheel(dists, "sturdy", "1.0")
    assert http_upload(server.url, token, first, "sturdy", "1.0").status_code == 200
    assert gem_push(server.url, token, craft_gem("sturdy-gem", "1.0.0")).status_code == 200
    ruby = RubyEnv(tmp_path / "ruby")
    host = f"{server.url}/rubygems"

    proxy.close()

    # twine prints only the status line: the reason phrase carries the message
    second = build_wheel(dists, "sturdy", "1.1")
    twine = twine_upload(server.url, [second], tmp_path / "home", "__token__", token)
    assert twine.returncode != 0
    assert "503" in twine.stdout + twine.stderr and DOWN in " ".join((twine.stdout + twine.stderr).split()), twine.stdout + twine.stderr
    _retryable_503(http_upload(server.url, token, second, "sturdy", "1.1"))

    # gem prints the body
    pushed = ruby.run(["gem", "push", str(gem_file(tmp_path / "gems", "sturdy-gem-1.1.0.gem", craft_gem("sturdy-gem", "1.1.0"))),
                       "--host", host], check=False, GEM_HOST_API_KEY=token)
    assert pushed.returncode != 0 and DOWN in " ".join(pushed.stdout.split()), pushed.stdout + pushed.stderr
    yank = httpx.request("DELETE", f"{host}/api/v1/gems/yank", data={"gem_name": "sturdy-gem", "version": "1.0.0"},
                         headers={"Authorization": token}, timeout=30)
    _retryable_503(yank)

    # the management API answers JSON
    for method, path in (("GET", "/api/v1/tokens"), ("GET", "/api/v1/packages"), ("POST", "/api/v1/tokens")):
        answer = httpx.request(method, server.url + path, headers={"Authorization": f"Bearer {admin}"},
                               json={"name": "ci", "scopes": ["pypi:package:*:read"]}, timeout=30)
        _retryable_503(answer)
        assert DOWN in answer.json()["detail"]

    # reads are never a 500 (stored documents or a 503; serving them without a database is the read side's work)
    for path in ("/pypi/simple/sturdy/", "/pypi/pypi/sturdy/json", "/rubygems/info/sturdy-gem", "/rubygems/versions"):
        answer = httpx.get(server.url + path, timeout=30)
        assert answer.status_code in (200, 503), (path, answer.status_code, answer.text)

    ready = httpx.get(server.url + "/readyz", timeout=30)
    assert ready.status_code == 503 and "database" in ready.json()["problems"]
    assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200

    proxy.open()

    # the very next requests succeed, no restart; what was acknowledged before is intact
    assert http_upload(server.url, token, second, "sturdy", "1.1").status_code == 200
    assert gem_push(server.url, token, craft_gem("sturdy-gem", "1.1.0")).status_code == 200
    page = httpx.get(f"{server.url}/pypi/simple/sturdy/", timeout=30).text
    assert "sturdy-1.0-py3-none-any.whl" in page and "sturdy-1.1-py3-none-any.whl" in page
    download = httpx.get(f"{server.url}/pypi/files/sturdy/{first.name}", timeout=30)
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(first.read_bytes()).hexdigest()
    info = httpx.get(f"{host}/info/sturdy-gem", timeout=30).text
    assert "1.0.0 " in info and "1.1.0 " in info
    assert httpx.get(server.url + "/readyz", timeout=30).status_code == 200
    assert "Traceback" not in server.log()


def test_connections_cut_mid_flight_are_replaced_without_an_error(outage, tmp_path):
    """The database restarts (open connections dropped, new ones accepted): the pool notices the dead
    connections and the next requests succeed."""
    server, proxy = outage
    token = server.mint_token(*SCOPES)
    dists = tmp_path / "dists"
    dists.mkdir()
    for version in ("1.0", "1.1", "1.2"):
        proxy.cut()
        wheel = build_wheel(dists, "resilient", version)
        assert http_upload(server.url, token, wheel, "resilient", version).status_code == 200
        assert httpx.get(f"{server.url}/api/v1/packages", timeout=30).status_code == 200
