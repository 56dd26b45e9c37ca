"""The RubyGems proxy: real `gem` and `bundle` against a packyard whose upstream is a second real
packyard (it speaks rubygems.org's protocols byte for byte, per the conformance suite)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES, push, require_ruby
from tests.rubygems.gemtools import GemSource, RubyEnv
from tests.rubygems.test_bundler import gemfile, locked
from tests.support.access_log import access_lines
from tests.support.server import RunningServer, start_server

LIFETIME = "1"


def proxy_env(upstream: RunningServer) -> dict[str, str]:
    return {"PACKYARD_RUBYGEMS_UPSTREAM": f"{upstream.url}/rubygems/", "PACKYARD_UPSTREAM_CACHE_SECONDS": LIFETIME}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("upstream"), extra_env={"PACKYARD_TEST_HOOKS": "true"})
    running.token = running.mint_token(*PUSH_SCOPES, user="publisher")  # type: ignore[attr-defined]
    yield running
    running.stop()
    running.backend.drop()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, upstream) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("proxy"), extra_env=proxy_env(upstream))
    running.token = running.mint_token(*PUSH_SCOPES, user="insider")  # type: ignore[attr-defined]
    running.admin = running.mint_token("admin", user="root")  # type: ignore[attr-defined]
    yield running
    running.stop()
    running.backend.drop()


def publish(server: RunningServer, gem: Path) -> None:
    answer = push(server.url, server.token, gem)  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text


def after_a_lifetime() -> None:
    """Upstream's new lines reach the proxy's /versions at its next sync: at most a cache lifetime later."""
    time.sleep(float(LIFETIME) + 0.5)


def source(server: RunningServer) -> list[str]:
    return ["--clear-sources", "--source", f"{server.url}/rubygems/"]


def access_log(server: RunningServer, since: int = 0) -> list[tuple[str, int]]:
    """(path below /rubygems, status) of every GET in the server's access log (JSON lines) after
    log offset `since`."""
    return [(entry["path"].removeprefix("/rubygems"), entry["status"]) for entry in access_lines(server, since)
            if entry["method"] == "GET" and entry["path"].startswith("/rubygems/")]


def upstream_requests(server: RunningServer, since: int = 0) -> list[str]:
    """Paths the upstream server was asked for, after log offset `since`."""
    return [path for path, _ in access_log(server, since)]


def versions_lines(server: RunningServer, headers: dict[str, str] | None = None) -> dict[str, list[str]]:
    body = httpx.get(f"{server.url}/rubygems/versions", headers=headers or {}).text
    lines: dict[str, list[str]] = {}
    for line in body.partition("---\n")[2].splitlines():
        lines.setdefault(line.split(" ")[0], []).append(line)
    return lines


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def bundler_requests(output: str, path: str) -> list[str]:
    """The answers bundler --verbose logged for `path` (`HTTP 206 Partial Content <url>`)."""
    return re.findall(rf"^HTTP (\d+) [^\n]*{re.escape(path)}$", output, re.MULTILINE)


def test_a_gem_only_upstream_installs_with_gem_and_bundler(upstream, proxy, gem_builder, tmp_path) -> None:
    require_ruby()
    for src in (GemSource("solo-dep", "1.0.0"), GemSource("solo-dep", "1.1.0"),
                GemSource("solo-app", "1.0.0", runtime=[("solo-dep", ["~> 1.0"])]),
                GemSource("solo-native", "2.0.0"), GemSource("solo-native", "2.0.0", platform="x86_64-linux")):
        publish(upstream, gem_builder(src))

    env = RubyEnv(tmp_path / "gem")
    env.run(["gem", "install", "solo-app", *source(proxy), "--no-document"])
    installed = env.run(["gem", "list", "solo"]).stdout
    assert "solo-app (1.0.0)" in installed and "solo-dep (1.1.0)" in installed, installed
    native = env.run(["gem", "install", "solo-native", *source(proxy), "--no-document"])
    assert "Successfully installed solo-native-2.0.0-x86_64-linux" in native.stdout, native.stdout

    # each upstream line keeps upstream's MD5, and /info serves upstream's bytes exactly
    lines = versions_lines(proxy)
    upstream_info = httpx.get(f"{upstream.url}/rubygems/info/solo-app").content
    proxied = httpx.get(f"{proxy.url}/rubygems/info/solo-app")
    assert proxied.content == upstream_info and proxied.headers["etag"] == f'"{md5(upstream_info)}"'
    assert lines["solo-app"][-1].endswith(" " + md5(upstream_info))
    # the .gem is kept: the same bytes as upstream's, recorded as a fetch
    assert "/info/solo-app" in upstream_requests(upstream)  # the access log is read (a control for the tests below)
    gem = httpx.get(f"{proxy.url}/rubygems/gems/solo-app-1.0.0.gem")
    assert gem.content == httpx.get(f"{upstream.url}/rubygems/gems/solo-app-1.0.0.gem").content
    fetches = httpx.get(f"{proxy.url}/api/v1/proxy/fetches", params={"ecosystem": "rubygems"},
                        headers={"Authorization": f"Bearer {proxy.admin}"}).json()["items"]  # type: ignore[attr-defined]
    recorded = {(f["package"], f["filename"]) for f in fetches}
    assert {("solo-app", "solo-app-1.0.0.gem"), ("solo-dep", "solo-dep-1.1.0.gem")} <= recorded
    assert all(f["sha256"] == hashlib.sha256(gem.content).hexdigest() for f in fetches if f["filename"] == "solo-app-1.0.0.gem")
    # the specs files list the upstream gems fetched so far (gem list -r reads specs.4.8.gz)
    listed = env.run(["gem", "list", "-r", "solo", *source(proxy)]).stdout
    assert "solo-app (1.0.0)" in listed and "solo-dep (1.1.0)" in listed, listed

    # bundler with the proxy as its source, and as the mirror of rubygems.org
    after_a_lifetime()
    plain = env.root / "plain"
    gemfile(plain, proxy, "solo-app")
    env.run(["bundle", "install"], cwd=plain)
    assert locked(plain) == {"solo-app": "1.0.0", "solo-dep": "1.1.0"}

    mirrored = env.root / "mirrored"
    mirrored.mkdir()
    (mirrored / "Gemfile").write_text('source "https://rubygems.org"\ngem "solo-app"\n')
    env.run(["bundle", "config", "set", "--local", "mirror.https://rubygems.org", f"{proxy.url}/rubygems/"], cwd=mirrored)
    env.run(["bundle", "install"], cwd=mirrored, BUNDLE_PATH=str(env.root / "bundle-mirror"))
    assert locked(mirrored) == {"solo-app": "1.0.0", "solo-dep": "1.1.0"}
    assert "remote: https://rubygems.org/" in (mirrored / "Gemfile.lock").read_text()


def test_a_local_name_never_resolves_upstream_whatever_its_case(upstream, proxy, gem_builder, tmp_path) -> None:
    require_ruby()
    for version in ("1.0.0", "9.0.0"):
        publish(upstream, gem_builder(GemSource("twin", version)))
        publish(upstream, gem_builder(GemSource("late-twin", version)))
        publish(upstream, gem_builder(GemSource("cased", version)))
    publish(proxy, gem_builder(GemSource("twin", "1.0.0", summary="the local twin")))
    publish(proxy, gem_builder(GemSource("Cased", "1.0.0")))
    after_a_lifetime()
    lines = versions_lines(proxy)  # syncs upstream's /versions: late-twin's lines are merged
    assert "late-twin" in lines
    assert lines["twin"] == [line for line in lines["twin"] if "9.0.0" not in line]
    assert "cased" not in lines  # upstream's `cased`: the local `Cased` wins

    # a local push of a name upstream has: its upstream lines leave /versions (a compaction), and
    # the upstream file fetched before it is no longer served
    assert httpx.get(f"{proxy.url}/rubygems/gems/late-twin-9.0.0.gem").status_code == 200
    publish(proxy, gem_builder(GemSource("late-twin", "1.0.0", summary="the local late twin")))
    asked = len(upstream.log())
    lines = versions_lines(proxy)
    local_info = httpx.get(f"{proxy.url}/rubygems/info/late-twin").content
    assert lines["late-twin"] == [f"late-twin 1.0.0 {md5(local_info)}"]
    for name in ("twin", "late-twin"):
        assert "9.0.0" not in httpx.get(f"{proxy.url}/rubygems/info/{name}").text
        assert httpx.get(f"{proxy.url}/rubygems/gems/{name}-9.0.0.gem").status_code == 404
    assert httpx.get(f"{proxy.url}/rubygems/info/cased").status_code == 404
    assert httpx.get(f"{proxy.url}/rubygems/gems/cased-9.0.0.gem").status_code == 404
    # the local names were never sent upstream
    sent = upstream_requests(upstream, asked)
    assert not [p for p in sent if re.search(r"/(info|gems|quick/Marshal.4.8)/(twin|late-twin|cased)\b", p, re.I)], sent

    env = RubyEnv(tmp_path / "bundle")
    project = env.root / "project"
    gemfile(project, proxy, "twin", "late-twin")
    env.run(["bundle", "install"], cwd=project)
    assert locked(project) == {"twin": "1.0.0", "late-twin": "1.0.0"}
    summary = env.run(["bundle", "exec", "ruby", "-e", 'puts Gem.loaded_specs["twin"].summary'], cwd=project).stdout
    assert summary.strip() == "the local twin"


def test_a_private_local_gem_hides_its_upstream_twin(upstream, proxy, gem_builder) -> None:
    require_ruby()
    for version in ("1.0.0", "2.0.0"):
        publish(upstream, gem_builder(GemSource("hush", version)))
    publish(proxy, gem_builder(GemSource("hush", "1.0.0")))
    made_private = httpx.patch(f"{proxy.url}/api/v1/packages/rubygems/hush", json={"visibility": "private"},
                               headers={"Authorization": f"Bearer {proxy.admin}"})  # type: ignore[attr-defined]
    assert made_private.status_code == 200, made_private.text
    asked = len(upstream.log())
    assert "hush" not in versions_lines(proxy)
    for path in ("info/hush", "gems/hush-2.0.0.gem", "quick/Marshal.4.8/hush-2.0.0.gemspec.rz", "gems/hush-1.0.0.gem"):
        answer = httpx.get(f"{proxy.url}/rubygems/{path}")
        assert answer.status_code in (401, 404), (path, answer.status_code)
        assert answer.status_code == 401 or "2.0.0" in path
    assert not [p for p in upstream_requests(upstream, asked) if "hush" in p]
    reader = proxy.mint_token("rubygems:gem:hush:read", user="reader")
    seen = versions_lines(proxy, {"Authorization": f"Bearer {reader}"})
    info = httpx.get(f"{proxy.url}/rubygems/info/hush", headers={"Authorization": f"Bearer {reader}"}).content
    assert seen["hush"] == [f"hush 1.0.0 {md5(info)}"]


def test_a_reserved_name_never_resolves_upstream(upstream, proxy, gem_builder) -> None:
    require_ruby()
    publish(upstream, gem_builder(GemSource("claimed", "1.0.0")))
    versions_lines(proxy)  # perhaps merged before the reservation ...
    proxy.cli("rubygems", "reserve", "Claimed")
    asked = len(upstream.log())
    assert httpx.get(f"{proxy.url}/rubygems/info/claimed").status_code == 404  # at once
    after_a_lifetime()
    assert "claimed" not in versions_lines(proxy)  # ... its lines leave within a cache lifetime
    assert httpx.get(f"{proxy.url}/rubygems/info/claimed").status_code == 404
    assert httpx.get(f"{proxy.url}/rubygems/gems/claimed-1.0.0.gem").status_code == 404
    assert not [p for p in upstream_requests(upstream, asked) if "claimed" in p.lower()]


def test_a_new_upstream_release_costs_bundle_update_one_206(upstream, proxy, gem_builder, tmp_path) -> None:
    require_ruby()
    publish(upstream, gem_builder(GemSource("fresh", "1.0.0")))
    after_a_lifetime()
    env = RubyEnv(tmp_path / "bundle")
    project = env.root / "project"
    gemfile(project, proxy, "fresh")
    env.run(["bundle", "install"], cwd=project)
    assert locked(project) == {"fresh": "1.0.0"}

    publish(upstream, gem_builder(GemSource("fresh", "1.1.0")))
    after_a_lifetime()
    logged = len(proxy.log())
    update = env.run(["bundle", "update", "fresh", "--verbose"], cwd=project)
    assert locked(project) == {"fresh": "1.1.0"}
    assert bundler_requests(update.stdout, "/rubygems/versions") == ["206"], update.stdout[-3000:]
    assert len(bundler_requests(update.stdout, "/rubygems/info/fresh")) == 1, update.stdout[-3000:]  # 206: its tail
    served = [(path, status) for path, status in access_log(proxy, logged) if path == "/versions" or path.startswith("/info/")]
    assert [path for path, _ in served] == ["/versions", "/info/fresh"] and served[0][1] == 206, served


class TamperingRelay:
    """Between the proxy and a real upstream: forwards every GET, but flips the last byte of the
    `.gem` files named in `tamper` (same size, other bytes than upstream's /info announces)."""

    def __init__(self, target: str, tamper: set[str]):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                forwarded = {k: v for k, v in self.headers.items() if k.lower() in ("range", "if-none-match")}
                answer = httpx.get(target + self.path, headers=forwarded, timeout=30)
                body = answer.content
                if self.path.rsplit("/", 1)[-1] in tamper:
                    body = body[:-1] + bytes([body[-1] ^ 1])
                self.send_response(answer.status_code)
                for name in ("content-type", "etag", "content-range", "repr-digest", "digest"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_upstream_compacting_its_versions_compacts_the_proxy_s(upstream, proxy, gem_builder, tmp_path) -> None:
    """rubygems.org rewrites its /versions monthly (a new created_at): the proxy reads it whole and
    compacts its own; bundler notices the new body and fetches it whole."""
    require_ruby()
    for version in ("1.0.0", "1.1.0"):
        publish(upstream, gem_builder(GemSource("squash", version)))
    publish(proxy, gem_builder(GemSource("squash-local", "1.0.0")))
    after_a_lifetime()
    env = RubyEnv(tmp_path / "bundle")
    project = env.root / "project"
    gemfile(project, proxy, "squash")
    env.run(["bundle", "install"], cwd=project)
    before = httpx.get(f"{proxy.url}/rubygems/versions").text

    assert httpx.post(f"{upstream.url}/rubygems/rebuild_versions_list").status_code == 200
    publish(upstream, gem_builder(GemSource("squash", "1.2.0")))
    after_a_lifetime()
    after = httpx.get(f"{proxy.url}/rubygems/versions").text
    assert after.split("\n", 1)[0] != before.split("\n", 1)[0]  # compacted: a new created_at
    info = httpx.get(f"{upstream.url}/rubygems/info/squash").content
    squash = versions_lines(proxy)["squash"]  # one compacted line (+ 1.2.0's if synced in two steps)
    assert squash[-1].endswith(f" {md5(info)}")
    assert {v for line in squash for v in line.split(" ")[1].split(",")} == {"1.0.0", "1.1.0", "1.2.0"}, squash
    assert "squash-local" in versions_lines(proxy)  # the local gems stay listed
    update = env.run(["bundle", "update", "squash"], cwd=project)
    assert locked(project) == {"squash": "1.2.0"}, update.stdout


def test_upstream_bytes_that_differ_from_its_checksum_are_refused(tmp_path_factory, upstream, gem_builder, tmp_path) -> None:
    require_ruby()
    publish(upstream, gem_builder(GemSource("liar", "1.0.0")))
    real = httpx.get(f"{upstream.url}/rubygems/gems/liar-1.0.0.gem").content
    relay = TamperingRelay(upstream.url, {"liar-1.0.0.gem"})
    proxy = start_server(tmp_path_factory.mktemp("proxy-liar"),
                         extra_env={**proxy_env(upstream), "PACKYARD_RUBYGEMS_UPSTREAM": f"{relay.url}/rubygems/"})
    try:
        with pytest.raises(httpx.HTTPError):  # cut short: the client never gets the whole file
            httpx.get(f"{proxy.url}/rubygems/gems/liar-1.0.0.gem", timeout=30).read()
        env = RubyEnv(tmp_path / "gem")
        refused = env.run(["gem", "install", "liar", *source(proxy), "--no-document"], check=False)
        assert refused.returncode != 0, refused.stdout
        assert not proxy.stored_blobs()  # nothing kept, neither the tampered bytes nor a record
        fetches = httpx.get(f"{proxy.url}/api/v1/proxy/fetches", headers={"Authorization": f"Bearer {proxy.mint_token('admin', user='root')}"})
        assert fetches.json()["items"] == []
        assert "do not match the sha256" in proxy.log()
        assert hashlib.sha256(real).hexdigest() in httpx.get(f"{proxy.url}/rubygems/info/liar").text
    finally:
        relay.close()
        proxy.stop()
        proxy.backend.drop()


def test_upstream_stopped_cached_gems_still_install_uncached_ones_502(tmp_path_factory, gem_builder, tmp_path) -> None:
    require_ruby()
    upstream = start_server(tmp_path_factory.mktemp("upstream-stops"))
    upstream.token = upstream.mint_token(*PUSH_SCOPES, user="publisher")  # type: ignore[attr-defined]
    proxy = start_server(tmp_path_factory.mktemp("proxy-stays"), extra_env=proxy_env(upstream))
    try:
        for src in (GemSource("kept-dep", "1.0.0"), GemSource("kept-app", "1.0.0", runtime=[("kept-dep", [">= 1.0"])]),
                    GemSource("never-asked", "1.0.0")):
            publish(upstream, gem_builder(src))
        env = RubyEnv(tmp_path / "gem")
        env.run(["gem", "install", "kept-app", *source(proxy), "--no-document"])
        project = env.root / "project"
        gemfile(project, proxy, "kept-app")
        env.run(["bundle", "install"], cwd=project)

        upstream.stop()
        time.sleep(float(LIFETIME) + 0.5)  # every cached page is due for revalidation: upstream is away
        assert httpx.get(f"{proxy.url}/rubygems/versions").status_code == 200
        for path in ("info/kept-app", "gems/kept-app-1.0.0.gem", "quick/Marshal.4.8/kept-dep-1.0.0.gemspec.rz"):
            assert httpx.get(f"{proxy.url}/rubygems/{path}").status_code == 200, path
        fresh = RubyEnv(tmp_path / "again")
        fresh.run(["gem", "install", "kept-app", *source(proxy), "--no-document"])
        again = fresh.root / "project"
        gemfile(again, proxy, "kept-app")
        fresh.run(["bundle", "install"], cwd=again)
        assert locked(again) == {"kept-app": "1.0.0", "kept-dep": "1.0.0"}

        uncached = httpx.get(f"{proxy.url}/rubygems/info/never-asked")
        assert uncached.status_code == 502 and f"{upstream.url}/rubygems/" in uncached.text, uncached.text
    finally:
        proxy.stop()
        proxy.backend.drop()
        upstream.stop()
        upstream.backend.drop()


def test_packyard_check_agrees_with_the_merged_index(proxy) -> None:
    """After everything above: upstream lines and fetched gems are consistent with the rows."""
    checked = proxy.cli("check", check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
