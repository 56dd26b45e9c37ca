"""twine, pip and uv against a real server process: publish, install, yank, refuse.

The tree: ``pky-base`` 1.0 (wheel + sdist), 1.1 (yanked), 2.0 (Requires-Python >=4, so
never installable here) and ``pky-app`` 1.0 depending on ``pky-base>=1.0``.
"""

from __future__ import annotations

import os

import httpx
import pytest

from tests.pypi.pypi_clients import Venv, api, clean_env, run, twine_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel
from tests.support.access_log import requested


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    out = tmp_path_factory.mktemp("dists")
    return {
        "base-1.0": [build_wheel(out, "pky-base", "1.0"), build_sdist(out, "pky-base", "1.0")],
        "base-1.1": [build_wheel(out, "pky-base", "1.1")],
        "base-2.0": [build_wheel(out, "pky-base", "2.0", requires_python=">=4")],
        "app-1.0": [
            build_wheel(out, "Pky.App", "1.0", requires_dist=("pky-base>=1.0",)),
            build_sdist(out, "Pky.App", "1.0", requires_dist=("pky-base>=1.0",)),
        ],
    }


@pytest.fixture(scope="module")
def published(server, dists, tmp_path_factory):
    """Everything uploaded with twine by alice, then pky-base 1.1 yanked through the API."""
    token = server.mint_token("pypi:package:*:write", "pypi:package:*:yank", user="alice")
    home = tmp_path_factory.mktemp("twine-home")
    files = [f for group in dists.values() for f in group]
    result = twine_upload(server.url, files, home, "__token__", token)
    assert result.returncode == 0, result.stdout + result.stderr
    response = api(server.url, token, "POST", "/packages/pypi/pky-base/versions/1.1/yank", json={"reason": "broken build"})
    assert response.status_code == 200, response.text
    return {"token": token, "home": home, "files": files}


