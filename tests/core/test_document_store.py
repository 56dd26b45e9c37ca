"""The read side: every served document is rendered when a change alters it, stored, written
through to files (and Redis), and served from there — by a fresh process too, without the database.

Real servers, both backends (the PostgreSQL pass also runs the Redis path)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.core.test_metrics import sample, scrape
from tests.faults.faultkit import behind_proxy, gem_push, proxy_for
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
from tests.support.access_log import from_every_worker
from tests.support.backends import LOCAL_REDIS_URL, TEST_DATABASE_URL, TEST_REDIS_URL, Backend, new_backend
from tests.support.server import RunningServer, start_server
from tests.support.waiting import eventually

REDIS_URL = TEST_REDIS_URL or LOCAL_REDIS_URL  # the Redis path runs on both passes
SCOPES = ("pypi:package:*:write", "rubygems:gem:*:write", "rubygems:gem:*:yank")
JSON_ACCEPT = {"Accept": "application/vnd.pypi.simple.v1+json"}


def _publish(server: RunningServer, tmp_path: Path, token: str, name: str, version: str = "1.0") -> Path:
    dists = tmp_path / "dists"
    dists.mkdir(exist_ok=True)
    wheel = build_wheel(dists, name, version)
    response = http_upload(server.url, token, wheel, name, version)
    assert response.status_code == 200, response.text
    return wheel


def _public(server: RunningServer, relative: str) -> Path:
    return server.data_dir / "public" / relative


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _sidecar(server: RunningServer, relative: str) -> tuple[str, str]:
    """A public file's `.etag` sidecar: (ETag, the body's sha-256 in base64)."""
    etag, sha256 = _etag_file(server, relative).read_text().split("\n")
    return etag, sha256


def _etag_file(server: RunningServer, relative: str) -> Path:
    return server.data_dir / "public-etags" / f"{relative}.etag"


def _assert_file_matches_app(server: RunningServer, relative: str, headers: dict[str, str] | None = None) -> None:
    """The materialized body and its `.etag` sidecar are exactly what the app answers (a simple
    page's `.gz` file: what it answers a client that takes gzip, as sent)."""
    gzipped = relative.startswith("pypi/simple/") and relative.endswith(".gz")
    path = (relative.removesuffix(".gz") if gzipped else relative).removesuffix("index.html").removesuffix("index.json")
    sent = {"Accept-Encoding": "gzip" if gzipped else "identity", **(headers or {})}
    with httpx.stream("GET", f"{server.url}/{path}", headers=sent) as response:
        body = b"".join(response.iter_raw())
    assert response.status_code == 200, (relative, response.status_code, body)
    assert response.headers.get("content-encoding") == ("gzip" if gzipped else None), relative
    assert _public(server, relative).read_bytes() == body, relative
    assert _sidecar(server, relative) == (response.headers["etag"], _sha256(body)), relative


def _assert_files_catch_up_with_app(server: RunningServer, relative: str, headers: dict[str, str] | None = None) -> None:
    """With several workers the one that answers may not be the one that rendered: the renderer
    writes the files just after its commit, so they match the answer within moments."""
    eventually(lambda: _assert_file_matches_app(server, relative, headers), interval=0.05,
               retry_on=(AssertionError, FileNotFoundError))


def _gone(server: RunningServer, relative: str) -> bool:
    return not os.path.lexists(_public(server, relative)) and not _etag_file(server, relative).exists()


@pytest.fixture
def registry_server(tmp_path):
    server = start_server(tmp_path / "server", backend=new_backend(local_blobs=True))
    yield server
    server.stop()
    server.backend.drop()


def test_public_files_follow_publish_yank_private_and_quarantine(registry_server, tmp_path):
    server = registry_server
    token = server.mint_token(*SCOPES)
    admin = {"Authorization": f"Bearer {server.mint_token('admin', user='root')}"}
    wheel = _publish(server, tmp_path, token, "alpha")
    gem = craft_gem("beta-gem", "1.0.0")
    assert gem_push(server.url, token, gem).status_code == 200

    for relative, headers in [
        ("pypi/simple/index.html", None), ("pypi/simple/index.json", JSON_ACCEPT),
        ("pypi/simple/index.html.gz", None), ("pypi/simple/index.json.gz", JSON_ACCEPT),
        ("pypi/simple/alpha/index.html", None), ("pypi/simple/alpha/index.json", JSON_ACCEPT),
        (f"pypi/files/alpha/{wheel.name}.metadata", None),
        ("rubygems/versions", None), ("rubygems/names", None), ("rubygems/info/beta-gem", None),
        ("rubygems/specs.4.8.gz", None), ("rubygems/latest_specs.4.8.gz", None), ("rubygems/prerelease_specs.4.8.gz", None),
        ("rubygems/quick/Marshal.4.8/beta-gem-1.0.0.gemspec.rz", None),
        (f"pypi/files/alpha/{wheel.name}", None), ("rubygems/gems/beta-gem-1.0.0.gem", None),
    ]:
        _assert_file_matches_app(server, relative, headers)
    # downloads are relative symlinks to the blob files (nginx serves them without a copy)
    link = _public(server, "rubygems/gems/beta-gem-1.0.0.gem")
    assert link.is_symlink() and not os.readlink(link).startswith("/")
    assert link.read_bytes() == gem
    assert _sidecar(server, "rubygems/gems/beta-gem-1.0.0.gem") == (f'"{hashlib.md5(gem).hexdigest()}"', _sha256(gem))
    assert _public(server, f"pypi/files/alpha/{wheel.name}").read_bytes() == wheel.read_bytes()

    # RubyGems yank: the file and its quick gemspec leave; /info and /versions are re-written
    yank = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank", data={"gem_name": "beta-gem", "version": "1.0.0"},
                         headers={"Authorization": token})
    assert yank.status_code == 200, yank.text
    assert _gone(server, "rubygems/gems/beta-gem-1.0.0.gem")
    assert _gone(server, "rubygems/quick/Marshal.4.8/beta-gem-1.0.0.gemspec.rz")
    for relative in ("rubygems/info/beta-gem", "rubygems/versions", "rubygems/names"):
        _assert_file_matches_app(server, relative)
    assert b"-1.0.0" in _public(server, "rubygems/versions").read_bytes()

    # PyPI yank (PEP 592): the file stays downloadable; the page says yanked
    yanked = httpx.post(f"{server.url}/api/v1/packages/pypi/alpha/versions/1.0/yank", json={"reason": "broken"}, headers=admin)
    assert yanked.status_code == 200, yanked.text
    assert b"data-yanked" in _public(server, "pypi/simple/alpha/index.html").read_bytes()
    _assert_file_matches_app(server, "pypi/simple/alpha/index.html")
    _assert_file_matches_app(server, f"pypi/files/alpha/{wheel.name}")

    # private: every file of the project leaves public/; the app still serves readers with a scope
    assert httpx.patch(f"{server.url}/api/v1/packages/pypi/alpha", json={"visibility": "private"}, headers=admin).status_code == 200
    for relative in ("pypi/simple/alpha/index.html", "pypi/simple/alpha/index.json", f"pypi/files/alpha/{wheel.name}",
                     f"pypi/files/alpha/{wheel.name}.metadata"):
        assert _gone(server, relative), relative
    _assert_file_matches_app(server, "pypi/simple/index.html")  # the change withdrew it; this read renders it again
    assert b"alpha" not in _public(server, "pypi/simple/index.html").read_bytes()
    assert httpx.get(f"{server.url}/pypi/simple/alpha/").status_code == 401
    reader = server.mint_token("pypi:package:alpha:read", user="reader")
    assert httpx.get(f"{server.url}/pypi/simple/alpha/", auth=("__token__", reader)).status_code == 200
    assert httpx.get(f"{server.url}/pypi/files/alpha/{wheel.name}", auth=("__token__", reader)).content == wheel.read_bytes()
    assert not any((server.data_dir / "public").rglob("*alpha*"))

    # quarantined (PEP 792): the page stays (it says so) and offers no files
    gamma = _publish(server, tmp_path, token, "gamma")
    assert httpx.patch(f"{server.url}/api/v1/packages/pypi/gamma", json={"status": "quarantined"}, headers=admin).status_code == 200
    assert _gone(server, f"pypi/files/gamma/{gamma.name}") and _gone(server, f"pypi/files/gamma/{gamma.name}.metadata")
    _assert_file_matches_app(server, "pypi/simple/gamma/index.json", JSON_ACCEPT)
    assert b'"quarantined"' in _public(server, "pypi/simple/gamma/index.json").read_bytes()
    assert httpx.get(f"{server.url}/pypi/files/gamma/{gamma.name}").status_code == 404


