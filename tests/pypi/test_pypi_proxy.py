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
    return httpx.get(f"{server.url}/pypi/simple/{project}/", headers={"accept": JSON_V1}, auth=auth, timeout=30, follow_redirects=True)


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


def test_a_local_name_wins_and_the_higher_upstream_version_is_never_offered(proxy, tmp_path):
    body = page(proxy, "pxy-shadow").json()
    assert [f["filename"] for f in body["files"]] == ["pxy_shadow-1.0-py3-none-any.whl"]
    assert body["versions"] == ["1.0"]
    assert httpx.get(f"{proxy.url}/pypi/files/pxy-shadow/pxy_shadow-2.0-py3-none-any.whl").status_code == 404
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-shadow")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pxy_shadow") == "local-1.0"


def test_a_private_local_name_answers_401_to_anonymous_and_never_goes_upstream(proxy, upstream):
    anonymous = page(proxy, "pxy-secret")
    assert anonymous.status_code == 401 and "3.0" not in anonymous.text
    assert httpx.get(f"{proxy.url}/pypi/files/pxy-secret/pxy_secret-3.0-py3-none-any.whl").status_code == 404  # no such local file
    mine = page(proxy, "pxy-secret", proxy.token).json()
    assert [f["filename"] for f in mine["files"]] == ["pxy_secret-0.5-py3-none-any.whl"]
    assert "/pypi/simple/pxy-app/" in upstream.log()  # the upstream logs what the proxy asks for...
    assert "/pypi/simple/pxy-secret/" not in upstream.log()  # ...and was never asked for the private name


def test_a_reserved_name_never_resolves_upstream(proxy, upstream):
    assert page(proxy, "pxy-reserved").status_code == 404
    assert page(proxy, "PXY.reserved").status_code == 404
    assert "/pypi/simple/pxy-app/" in upstream.log() and "pxy-reserved" not in upstream.log()
    listed = api(proxy.url, proxy.admin, "GET", "/reserved/pypi").json()["items"]
    assert [(r["name"], r["normalized_name"]) for r in listed] == [("PXY_Reserved", "pxy-reserved")]
    # released through the API it resolves upstream at once; reserved again it stops at once
    assert api(proxy.url, proxy.admin, "DELETE", "/reserved/pypi/pxy.reserved").status_code == 204
    assert page(proxy, "pxy-reserved").status_code == 200
    created = api(proxy.url, proxy.admin, "POST", "/reserved/pypi", json={"name": "pxy-reserved"})
    assert created.status_code == 201, created.text
    assert page(proxy, "pxy-reserved").status_code == 404
    assert api(proxy.url, proxy.admin, "POST", "/reserved/pypi", json={"name": "PXY_reserved"}).status_code == 409
    assert api(proxy.url, proxy.token, "POST", "/reserved/pypi", json={"name": "x"}).status_code == 403
    assert api(proxy.url, proxy.admin, "POST", "/reserved/nope", json={"name": "x"}).status_code == 404


def test_the_proxied_page_keeps_what_the_upstream_announced_in_both_formats(proxy, upstream):
    up = page(upstream, "pxy-lib").json()
    mine = page(proxy, "pxy-lib")
    assert mine.headers["content-type"] == JSON_V1 and mine.headers["vary"] == "Accept"
    body = mine.json()
    assert body["name"] == "pxy-lib" and body["versions"] == up["versions"]
    for theirs, ours in zip(up["files"], body["files"], strict=True):
        assert ours["url"] == f"../../files/pxy-lib/{theirs['filename']}#sha256={theirs['hashes']['sha256']}"
        for key in ("filename", "hashes", "requires-python", "core-metadata", "yanked", "size", "upload-time"):
            assert ours.get(key) == theirs.get(key), key
    assert body["files"][0]["requires-python"] == ">=3.8" and body["files"][0]["core-metadata"]
    html = httpx.get(f"{proxy.url}/pypi/simple/pxy-lib/", timeout=30)
    assert html.headers["content-type"].startswith("text/html")
    assert 'data-requires-python="&gt;=3.8"' in html.text and "data-core-metadata=\"sha256=" in html.text
    wheel = body["files"][0]["filename"]
    sidecar = httpx.get(f"{proxy.url}/pypi/files/pxy-lib/{wheel}.metadata", timeout=30)
    assert sidecar.status_code == 200
    assert hashlib.sha256(sidecar.content).hexdigest() == body["files"][0]["core-metadata"]["sha256"]
    assert sidecar.content == httpx.get(f"{upstream.url}/pypi/files/pxy-lib/{wheel}.metadata").content
    # a warm read answers 304 to the ETag it gave
    again = httpx.get(f"{proxy.url}/pypi/simple/pxy-lib/", headers={"accept": JSON_V1, "if-none-match": mine.headers["etag"]})
    assert again.status_code in (200, 304)  # 200 only when the cache lifetime passed and the upstream changed nothing visible


