"""Two replicas behind nginx on PostgreSQL, Redis and S3: real clients through the load balancer,
changes on one replica visible on the next read from the other, stopping and killing a replica
while uploads run, and nothing but transient staging files in a replica's data dir."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from tests.pypi.pypi_clients import SlowUpload, Venv, api, http_upload, twine_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel
from tests.rubygems.conftest import PUSH_SCOPES, push, require_ruby, yank
from tests.rubygems.gemtools import GemSource, RubyEnv, build_gem, craft_gem

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def addresses(topology) -> set[str]:
    return {f"127.0.0.1:{r.port}" for r in topology.replicas}


def test_replicas_started_together_on_an_empty_database_both_serve(topology):
    engine = create_engine(topology.backend.database_url)
    try:
        with engine.connect() as conn:
            assert len(conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()) == 1
    finally:
        engine.dispose()
    for replica in topology.replicas:
        assert httpx.get(replica.url + "/readyz").json() == {"status": "ready"}
    start = len(topology.nginx.log_lines())
    for _ in range(6):
        assert httpx.get(topology.url + "/readyz").status_code == 200
    assert topology.upstreams_since(start) == addresses(topology)


def test_twine_then_pip_and_uv_install_through_the_load_balancer(topology, tmp_path):
    token = topology.replicas[0].mint_token("pypi:package:*:write", user="py-publisher")
    files = [build_wheel(tmp_path, "lb-demo", "1.0"), build_sdist(tmp_path, "lb-demo", "1.0")]
    start = len(topology.nginx.log_lines())
    uploaded = twine_upload(topology.url, files, tmp_path / "twine-home", "__token__", token)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr

    # The very next read, on each replica: both list both files (the cache moved on with the serial).
    for replica in topology.replicas:
        page = httpx.get(f"{replica.url}/pypi/simple/lb-demo/", headers=JSON).json()
        assert sorted(f["filename"] for f in page["files"]) == sorted(f.name for f in files)

    index = f"{topology.url}/pypi/simple/"
    venv = Venv(tmp_path / "venv", tmp_path / "pip-home")
    installed = venv.pip_install(index, "lb-demo==1.0")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert venv.installed_version("lb_demo") == "1.0"
    uv_venv = Venv(tmp_path / "uv-venv", tmp_path / "uv-home")
    installed = uv_venv.uv_install(index, "lb-demo==1.0")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert uv_venv.installed_version("lb_demo") == "1.0"
    sdist = next(f for f in httpx.get(index + "lb-demo/", headers=JSON).json()["files"] if f["filename"] == files[1].name)
    for _ in range(2):  # from each replica in turn
        assert httpx.get(httpx.URL(index + "lb-demo/").join(sdist["url"])).content == files[1].read_bytes()
    assert topology.upstreams_since(start) == addresses(topology)


def test_gem_push_then_bundle_install_and_gem_install_through_the_load_balancer(topology, tmp_path):
    require_ruby()
    env = RubyEnv(tmp_path / "ruby")
    token = topology.replicas[1].mint_token(*PUSH_SCOPES, user="rb-publisher")
    dep, app = GemSource("lb-dep", "1.0.0"), GemSource("lb-app", "1.0.0", runtime=[("lb-dep", ["~> 1.0"])])
    start = len(topology.nginx.log_lines())
    for src in (dep, app):
        gem = build_gem(src, env.root / "work", env.env())
        env.run(["gem", "push", str(gem), "--host", f"{topology.url}/rubygems"], timeout=60, GEM_HOST_API_KEY=token)

    project = env.root / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{topology.url}/rubygems/"\ngem "lb-app"\n')
    env.run(["bundle", "install"], cwd=project)
    assert "lb-dep (1.0.0)" in (project / "Gemfile.lock").read_text()
    env.run(["gem", "install", "lb-app", "--clear-sources", "--source", f"{topology.url}/rubygems/", "--no-document"],
            GEM_HOME=str(env.root / "gem-install"))
    assert (env.root / "gem-install" / "gems" / "lb-dep-1.0.0").is_dir()
    assert topology.upstreams_since(start) == addresses(topology)


def test_a_yank_on_one_replica_shows_on_the_next_read_from_the_other(topology, tmp_path):
    a, b = topology.replicas
    token = a.mint_token("pypi:package:*:write", "pypi:package:*:yank", *PUSH_SCOPES, user="yanker")
    for version in ("1.0", "2.0"):
        assert http_upload(topology.url, token, build_wheel(tmp_path, "lb-yank", version), "lb-yank", version).status_code == 200
    page = f"{b.url}/pypi/simple/lb-yank/"
    for _ in range(3):  # B has the page cached
        assert all(not f.get("yanked") for f in httpx.get(page, headers=JSON).json()["files"])
    assert api(a.url, token, "POST", "/packages/pypi/lb-yank/versions/2.0/yank", json={"reason": "bad"}).status_code == 200
    yanked = {f["filename"]: f["yanked"] for f in httpx.get(page, headers=JSON).json()["files"]}
    assert yanked["lb_yank-2.0-py3-none-any.whl"] == "bad" and yanked["lb_yank-1.0-py3-none-any.whl"] is False

    env = RubyEnv(tmp_path / "ruby")
    require_ruby()
    for version in ("1.0.0", "2.0.0"):
        gem = build_gem(GemSource("lb-yank", version), env.root / "work", env.env())
        assert httpx.post(f"{topology.url}/rubygems/api/v1/gems", content=gem.read_bytes(),
                          headers={"Authorization": token}).status_code == 200
    info = f"{b.url}/rubygems/info/lb-yank"
    for _ in range(3):
        assert "2.0.0" in httpx.get(info).text
    assert yank(a.url, token, "lb-yank", "2.0.0").status_code == 200
    lines = httpx.get(info).text.splitlines()
    assert any(line.startswith("1.0.0 ") for line in lines) and not any(line.startswith("2.0.0") for line in lines)


def test_private_packages_answer_401_without_credentials_on_both_replicas(topology, tmp_path):
    a, b = topology.replicas
    admin = a.mint_token("admin", user="lb-admin")
    assert http_upload(topology.url, admin, build_wheel(tmp_path, "lb-secret", "1.0"), "lb-secret", "1.0").status_code == 200
    for replica in (a, b):  # cached as public first
        assert httpx.get(f"{replica.url}/pypi/simple/lb-secret/").status_code == 200
    assert api(b.url, admin, "PATCH", "/packages/pypi/lb-secret", json={"visibility": "private"}).status_code == 200
    for url in (a.url, b.url, topology.url, topology.url):
        denied = httpx.get(f"{url}/pypi/simple/lb-secret/")
        assert denied.status_code == 401 and "basic" in denied.headers["www-authenticate"].lower()
        assert httpx.get(f"{url}/pypi/files/lb-secret/lb_secret-1.0-py3-none-any.whl").status_code == 401
        assert httpx.get(f"{url}/pypi/simple/lb-secret/", auth=("__token__", admin)).status_code == 200

    assert push(topology.url, admin, craft_gem("lb-secret-gem", "1.0.0")).status_code == 200
    for replica in (a, b):
        assert httpx.get(f"{replica.url}/rubygems/info/lb-secret-gem").status_code == 200
    assert api(a.url, admin, "PATCH", "/packages/rubygems/lb-secret-gem", json={"visibility": "private"}).status_code == 200
    for url in (a.url, b.url, topology.url, topology.url):
        for path in ("/info/lb-secret-gem", "/gems/lb-secret-gem-1.0.0.gem"):
            assert httpx.get(f"{url}/rubygems{path}").status_code == 401, (url, path)
        assert httpx.get(f"{url}/rubygems/info/lb-secret-gem", auth=("__token__", admin)).status_code == 200


def _uploads(tmp_path: Path, tag: str, count: int) -> list[tuple[str, Path]]:
    return [(f"lb-{tag}-{i}", build_wheel(tmp_path, f"lb-{tag}-{i}", "1.0")) for i in range(count)]


def _upload_while(topology, token: str, files, stop_replica, after: int) -> list[int]:
    """Upload every file through nginx (4 at a time); once `after` are acknowledged, call `stop_replica`."""
    acknowledged = threading.Semaphore(0)

    def one(item) -> int:
        name, path = item
        status = http_upload(topology.url, token, path, name, "1.0").status_code
        if status == 200:
            acknowledged.release()
        return status

    with ThreadPoolExecutor(4) as pool:
        results = pool.map(one, files)
        for _ in range(after):
            assert acknowledged.acquire(timeout=120)
        stop_replica()
        return list(results)


def _assert_stored(topology, files) -> None:
    """Every acknowledged upload is listed and downloads byte for byte, from each replica alive."""
    for replica in topology.replicas:
        if replica.process.poll() is not None:
            continue
        for name, path in files:
            page = httpx.get(f"{replica.url}/pypi/simple/{name}/", headers=JSON)
            assert [f["filename"] for f in page.json()["files"]] == [path.name], name
            download = httpx.get(f"{replica.url}/pypi/files/{name}/{path.name}")
            assert download.status_code == 200 and download.content == path.read_bytes(), name


def test_sigterm_drains_requests_in_flight_and_nginx_sends_the_rest_to_the_other_replica(topology, tmp_path):
    a = topology.replicas[0]
    token = a.mint_token("pypi:package:*:write", user="drain")
    slow_name, slow_path = "lb-inflight", build_wheel(tmp_path, "lb-inflight", "1.0")
    slow = SlowUpload(a, token, slow_name, slow_path)
    files = _uploads(tmp_path, "term", 24)
    start = len(topology.nginx.log_lines())

    results = _upload_while(topology, token, files, lambda: os.kill(a.process.pid, signal.SIGTERM), after=4)
    time.sleep(0.5)  # the replica is draining: it accepts nothing new, but finishes what it has
    assert a.process.poll() is None, "the replica exited with a request still in flight"
    assert slow.finish().startswith(b"HTTP/1.1 200"), "the upload in flight at SIGTERM was not completed"
    assert a.process.wait(timeout=60) == 0, a.log()[-3000:]

    assert results == [200] * len(files), results
    _assert_stored(topology, [*files, (slow_name, slow_path)])
    assert topology.upstreams_since(start) == addresses(topology)
    topology.restart(0)


def test_sigkill_of_a_replica_loses_nothing_acknowledged(topology, tmp_path):
    b = topology.replicas[1]
    token = b.mint_token("pypi:package:*:write", user="killed")
    files = _uploads(tmp_path, "kill", 24)
    results = _upload_while(topology, token, files, lambda: os.killpg(b.process.pid, signal.SIGKILL), after=4)
    b.process.wait(timeout=30)
    acknowledged = [item for item, status in zip(files, results) if status == 200]
    assert len(acknowledged) == len(files), results  # nginx retried what the dead replica dropped
    _assert_stored(topology, acknowledged)
    topology.restart(1)
    _assert_stored(topology, acknowledged)


def test_replica_data_dirs_hold_no_blobs(topology, tmp_path):
    """Blobs live only in the bucket; a data dir holds at most staging files in flight, gone afterwards,
    and Jinja's compiled templates (a cache each worker fills when it renders its first pages)."""
    token = topology.replicas[0].mint_token("pypi:package:*:write", user="walker")
    for i in range(4):  # on both replicas, after everything the tests above stored
        wheel = build_wheel(tmp_path, f"lb-walk-{i}", "1.0")
        assert http_upload(topology.url, token, wheel, f"lb-walk-{i}", "1.0").status_code == 200
    for replica in topology.replicas:
        files = [p.relative_to(replica.data_dir) for p in replica.data_dir.rglob("*") if p.is_file()]
        assert [f for f in files if f.parts[0] != "compiled-templates"] == [], files
    keys = topology.backend.object_store.keys()
    assert keys and all(k.startswith("blobs/") for k in keys)
    engine = create_engine(topology.backend.database_url)
    try:
        with engine.connect() as conn:
            shas = {row[0] for row in conn.exec_driver_sql("SELECT sha256 FROM blob").all()}
    finally:
        engine.dispose()
    assert {k.rsplit("/", 1)[1] for k in keys} == shas