def test_every_etag_change_moves_the_generation_in_place(registry_server, tmp_path):
    """The nginx front maps `public-etags/.generation` and reads its cached ETags again only when
    the value moved: every change of a `.etag` (a push, a yank) must move it, in the same file."""
    server = registry_server
    token = server.mint_token(*SCOPES)
    generation = server.data_dir / "public-etags" / ".generation"
    assert gem_push(server.url, token, craft_gem("moving-gem", "1.0.0")).status_code == 200
    seen = [(generation.stat().st_ino, generation.read_bytes())]
    assert len(seen[0][1]) == 8
    assert gem_push(server.url, token, craft_gem("moving-gem", "1.0.1")).status_code == 200
    seen.append((generation.stat().st_ino, generation.read_bytes()))
    yank = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank", data={"gem_name": "moving-gem", "version": "1.0.0"},
                         headers={"Authorization": token})
    assert yank.status_code == 200, yank.text
    assert _gone(server, "rubygems/gems/moving-gem-1.0.0.gem")
    seen.append((generation.stat().st_ino, generation.read_bytes()))
    assert len({inode for inode, _ in seen}) == 1, seen
    assert len({value for _, value in seen}) == 3, seen


def test_a_new_version_leaves_the_documents_of_earlier_files_unwritten(registry_server, tmp_path):
    """A publish rewrites what changed (the pages, the JSON API), not the documents of the files
    the package already had: a publish costs no file writes per earlier file."""
    from packyard.models import Document

    server = registry_server
    token = server.mint_token(*SCOPES)
    first = _publish(server, tmp_path, token, "growing", "1.0")
    unchanged = [f"files/growing/{first.name}", f"files/growing/{first.name}.metadata"]
    copies = {key: server.data_dir / "documents" / "pypi" / key for key in unchanged}
    before = {key: (path.stat().st_ino, path.read_bytes()) for key, path in copies.items()}
    metadata_file = _public(server, f"pypi/files/growing/{first.name}.metadata")
    metadata_inode = metadata_file.stat().st_ino
    with server.registry().db.read() as session:
        serials = {key: session.get(Document, ("pypi", key)).serial for key in [*unchanged, "simple/growing/index.html"]}

    second = _publish(server, tmp_path, token, "growing", "2.0")

    with server.registry().db.read() as session:
        after = {key: session.get(Document, ("pypi", key)).serial for key in serials}
        assert session.get(Document, ("pypi", f"files/growing/{second.name}.metadata")) is not None
    assert all(after[key] == serials[key] for key in unchanged), (serials, after)
    assert after["simple/growing/index.html"] > serials["simple/growing/index.html"]
    assert {key: (path.stat().st_ino, path.read_bytes()) for key, path in copies.items()} == before
    assert metadata_file.stat().st_ino == metadata_inode
    for relative, headers in [(f"pypi/files/growing/{first.name}.metadata", None), (f"pypi/files/growing/{first.name}", None),
                              (f"pypi/files/growing/{second.name}.metadata", None), ("pypi/simple/growing/index.json", JSON_ACCEPT)]:
        _assert_file_matches_app(server, relative, headers)
    assert b"2.0" in _public(server, "pypi/simple/growing/index.html").read_bytes()
    assert server.cli("check", check=False).returncode == 0