def _json_page(server, project):
    response = httpx.get(
        f"{server.url}/pypi/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    assert response.status_code == 200, response.text
    return response


def test_twine_uploaded_every_file(server, published, dists):
    page = _json_page(server, "pky-base").json()
    assert sorted(f["filename"] for f in page["files"]) == sorted(
        p.name for key in ("base-1.0", "base-1.1", "base-2.0") for p in dists[key]
    )
    assert sorted(page["versions"]) == ["1.0", "1.1", "2.0"]
    by_name = {f["filename"]: f for f in page["files"]}
    assert by_name["pky_base-1.1-py3-none-any.whl"]["yanked"] == "broken build"
    assert by_name["pky_base-2.0-py3-none-any.whl"]["requires-python"] == ">=4"
    app = _json_page(server, "pky-app").json()
    assert {f["filename"] for f in app["files"]} == {p.name for p in dists["app-1.0"]}


def test_rerunning_the_same_upload_succeeds_and_changes_nothing(server, published, tmp_path):
    before = _json_page(server, "pky-base")
    result = twine_upload(server.url, published["files"], tmp_path / "home", "__token__", published["token"])
    assert result.returncode == 0, result.stdout + result.stderr
    after = _json_page(server, "pky-base")
    assert after.headers["x-pypi-last-serial"] == before.headers["x-pypi-last-serial"]
    assert after.content == before.content


def test_pip_resolves_the_dependency_tree(server, published, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{server.url}/pypi/simple/", "pky-app")
    assert result.returncode == 0, result.stdout + result.stderr
    # 2.0 needs Python >= 4 and 1.1 is yanked: pip settles on 1.0
    assert venv.installed_version("pky_app") == "1.0"
    assert venv.installed_version("pky_base") == "1.0"
    assert requested(server, "GET", "/pypi/files/pky-app/pky_app-1.0-py3-none-any.whl")


def test_pip_installs_a_yanked_version_when_pinned(server, published, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{server.url}/pypi/simple/", "pky-base==1.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pky_base") == "1.1"
    assert "broken build" in result.stdout + result.stderr  # pip warns with the yank reason


def test_pip_refuses_a_version_whose_requires_python_excludes_it(server, published, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{server.url}/pypi/simple/", "pky-base==2.0")
    assert result.returncode != 0
    assert "Requires-Python" in result.stdout + result.stderr


def test_uv_resolves_the_dependency_tree(server, published, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    log_before = len(server.log())
    result = venv.uv_install(f"{server.url}/pypi/simple/", "pky-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pky_app") == "1.0"
    assert venv.installed_version("pky_base") == "1.0"
    assert requested(server, "GET", "/pypi/files/pky-app/pky_app-1.0-py3-none-any.whl.metadata", log_before)  # PEP 658 sidecar used


def test_uv_installs_a_yanked_version_only_when_pinned(server, published, tmp_path):
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.uv_install(f"{server.url}/pypi/simple/", "pky-base==1.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pky_base") == "1.1"
    other = Venv(tmp_path / "venv2", tmp_path / "home2")
    result = other.uv_install(f"{server.url}/pypi/simple/", "pky-base>1.0")
    assert result.returncode != 0  # 1.1 is yanked and 2.0 needs Python >= 4


def test_twine_with_a_bad_token_shows_the_servers_message(server, published, tmp_path):
    result = twine_upload(server.url, published["files"][:1], tmp_path / "home", "__token__", "pky_not-a-real-token")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "403" in output
    assert "Invalid or non-existent authentication information" in output


def test_a_large_upload_with_a_bad_token_still_gets_the_message(server, published, tmp_path):
    """The refusal comes before the file is read; twine must still get the response, not a reset."""
    wheel = build_wheel(tmp_path, "pky-large", "1.0", module_code="DATA = %r\n" % os.urandom(6 * 1024 * 1024).hex())
    assert wheel.stat().st_size > 5 * 1024 * 1024
    result = twine_upload(server.url, [wheel], tmp_path / "home", "__token__", "pky_not-a-real-token")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "403" in output and "Invalid or non-existent authentication information" in output


def test_upload_without_credentials_is_refused_with_the_message(server, published, dists, tmp_path):
    wheel = dists["base-1.0"][0]
    response = httpx.post(
        f"{server.url}/pypi/legacy/",
        data={":action": "file_upload", "name": "pky-base", "version": "1.0"},
        files={"content": (wheel.name, wheel.read_bytes())},
    )
    assert response.status_code == 403
    assert response.reason_phrase.startswith("Invalid or non-existent authentication information")
    assert "Invalid or non-existent authentication information" in response.text
    # uv publish shows the body (without any credentials it refuses to send at all)
    result = run(
        ["uv", "publish", "--publish-url", f"{server.url}/pypi/legacy/", "--token", "pky_bogus", str(wheel)],
        clean_env(tmp_path / "home"),
    )
    assert result.returncode != 0
    assert "Invalid or non-existent authentication information" in result.stdout + result.stderr


def test_wrong_scope_token_gets_403(server, published, dists, tmp_path):
    token = server.mint_token("pypi:package:something-else:write", user="alice", name="narrow")
    result = twine_upload(server.url, dists["app-1.0"][:1], tmp_path / "home", "__token__", token)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "403" in output and "isn't allowed to upload to project 'Pky.App'" in output


def test_another_users_project_is_refused(server, published, dists, tmp_path):
    token = server.mint_token("pypi:package:*:write", user="mallory", name="wide")
    extra = build_wheel(tmp_path, "pky-base", "3.0")
    result = twine_upload(server.url, [extra], tmp_path / "home", "__token__", token)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "403" in output and "mallory" in output
    page = _json_page(server, "pky-base").json()
    assert "3.0" not in page["versions"]


def test_uv_publish_with_a_token(server, published, tmp_path):
    token = published["token"]
    wheel = build_wheel(tmp_path, "pky-uv", "0.1")
    sdist = build_sdist(tmp_path, "pky-uv", "0.1")
    result = run(
        ["uv", "publish", "--publish-url", f"{server.url}/pypi/legacy/", "--token", token, str(wheel), str(sdist)],
        clean_env(tmp_path / "home"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = _json_page(server, "pky-uv").json()
    assert {f["filename"] for f in page["files"]} == {wheel.name, sdist.name}