def test_yanked_upstream_files_stay_yanked_and_new_versions_appear_after_the_cache_lifetime(proxy, upstream, dists, tmp_path):
    assert page(proxy, "pxy-lib").json()["versions"] == ["1.0"]
    result = twine_upload(upstream.url, dists["lib-1.1"], tmp_path / "home", "__token__", upstream.token)
    assert result.returncode == 0, result.stdout + result.stderr
    response = api(upstream.url, upstream.token, "POST", "/packages/pypi/pxy-lib/versions/1.0/yank", json={"reason": "old"})
    assert response.status_code == 200, response.text
    time.sleep(1.2)  # the proxy's cache lifetime is 1 s
    body = page(proxy, "pxy-lib").json()
    assert body["versions"] == ["1.0", "1.1"]
    assert {f["filename"]: f["yanked"] for f in body["files"]} == {
        "pxy_lib-1.0-py3-none-any.whl": "old", "pxy_lib-1.0.tar.gz": "old", "pxy_lib-1.1-py3-none-any.whl": False}
    venv = Venv(tmp_path / "venv", tmp_path / "venv-home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-lib")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pxy_lib") == "1.1"


def test_an_unknown_upstream_project_is_404(proxy):
    response = page(proxy, "pxy-nowhere")
    assert response.status_code == 404 and "pxy-nowhere" in response.text


def test_the_root_index_lists_local_projects_only(proxy):
    names = {p["name"] for p in httpx.get(f"{proxy.url}/pypi/simple/", headers={"accept": JSON_V1}).json()["projects"]}
    assert "pxy-shadow" in names and "pxy-lib" not in names and "pxy-app" not in names


@pytest.fixture
def fake_upstream():
    fake = FakeUpstream()
    yield fake
    fake.close()


def test_a_file_whose_bytes_differ_from_the_announced_hash_is_refused_and_nothing_is_kept(server_factory, fake_upstream, tmp_path):
    real = build_wheel(tmp_path, "pxy-liar", "1.0")
    lying = FakeFile(real.name, real.read_bytes(), announced_sha256=hashlib.sha256(b"other bytes").hexdigest())
    fake_upstream.projects["pxy-liar"] = [lying]
    proxy = server_factory(extra_env={"PACKYARD_PYPI_UPSTREAM": fake_upstream.url})
    admin = proxy.mint_token("admin", user="root")
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-liar")
    assert result.returncode != 0
    with pytest.raises(httpx.HTTPError):  # the body is cut short before its last chunk
        httpx.get(f"{proxy.url}/pypi/files/pxy-liar/{real.name}", timeout=30).raise_for_status()
    assert proxy.stored_blobs() == []
    assert list(proxy.staging_dir().glob("*.part")) == []
    assert api(proxy.url, admin, "GET", "/proxy/fetches").json()["items"] == []
    assert "do not match the sha256" in proxy.log()