def _cut_database(server: RunningServer, proxy) -> None:
    if proxy is not None:
        proxy.close()
        return
    # SQLite: the database file (and its write-ahead log) destroyed under the running server
    for suffix in ("", "-wal"):
        path = server.data_dir / f"packyard.db{suffix}"
        if path.exists():
            os.truncate(path, 0)


def test_a_restarted_server_serves_every_stored_document_without_the_database(tmp_path):
    backend = new_backend()
    proxy = proxy_for(backend.database_url) if backend.database_url else None
    reached = behind_proxy(backend, database=proxy) if proxy is not None else backend
    data_dir = tmp_path / "server"
    server = start_server(data_dir, backend=reached, extra_env={"PACKYARD_DATABASE_WAIT_SECONDS": "2"})
    try:
        token = server.mint_token(*SCOPES)
        wheel = _publish(server, tmp_path, token, "sturdy")
        gem = craft_gem("sturdy-gem", "1.0.0")
        assert gem_push(server.url, token, gem).status_code == 200
        urls = [
            ("/pypi/simple/", {}), ("/pypi/simple/", JSON_ACCEPT), ("/pypi/simple/sturdy/", {}), ("/pypi/simple/sturdy/", JSON_ACCEPT),
            ("/pypi/pypi/sturdy/json", {}), ("/pypi/pypi/sturdy/1.0/json", {}),
            (f"/pypi/files/sturdy/{wheel.name}", {}), (f"/pypi/files/sturdy/{wheel.name}.metadata", {}),
            ("/rubygems/versions", {}), ("/rubygems/info/sturdy-gem", {}), ("/rubygems/names", {}),
            ("/rubygems/specs.4.8.gz", {}), ("/rubygems/quick/Marshal.4.8/sturdy-gem-1.0.0.gemspec.rz", {}),
            ("/rubygems/gems/sturdy-gem-1.0.0.gem", {}),
        ]
        before = {(url, tuple(h.items())): httpx.get(server.url + url, headers=h) for url, h in urls}
        assert all(r.status_code == 200 for r in before.values()), {k: r.status_code for k, r in before.items()}
        server.stop()
        old_url = server.url
        server = start_server(data_dir, backend=reached, extra_env={"PACKYARD_DATABASE_WAIT_SECONDS": "2"})  # a fresh process: empty memos

        _cut_database(server, proxy)
        for (url, headers), earlier in before.items():
            response = httpx.get(server.url + url, headers=dict(headers), timeout=10)
            assert response.status_code == 200, (url, response.status_code, response.text)
            if "/json" in url:  # absolute URLs: the new process listens on another port
                assert response.content == earlier.content.replace(old_url.encode(), server.url.encode()), url
            else:
                assert response.content == earlier.content and response.headers["etag"] == earlier.headers["etag"], url
        revalidated = httpx.get(server.url + "/rubygems/info/sturdy-gem", headers={"If-None-Match": before[("/rubygems/info/sturdy-gem", ())].headers["etag"]})
        assert revalidated.status_code == 304
        if proxy is not None:  # SQLite's `SELECT 1` needs no file to answer
            assert httpx.get(server.url + "/readyz", timeout=10).status_code == 503
    finally:
        if proxy is not None:
            proxy.open()
        server.stop()
        if proxy is not None:
            proxy.stop()
        backend.drop()


