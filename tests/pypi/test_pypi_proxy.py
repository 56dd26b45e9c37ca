"""The PyPI proxy against a real second packyard as its upstream (no internet): pip and uv install
through it; local names win; private and reserved names never resolve upstream; files are
verified, kept and recorded; a stopped upstream leaves cached pages and files served."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time

import httpx
import pytest

from tests.pypi.pypi_clients import Venv, api, twine_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel
from tests.pypi.upstream_fakes import FakeFile, FakeUpstream
from tests.support.server import start_server

JSON_V1 = "application/vnd.pypi.simple.v1+json"


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("dists")
    return {
        "lib": [build_wheel(out, "pxy-lib", "1.0", requires_python=">=3.8"), build_sdist(out, "pxy-lib", "1.0")],
        "lib-1.1": [build_wheel(out, "pxy-lib", "1.1")],
        "app": [build_wheel(out, "pxy-app", "1.0", requires_dist=("pxy-lib>=1.0",))],
        "shadow-upstream": [build_wheel(out, "pxy-shadow", "1.0"), build_wheel(out, "pxy-shadow", "2.0")],
        "secret-upstream": [build_wheel(out, "pxy-secret", "3.0")],
        "reserved-upstream": [build_wheel(out, "pxy-reserved", "1.0")],
        "gone-later": [build_wheel(out, "pxy-never-fetched", "1.0")],
    }


@pytest.fixture(scope="module")
def local_dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("local-dists")
    return {
        "shadow": [build_wheel(out, "pxy-shadow", "1.0", module_code="VERSION = 'local-1.0'\n")],
        "secret": [build_wheel(out, "pxy-secret", "0.5")],
    }


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, dists):
    running = start_server(tmp_path_factory.mktemp("upstream"))
    running.token = running.mint_token("pypi:package:*:write", "pypi:package:*:yank", user="up")
    home = tmp_path_factory.mktemp("twine-up")
    files = [f for key, group in dists.items() if key != "lib-1.1" for f in group]
    result = twine_upload(running.url, files, home, "__token__", running.token)
    assert result.returncode == 0, result.stdout + result.stderr
    yield running
    running.stop()
    running.backend.drop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, upstream, local_dists):
    running = start_server(tmp_path_factory.mktemp("proxy"), extra_env={
        "PACKYARD_PYPI_UPSTREAM": upstream.url + "/pypi/simple/", "PACKYARD_UPSTREAM_CACHE_SECONDS": "1",
    })
    running.token = running.mint_token("pypi:package:*:write", "pypi:package:*:read", user="alice")
    running.admin = running.mint_token("admin", user="root")
    home = tmp_path_factory.mktemp("twine-proxy")
    files = [f for group in local_dists.values() for f in group]
    result = twine_upload(running.url, files, home, "__token__", running.token)
    assert result.returncode == 0, result.stdout + result.stderr
    response = api(running.url, running.token, "PATCH", "/packages/pypi/pxy-secret", json={"visibility": "private"})
    assert response.status_code == 200, response.text
    reserved = running.cli("pypi", "reserve", "PXY_Reserved")
    assert "reserved PXY_Reserved" in reserved.stdout
    yield running
    running.stop()
    running.backend.drop()


def page(server, project: str, token: str | None = None) -> httpx.Response:
    auth = ("__token__", token) if token else None
    return httpx.get(f"{server.url}/pypi/simple/{project}/", headers={"accept": JSON_V1}, auth=auth, timeout=30)


def test_pip_and_uv_install_an_upstream_only_project_with_its_upstream_dependency(proxy, upstream, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pxy_app") == "1.0"
    assert venv.installed_version("pxy_lib") == "1.0"
    uv_venv = Venv(tmp_path / "uv-venv", tmp_path / "uv-home")
    result = uv_venv.uv_install(f"{proxy.url}/pypi/simple/", "pxy-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert uv_venv.installed_version("pxy_lib") == "1.0"

    records = api(proxy.url, proxy.admin, "GET", "/proxy/fetches", params={"ecosystem": "pypi", "package": "PXY.lib"}).json()["items"]
    wheel = next(r for r in records if r["filename"] == "pxy_lib-1.0-py3-none-any.whl")
    assert wheel["package"] == "pxy-lib" and wheel["version"] == "1.0"
    assert wheel["upstream_url"] == f"{upstream.url}/pypi/files/pxy-lib/pxy_lib-1.0-py3-none-any.whl"
    assert wheel["sha256"] == hashlib.sha256(httpx.get(wheel["upstream_url"]).content).hexdigest()
    assert len([r for r in records if r["filename"] == wheel["filename"]]) == 1  # the second install read it locally
    assert api(proxy.url, proxy.token, "GET", "/proxy/fetches").status_code == 403