def test_concurrent_first_downloads_fetch_the_file_once(server_factory, fake_upstream, tmp_path):
    body = bytes(range(256)) * 4096 * 3  # 3 MiB, sent slowly so the downloads overlap
    fake_upstream.projects["pxy-big"] = [FakeFile("pxy_big-1.0.tar.gz", body)]
    fake_upstream.chunk_delay = 0.01
    proxy = server_factory(workers=2, extra_env={"PACKYARD_PYPI_UPSTREAM": fake_upstream.url})
    url = f"{proxy.url}/pypi/files/pxy-big/pxy_big-1.0.tar.gz"
    assert page(proxy, "pxy-big").status_code == 200
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: httpx.get(url, timeout=120), range(8)))
    assert [r.status_code for r in results] == [200] * 8
    assert all(r.content == body for r in results)
    assert fake_upstream.requests["/files/pxy_big-1.0.tar.gz"] == 1
    ranged = httpx.get(url, headers={"range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == body[10:20]
    assert fake_upstream.requests["/files/pxy_big-1.0.tar.gz"] == 1


def test_warm_proxied_pages_and_files_give_way_at_once_to_a_local_publish(server_factory, fake_upstream, tmp_path):
    (tmp_path / "up").mkdir()
    (tmp_path / "local").mkdir()
    upstream_wheel = build_wheel(tmp_path / "up", "pxy-warm", "1.0")
    fake_upstream.projects["pxy-warm"] = [FakeFile(upstream_wheel.name, upstream_wheel.read_bytes())]
    proxy = server_factory(workers=2, extra_env={"PACKYARD_PYPI_UPSTREAM": fake_upstream.url})  # the default 600 s lifetime
    url = f"{proxy.url}/pypi/files/pxy-warm/{upstream_wheel.name}"
    for _ in range(8):  # both workers answer from their warm memo after their first read
        assert [f["filename"] for f in page(proxy, "pxy-warm").json()["files"]] == [upstream_wheel.name]
        assert httpx.get(url, timeout=30).content == upstream_wheel.read_bytes()
    assert httpx.get(url, headers={"range": "bytes=0-9"}, timeout=30).content == upstream_wheel.read_bytes()[:10]
    assert fake_upstream.requests["/simple/pxy-warm/"] <= 2 and fake_upstream.requests[f"/files/{upstream_wheel.name}"] == 1

    local_wheel = build_wheel(tmp_path / "local", "pxy-warm", "0.1")
    token = proxy.mint_token("pypi:package:*:write", user="alice")
    result = twine_upload(proxy.url, [local_wheel], tmp_path / "home", "__token__", token)
    assert result.returncode == 0, result.stdout + result.stderr
    for _ in range(8):
        assert [f["filename"] for f in page(proxy, "pxy-warm").json()["files"]] == [local_wheel.name]
        assert httpx.get(url, timeout=30).status_code == 404


def test_with_the_upstream_stopped_cached_pages_and_files_are_served_and_uncached_projects_are_502(server_factory, tmp_path, dists):
    upstream = server_factory()
    token = upstream.mint_token("pypi:package:*:write", user="up")
    result = twine_upload(upstream.url, dists["lib"] + dists["gone-later"], tmp_path / "home", "__token__", token)
    assert result.returncode == 0, result.stdout + result.stderr
    proxy = server_factory(extra_env={"PACKYARD_PYPI_UPSTREAM": upstream.url + "/pypi/simple/", "PACKYARD_UPSTREAM_CACHE_SECONDS": "1"})
    venv = Venv(tmp_path / "venv", tmp_path / "venv-home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-lib")
    assert result.returncode == 0, result.stdout + result.stderr
    upstream.stop()
    time.sleep(1.2)  # past the cache lifetime: the proxy must revalidate, and cannot
    stale = page(proxy, "pxy-lib")
    assert stale.status_code == 200 and stale.headers["x-packyard-upstream"] == "stale"
    assert [f["filename"] for f in stale.json()["files"]] == [p.name for p in sorted(dists["lib"], key=lambda p: p.name)]
    other = Venv(tmp_path / "venv2", tmp_path / "venv2-home")
    result = other.pip_install(f"{proxy.url}/pypi/simple/", "pxy-lib==1.0", "--only-binary", ":all:")
    assert result.returncode == 0, result.stdout + result.stderr
    missing = page(proxy, "pxy-never-fetched")
    assert missing.status_code == 502
    assert upstream.url in missing.text


@pytest.fixture
def file_host():
    fake = FakeUpstream()
    yield fake
    fake.close()


def test_an_html_only_upstream_is_parsed_and_credentials_go_to_the_upstream_host_only(server_factory, fake_upstream, file_host, tmp_path):
    wheel = build_wheel(tmp_path, "pxy-html", "1.0")
    file_host.projects["pxy-html"] = [FakeFile(wheel.name, wheel.read_bytes())]
    fake_upstream.projects["pxy-html"] = file_host.projects["pxy-html"]
    fake_upstream.html, fake_upstream.files_at = True, file_host.root
    with_credentials = fake_upstream.url.replace("http://", "http://__token__:s3cret-token@")
    proxy = server_factory(extra_env={"PACKYARD_PYPI_UPSTREAM": with_credentials})
    admin = proxy.mint_token("admin", user="root")
    body = page(proxy, "pxy-html").json()
    assert [f["filename"] for f in body["files"]] == [wheel.name] and body["versions"] == ["1.0"]
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_upstream.authorizations["/simple/pxy-html/"].startswith("Basic ")  # __token__:s3cret-token
    assert file_host.authorizations[f"/files/{wheel.name}"] is None  # another host: no credentials
    record = api(proxy.url, admin, "GET", "/proxy/fetches").json()["items"][0]
    assert record["upstream_url"] == f"{file_host.root}files/{wheel.name}"
    assert "s3cret-token" not in proxy.log()


def test_a_private_upstream_packyard_through_credentials_in_the_url(server_factory, tmp_path, dists):
    upstream = server_factory(extra_env={"PACKYARD_PRIVATE": "true"})
    writer = upstream.mint_token("pypi:package:*:write", user="up")
    result = twine_upload(upstream.url, dists["lib"] + dists["app"], tmp_path / "home", "__token__", writer)
    assert result.returncode == 0, result.stdout + result.stderr
    reader = upstream.mint_token("pypi:package:*:read", user="proxy")
    base = upstream.url.replace("http://", f"http://__token__:{reader}@")
    proxy = server_factory(extra_env={"PACKYARD_PYPI_UPSTREAM": base + "/pypi/simple/"})
    venv = Venv(tmp_path / "venv", tmp_path / "venv-home")
    result = venv.pip_install(f"{proxy.url}/pypi/simple/", "pxy-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pxy_lib") == "1.0"
    admin = proxy.mint_token("admin", user="root")
    urls = [r["upstream_url"] for r in api(proxy.url, admin, "GET", "/proxy/fetches").json()["items"]]
    assert urls and all(u.startswith(upstream.url + "/pypi/files/") for u in urls)
    assert reader not in proxy.log()