@pytest.fixture
def redis_server(tmp_path):
    """A server on the Redis path on either pass (Redis beside SQLite on the embedded one)."""
    server = start_server(tmp_path / "server", backend=dataclasses.replace(new_backend(local_blobs=True), redis_url=REDIS_URL))
    yield server
    server.stop()
    server.backend.drop()


def test_documents_lost_by_redis_are_refilled_from_the_database_not_re_rendered(redis_server, tmp_path):
    import redis

    from packyard.cache.redis import redis_prefix

    server = redis_server
    token = server.mint_token(*SCOPES)
    _publish(server, tmp_path, token, "kept")
    assert gem_push(server.url, token, craft_gem("kept-gem", "1.0.0")).status_code == 200
    urls = ["/pypi/simple/kept/", "/pypi/simple/", "/rubygems/info/kept-gem", "/rubygems/versions", "/pypi/pypi/kept/json",
            "/rubygems/quick/Marshal.4.8/kept-gem-1.0.0.gemspec.rz"]
    before = {url: httpx.get(server.url + url) for url in urls}

    client = redis.Redis.from_url(REDIS_URL)
    prefix = redis_prefix(server.registry().settings.resolved_database_url)
    documents = [key for key in client.scan_iter(match=f"{prefix}doc:*")]
    assert any(key.endswith(b"doc:pypi:simple/kept/index.html") for key in documents)
    client.delete(*client.scan_iter(match=f"{prefix}*"))  # this registry's whole namespace, as a FLUSHALL would
    _publish(server, tmp_path, token, "other")
    assert gem_push(server.url, token, craft_gem("other-gem", "1.0.0")).status_code == 200
    # A worker whose memo holds a page it was not told changed keeps serving it; fresh workers
    # (after the start-up sync, which writes every row through, the copies are lost again) must
    # refill what they read from the rows. (The pages clients walk, `hot_documents`, each worker
    # loaded from Redis when it started: they are served from its memo, and refilled on a miss
    # like the rest.)
    server.stop()
    old_url = server.url
    server = start_server(server.data_dir, backend=server.backend)
    try:
        client.delete(*client.scan_iter(match=f"{prefix}doc:*"))
        for url in urls:
            after = httpx.get(server.url + url)
            assert after.status_code == 200, url
            if url in ("/pypi/simple/", "/rubygems/versions"):
                assert b"kept" in after.content and b"other" in after.content
            else:  # (the JSON API's absolute URLs name the new port)
                assert after.content == before[url].content.replace(old_url.encode(), server.url.encode()), url
        assert client.exists(f"{prefix}doc:pypi:pypi/kept/json")
        assert client.exists(f"{prefix}doc:rubygems:quick/Marshal.4.8/kept-gem-1.0.0.gemspec.rz")
    finally:
        server.stop()


def test_a_yank_shows_on_the_next_read_in_every_worker(tmp_path):
    server = start_server(tmp_path / "server", workers=2, backend=new_backend(local_blobs=True))
    try:
        token = server.mint_token(*SCOPES)
        admin = {"Authorization": f"Bearer {server.mint_token('admin', user='root')}"}
        _publish(server, tmp_path, token, "shaky")
        assert gem_push(server.url, token, craft_gem("shaky-gem", "1.0.0")).status_code == 200
        assert gem_push(server.url, token, craft_gem("shaky-gem", "1.1.0")).status_code == 200

        def seen() -> tuple[set[bool], set[bool]]:
            """(page shows a yank, /info lists 1.1.0) as each worker answers them."""
            page = from_every_worker(server, 2, lambda headers: b"data-yanked" in httpx.get(
                server.url + "/pypi/simple/shaky/", headers=headers).content)
            info = from_every_worker(server, 2, lambda headers: b"1.1.0" in httpx.get(
                server.url + "/rubygems/info/shaky-gem", headers=headers).content)
            return set(page), set(info)

        assert seen() == ({False}, {True})  # in every worker's memo now
        assert httpx.post(f"{server.url}/api/v1/packages/pypi/shaky/versions/1.0/yank", json={}, headers=admin).status_code == 200
        yank = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank", data={"gem_name": "shaky-gem", "version": "1.1.0"},
                             headers={"Authorization": token})
        assert yank.status_code == 200, yank.text
        assert seen() == ({True}, {False})
    finally:
        server.stop()
        server.backend.drop()


def test_every_write_is_on_the_next_read_in_every_worker_with_serials_pushed_over_redis(tmp_path):
    """Read-your-writes on the Redis path, where a read checks only the serial the process was told
    over pub/sub: after each acknowledged publish, new connections to each worker see it."""
    import redis

    from packyard.cache.redis import redis_prefix

    server = start_server(tmp_path / "server", workers=2,
                          backend=dataclasses.replace(new_backend(local_blobs=True), redis_url=REDIS_URL))
    try:
        token = server.mint_token(*SCOPES)
        _publish(server, tmp_path, token, "hammered", "0.1")
        channel = redis_prefix(server.registry().settings.resolved_database_url) + "serials"
        client = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 30
        while dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) < 2:  # both workers follow
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)

        def everywhere(path: str) -> list[str]:
            """The body as each worker answers it."""
            return from_every_worker(server, 2, lambda headers: httpx.get(server.url + path, headers=headers).text)

        everywhere("/pypi/simple/hammered/")  # in every worker's memo now
        everywhere("/rubygems/versions")
        for i in range(1, 13):
            _publish(server, tmp_path, token, "hammered", f"1.{i}")
            assert gem_push(server.url, token, craft_gem("hammered-gem", f"1.{i}.0")).status_code == 200
            assert all(f"hammered-1.{i}-py3-none-any.whl" in page for page in everywhere("/pypi/simple/hammered/")), i
            assert all(f"1.{i}.0" in info for info in everywhere("/rubygems/info/hammered-gem")), i
            assert all(f"1.{i}.0" in versions for versions in everywhere("/rubygems/versions")), i
        assert "Traceback" not in server.log()
    finally:
        server.stop()
        server.backend.drop()


def test_a_new_project_is_in_every_workers_root_listing_once_the_listing_is_rendered_again(tmp_path):
    """The root listing is rendered after the change, in the background (`refresh_later`), which
    then clears its stale marker: that render is announced with its keys, so a worker holding the
    older listing in its memo (here: every worker) drops it rather than trust the cleared marker."""
    from packyard.documents import rows

    server = start_server(tmp_path / "server", workers=2,
                          backend=dataclasses.replace(new_backend(local_blobs=True), redis_url=REDIS_URL))
    try:
        token = server.mint_token(*SCOPES)
        registry = server.registry()

        def rendered() -> None:
            with registry.db.read() as session:
                assert rows.keys_under(session, "pypi", "stale/") == []

        def everywhere() -> list[str]:
            return from_every_worker(server, 2, lambda headers: httpx.get(server.url + "/pypi/simple/", headers=headers).text)

        _publish(server, tmp_path, token, "listed-first")
        eventually(rendered)
        assert all("listed-first" in page for page in everywhere())  # in every worker's memo now
        for i in range(3):
            _publish(server, tmp_path, token, f"listed-{i}")
            eventually(rendered)
            assert all(f"listed-{i}" in page for page in everywhere()), i
    finally:
        server.stop()
        server.backend.drop()


def test_a_restarted_worker_reads_the_pages_clients_walk_from_memory_the_first_time(tmp_path):
    """On the Redis path each worker loads the hot documents (project pages, the root listings and
    their stale markers, `/info`, `/versions`) into its memo when it starts, so its first read of
    each is a memo hit, as fast as its 100th, not a thread hop and a Redis round trip."""
    backend = dataclasses.replace(new_backend(local_blobs=True), redis_url=REDIS_URL)
    server = start_server(tmp_path / "server", workers=2, backend=backend)
    try:
        server, _, admin = _published_and_restarted(server, tmp_path)
        # A worker starting (here or on another replica) catches the serials up with the journal:
        # with nothing unannounced that must not make the others drop their memos.
        server.registry().resync_serials()
        assert _memo_lookups_while(server, admin, WALKED_READS) == 0  # each worker's first read of each: no miss

        server.registry().resync_serials(announce=True)  # a worker replacing one that died: changes may be unannounced
        assert _memo_lookups_while(server, admin, WALKED_READS) > 0  # read again from Redis
    finally:
        server.stop()
        server.backend.drop()


def test_on_the_embedded_default_a_restarted_worker_reads_the_pages_clients_walk_from_memory_the_first_time(tmp_path):
    """Without Redis each worker reads the hot documents' files into its memo when it starts (and
    learns that the root listings' stale markers are absent), so its first read of each page is a
    memo hit, not a file read and parse; each entry is still checked against its file's stat."""
    server = start_server(tmp_path / "server", workers=2, backend=Backend(None, None))  # SQLite and files, on either pass
    try:
        server, token, admin = _published_and_restarted(server, tmp_path)
        assert _memo_lookups_while(server, admin, WALKED_READS) == 0  # each worker's first read of each: no miss

        _publish(server, tmp_path, token, "walked-a", "2.0")  # its pages' files change: each worker reads them again
        changed = [(path, accept) for path, accept in WALKED_READS if path == "/pypi/simple/walked-a/"]
        assert _memo_lookups_while(server, admin, changed) > 0
        assert b"walked_a-2.0" in httpx.get(server.url + "/pypi/simple/walked-a/").content
    finally:
        server.stop()


WALKED = ["walked-a", "walked-b", "walked-c"]
WALKED_READS = [(f"/pypi/simple/{name}/", accept) for name in WALKED for accept in ({}, JSON_ACCEPT)]
WALKED_READS += [("/rubygems/info/walked-gem", {}), ("/rubygems/versions", {})]
# the root listings too, gzipped (httpx takes gzip) and plain: the listing and its stale marker
WALKED_READS += [("/pypi/simple/", {**accept, **encoding}) for accept in ({}, JSON_ACCEPT)
                 for encoding in ({}, {"Accept-Encoding": "identity"})]


def _published_and_restarted(server: RunningServer, tmp_path: Path) -> tuple[RunningServer, str, str]:
    """The pages of WALKED_READS published and rendered, then the server restarted and each of its
    workers' hot documents loaded: (the new server, a publishing token, an admin token)."""
    token = server.mint_token(*SCOPES)
    for name in WALKED:
        _publish(server, tmp_path, token, name)
    assert gem_push(server.url, token, craft_gem("walked-gem", "1.0.0")).status_code == 200
    for accept in ({}, JSON_ACCEPT):  # a reader renders a stale root listing (each form, both encodings)
        assert httpx.get(server.url + "/pypi/simple/", headers=accept).status_code == 200
    server.stop()
    server = start_server(server.data_dir, workers=2, backend=server.backend)
    eventually(lambda: _loaded_hot_documents(server, 4))  # both workers of both starts
    return server, token, server.mint_token("admin", user="root")


def _loaded_hot_documents(server: RunningServer, starts: int) -> None:
    assert server.log().count("hot documents into memory") == starts


def _memo_lookups_while(server: RunningServer, admin: str, reads: list[tuple[str, dict[str, str]]]) -> float:
    """Every read from every worker; the document memo's misses meanwhile, in every worker."""
    before, _ = scrape(server, admin)
    answered = 0
    for path, accept in reads:
        statuses = from_every_worker(server, 2, lambda headers: httpx.get(server.url + path, headers={**headers, **accept}).status_code)
        assert set(statuses) == {200}, path
        answered += len(statuses)

    def lookups() -> float:
        samples = scrape(server, admin)[0]
        hits, misses = (sample(samples, "packyard_memo_lookups_total", memo="documents", result=result)
                        - sample(before, "packyard_memo_lookups_total", memo="documents", result=result) for result in ("hit", "miss"))
        assert hits + misses >= answered  # every worker's counts have reached the scrape
        return misses

    return eventually(lookups)


def test_aggregates_rendered_after_concurrent_commits_end_complete_and_current(tmp_path):
    """Root listing, /names and specs are rendered after each commit, out of the write lock, and
    stored set-if-newer by serial: after concurrent publishes on two workers they list everything,
    carry the latest serial, and the public files say the same."""
    import threading

    server = start_server(tmp_path / "server", workers=2, backend=new_backend(local_blobs=True))
    try:
        token = server.mint_token(*SCOPES)
        dists = tmp_path / "dists"
        dists.mkdir()
        wheels = {f"crowd-{i}": build_wheel(dists, f"crowd-{i}", "1.0") for i in range(8)}
        failures: list[str] = []

        def publish(names: list[str]) -> None:
            for name in names:
                if http_upload(server.url, token, wheels[name], name, "1.0").status_code != 200:
                    failures.append(name)
                if gem_push(server.url, token, craft_gem(f"{name}-gem", "1.0.0")).status_code != 200:
                    failures.append(name + "-gem")

        names = sorted(wheels)
        threads = [threading.Thread(target=publish, args=(names[i::2],)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures

        listing = httpx.get(server.url + "/pypi/simple/", headers=JSON_ACCEPT)
        assert sorted(p["name"] for p in listing.json()["projects"]) == names
        assert listing.json()["meta"]["_last-serial"] == int(listing.headers["x-pypi-last-serial"])
        assert listing.json()["meta"]["_last-serial"] >= max(p["_last-serial"] for p in listing.json()["projects"])
        _assert_files_catch_up_with_app(server, "pypi/simple/index.json", JSON_ACCEPT)
        _assert_files_catch_up_with_app(server, "pypi/simple/index.json.gz", JSON_ACCEPT)
        gem_names = httpx.get(server.url + "/rubygems/names").text.split("\n")
        assert sorted(n for n in gem_names[1:] if n) == sorted(f"{n}-gem" for n in names)
        _assert_files_catch_up_with_app(server, "rubygems/names")
        _assert_files_catch_up_with_app(server, "rubygems/specs.4.8.gz")
        assert server.cli("check", check=False).returncode == 0
    finally:
        server.stop()
        server.backend.drop()


def test_check_compares_stored_pypi_documents_with_a_fresh_render(registry_server, tmp_path):
    from packyard.models import Document

    server = registry_server
    token = server.mint_token(*SCOPES)
    _publish(server, tmp_path, token, "audited")
    assert server.cli("check", check=False).returncode == 0
    with server.registry().db.write() as session:
        page = session.get(Document, ("pypi", "simple/audited/index.html"))
        page.body = page.body.replace(b"audited", b"tampered")
        session.add(page)
        session.delete(session.get(Document, ("pypi", "pypi/audited/json")))
    result = server.cli("check", check=False)
    assert result.returncode == 1
    assert "problem: pypi: simple/audited/index.html differs from a fresh render of audited" in result.stdout
    assert "problem: pypi: pypi/audited/json is missing" in result.stdout


def test_reads_and_writes_go_on_without_redis_and_its_copies_catch_up(tmp_path):
    import redis

    from packyard.cache.redis import redis_prefix

    backend = dataclasses.replace(new_backend(), redis_url=REDIS_URL)
    proxy = proxy_for(backend.redis_url)
    server = start_server(tmp_path / "server", workers=2, backend=behind_proxy(backend, redis=proxy))
    try:
        token = server.mint_token(*SCOPES)
        _publish(server, tmp_path, token, "steady")
        assert gem_push(server.url, token, craft_gem("steady-gem", "1.0.0")).status_code == 200
        pages = ["/pypi/simple/steady/", "/pypi/simple/", "/rubygems/info/steady-gem", "/rubygems/versions", "/pypi/pypi/steady/json"]
        for url in pages:
            assert httpx.get(server.url + url).status_code == 200

        proxy.close()
        for url in pages * 3:  # both workers, memo or database: never a 500
            response = httpx.get(server.url + url, timeout=10)
            assert response.status_code == 200, (url, response.status_code, response.text)
        _publish(server, tmp_path, token, "steady", "2.0")
        assert gem_push(server.url, token, craft_gem("steady-gem", "2.0.0")).status_code == 200
        for _ in range(6):
            assert b"steady-2.0" in httpx.get(server.url + "/pypi/simple/steady/", timeout=10).content
            assert b"2.0.0 " in httpx.get(server.url + "/rubygems/info/steady-gem", timeout=10).content

        proxy.open()
        _publish(server, tmp_path, token, "steady", "3.0")  # maybe before a breaker's cool-down ends
        for _ in range(6):
            page = httpx.get(server.url + "/pypi/simple/steady/", timeout=10).content
            assert b"steady-2.0" in page and b"steady-3.0" in page
            assert b"2.0.0 " in httpx.get(server.url + "/rubygems/info/steady-gem", timeout=10).content
        # Each process's breaker probes again after its cool-down (doubled per failed probe, at most
        # 8 s); the first process that finds Redis back repairs the copies changed meanwhile.
        client = redis.Redis.from_url(backend.redis_url)
        key = f"{redis_prefix(server.registry().settings.resolved_database_url)}doc:pypi:simple/steady/index.html"
        deadline = time.monotonic() + 20
        while True:
            assert httpx.get(server.url + "/pypi/simple/steady/", timeout=10).status_code == 200
            stored = client.hget(key, "d")
            if (stored is not None and b"steady-3.0" in stored) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert stored is not None and b"steady-3.0" in stored
    finally:
        proxy.open()
        server.stop()
        proxy.stop()
        backend.drop()

