"""The compact index, legacy indexes and downloads over HTTP: exact bytes and the headers clients rely on."""

from __future__ import annotations

import base64
import hashlib
import subprocess

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES, push, yank
from tests.rubygems.gemtools import GemSource


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope="module")
def published(server, gem_builder):
    """ci-dep 1.0.0; ci-app 1.0.0 (-> ci-dep), 1.1.0 (ruby >= 2.7), 2.0.0.pre1, 1.1.0 x86_64-linux."""
    token = server.mint_token(*PUSH_SCOPES, user="indexer")
    gems = {
        "dep": gem_builder(GemSource("ci-dep", "1.0.0")),
        "app1": gem_builder(GemSource("ci-app", "1.0.0", runtime=[("ci-dep", [">= 0.1", "< 2"])],
                                      development=[("rake", [">= 10"])])),
        "app11": gem_builder(GemSource("ci-app", "1.1.0", runtime=[("ci-dep", ["~> 1.0"])], required_ruby_version=">= 2.7")),
        "pre": gem_builder(GemSource("ci-app", "2.0.0.pre1")),
        "native": gem_builder(GemSource("ci-app", "1.1.0", platform="x86_64-linux", runtime=[("ci-dep", ["~> 1.0"])],
                                        required_ruby_version=">= 2.7")),
    }
    for key in ("dep", "app1", "app11", "pre", "native"):
        response = push(server.url, token, gems[key])
        assert response.status_code == 200, response.text
    return {"token": token, "gems": {k: v.read_bytes() for k, v in gems.items()}}


def test_info_is_byte_exact(server, published) -> None:
    g = published["gems"]
    response = httpx.get(f"{server.url}/rubygems/info/ci-app")
    assert response.status_code == 200
    assert response.text == (
        "---\n"
        f"1.0.0 ci-dep:< 2&>= 0.1|checksum:{sha256(g['app1'])}\n"
        f"1.1.0 ci-dep:~> 1.0|checksum:{sha256(g['app11'])},ruby:>= 2.7\n"
        f"2.0.0.pre1 |checksum:{sha256(g['pre'])},rubygems:> 1.3.1\n"
        f"1.1.0-x86_64-linux ci-dep:~> 1.0|checksum:{sha256(g['native'])},ruby:>= 2.7\n"
    )
    assert httpx.get(f"{server.url}/rubygems/info/ci-dep").text == f"---\n1.0.0 |checksum:{sha256(g['dep'])}\n"
    assert httpx.get(f"{server.url}/rubygems/info/no-such-gem").status_code == 404


def test_versions_and_names(server, published) -> None:
    versions = httpx.get(f"{server.url}/rubygems/versions").content
    header, _, lines = versions.partition(b"---\n")
    assert header.startswith(b"created_at: ")
    app_info = httpx.get(f"{server.url}/rubygems/info/ci-app").content
    dep_info = httpx.get(f"{server.url}/rubygems/info/ci-dep").content
    assert lines.decode().endswith(
        f"ci-dep 1.0.0 {md5(dep_info)}\n"
        f"ci-app 1.0.0 {md5(app_info[:app_info.index(b'1.1.0')])}\n"
        f"ci-app 1.1.0 {md5(app_info[:app_info.index(b'2.0.0')])}\n"
        f"ci-app 2.0.0.pre1 {md5(app_info[:app_info.index(b'1.1.0-x86')])}\n"
        f"ci-app 1.1.0-x86_64-linux {md5(app_info)}\n"
    )
    names = httpx.get(f"{server.url}/rubygems/names")
    assert names.text.startswith("---\n") and "ci-app\nci-dep\n" in names.text


@pytest.mark.parametrize("path", ["/versions", "/info/ci-app", "/names"])
def test_compact_index_headers_range_and_conditionals(server, published, path) -> None:
    url = f"{server.url}/rubygems{path}"
    full = httpx.get(url)
    body = full.content
    etag = f'"{md5(body)}"'
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert full.headers["content-type"] == "text/plain; charset=utf-8"
    assert full.headers["etag"] == etag
    assert full.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert full.headers["digest"] == f"sha-256={digest}"
    assert full.headers["accept-ranges"] == "bytes"
    assert "content-encoding" not in full.headers

    # bundler 2.3's refresh: one byte of overlap, and gzip accepted -> still identity
    partial = httpx.get(url, headers={"Range": f"bytes={len(body) - 1}-", "Accept-Encoding": "gzip"})
    assert partial.status_code == 206
    assert partial.content == body[-1:]
    assert partial.headers["content-range"] == f"bytes {len(body) - 1}-{len(body) - 1}/{len(body)}"
    assert partial.headers["etag"] == etag and partial.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert "content-encoding" not in partial.headers

    middle = httpx.get(url, headers={"Range": "bytes=2-5"})
    assert middle.status_code == 206 and middle.content == body[2:6]

    past_end = httpx.get(url, headers={"Range": f"bytes={len(body)}-"})
    assert past_end.status_code == 200 and past_end.content == body and past_end.headers["etag"] == etag

    not_modified = httpx.get(url, headers={"If-None-Match": etag, "Range": f"bytes={len(body) - 1}-"})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert httpx.get(url, headers={"If-None-Match": '"0000"'}).status_code == 200

    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(body))


def test_source_root_answers_head_with_200(server) -> None:
    assert httpx.head(f"{server.url}/rubygems/").status_code == 200


def test_gem_download(server, published) -> None:
    data = published["gems"]["native"]
    url = f"{server.url}/rubygems/gems/ci-app-1.1.0-x86_64-linux.gem"
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["etag"] == f'"{md5(data)}"'
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data)) and head.content == b""
    ranged = httpx.get(url, headers={"Range": "bytes=100-"})
    assert ranged.status_code == 206 and ranged.content == data[100:]
    assert httpx.get(f"{server.url}/rubygems/gems/ci-app-9.9.9.gem").status_code == 404
    assert httpx.get(f"{server.url}/rubygems/gems/..%2F..%2Fetc%2Fpasswd.gem").status_code == 404


def test_marshal_indexes_load_in_ruby(server, published, ruby_env) -> None:
    for name in ("specs.4.8.gz", "latest_specs.4.8.gz", "prerelease_specs.4.8.gz"):
        (ruby_env.root / name).write_bytes(httpx.get(f"{server.url}/rubygems/{name}").content)
    quick = httpx.get(f"{server.url}/rubygems/quick/Marshal.4.8/ci-app-1.1.0-x86_64-linux.gemspec.rz")
    assert quick.status_code == 200 and quick.headers["content-type"] == "application/octet-stream"
    (ruby_env.root / "quick.rz").write_bytes(quick.content)
    script = """
      require "rubygems"; require "zlib"
      %w[specs latest_specs prerelease_specs].each do |kind|
        rows = Marshal.load(Zlib.gunzip(File.binread("#{kind}.4.8.gz"))).select { |r| r[0].start_with?("ci-") }
        puts "#{kind}: " + rows.map { |n, v, p| "#{n}-#{v}-#{p}" }.join(" ")
      end
      spec = Marshal.load(Zlib::Inflate.inflate(File.binread("quick.rz")))
      puts "quick: #{spec.full_name} #{spec.dependencies.map(&:to_s).join(";")} #{spec.required_ruby_version}"
    """
    out = subprocess.run(["ruby", "-e", script], cwd=ruby_env.root, capture_output=True, text=True, check=True).stdout
    assert "specs: ci-app-1.0.0-ruby ci-app-1.1.0-x86_64-linux ci-app-1.1.0-ruby ci-dep-1.0.0-ruby" in out
    assert "latest_specs: ci-app-1.1.0-x86_64-linux ci-app-1.1.0-ruby ci-dep-1.0.0-ruby" in out
    assert "prerelease_specs: ci-app-2.0.0.pre1-ruby" in out
    assert "quick: ci-app-1.1.0-x86_64-linux ci-dep (~> 1.0) >= 2.7" in out


def test_json_api(server, published) -> None:
    versions = httpx.get(f"{server.url}/rubygems/api/v1/versions/ci-app.json").json()
    assert [(v["number"], v["platform"]) for v in versions] == [
        ("2.0.0.pre1", "ruby"), ("1.1.0", "x86_64-linux"), ("1.1.0", "ruby"), ("1.0.0", "ruby")]
    first = next(v for v in versions if v["number"] == "1.1.0" and v["platform"] == "ruby")
    assert first["ruby_version"] == ">= 2.7" and first["sha"] == sha256(published["gems"]["app11"])
    assert first["authors"] == "Packyard Tests, Second Author" and first["prerelease"] is False
    gem = httpx.get(f"{server.url}/rubygems/api/v1/gems/ci-app.json").json()
    assert gem["name"] == "ci-app" and gem["version"] == "1.1.0" and gem["platform"] == "ruby"
    assert gem["dependencies"]["runtime"] == [{"name": "ci-dep", "requirements": "~> 1.0"}]
    assert gem["source_code_uri"] == "https://example.invalid/src"
    assert gem["gem_uri"].endswith("/rubygems/gems/ci-app-1.1.0.gem")
    assert httpx.get(f"{server.url}/rubygems/api/v1/gems/nope.json").status_code == 404


def test_yank_hides_and_unyank_restores(server, published, gem_builder) -> None:
    token = published["token"]
    assert push(server.url, token, gem_builder(GemSource("ci-yanky", "1.0.0"))).status_code == 200
    assert push(server.url, token, gem_builder(GemSource("ci-yanky", "2.0.0"))).status_code == 200
    gem_url = f"{server.url}/rubygems/gems/ci-yanky-2.0.0.gem"
    quick_url = f"{server.url}/rubygems/quick/Marshal.4.8/ci-yanky-2.0.0.gemspec.rz"
    before = httpx.get(f"{server.url}/rubygems/versions").content

    response = yank(server.url, token, "ci-yanky", "2.0.0")
    assert response.status_code == 200 and response.text == "Successfully deleted gem: ci-yanky (2.0.0)"
    info = httpx.get(f"{server.url}/rubygems/info/ci-yanky").content
    assert b"2.0.0" not in info and b"1.0.0 |" in info
    after = httpx.get(f"{server.url}/rubygems/versions").content
    assert after.startswith(before)
    assert after[len(before):] == f"ci-yanky -2.0.0 {md5(info)}\n".encode()
    assert httpx.get(gem_url).status_code == 404 and httpx.get(quick_url).status_code == 404

    again = yank(server.url, token, "ci-yanky", "2.0.0")
    assert again.status_code == 422 and again.text == "ci-yanky 2.0.0 has already been deleted"
    assert yank(server.url, token, "ci-yanky", "3.0.0").status_code == 404
    assert yank(server.url, token, "ci-nothing", "1.0.0").text == "This gem could not be found"
    repush = push(server.url, token, gem_builder(GemSource("ci-yanky", "2.0.0")))
    assert repush.status_code == 409 and repush.text.startswith("A yanked version already exists (ci-yanky-2.0.0)")

    restored = yank(server.url, token, "ci-yanky", "2.0.0", undo=True)
    assert restored.status_code == 200, restored.text
    assert httpx.get(gem_url).status_code == 200 and httpx.get(quick_url).status_code == 200
    info = httpx.get(f"{server.url}/rubygems/info/ci-yanky").content
    assert httpx.get(f"{server.url}/rubygems/versions").content.endswith(f"ci-yanky 2.0.0 {md5(info)}\n".encode())


def test_yank_needs_the_yank_scope(server, published) -> None:
    writer = server.mint_token("rubygems:gem:*:write", user="indexer", name="write-only")
    refused = yank(server.url, writer, "ci-dep", "1.0.0")
    assert refused.status_code == 403
    assert not refused.text.startswith("The API key doesn't have access")
    assert b"1.0.0" in httpx.get(f"{server.url}/rubygems/info/ci-dep").content


def test_rebuild_index_cli_compacts_versions(server, published) -> None:
    before = httpx.get(f"{server.url}/rubygems/versions").content
    result = server.cli("rubygems", "rebuild-index")
    assert "Rebuilt /versions" in result.stdout
    after = httpx.get(f"{server.url}/rubygems/versions").content
    assert after != before
    lines = after.split(b"---\n", 1)[1].decode().splitlines()
    app_info = httpx.get(f"{server.url}/rubygems/info/ci-app").content
    assert f"ci-app 1.0.0,1.1.0,2.0.0.pre1,1.1.0-x86_64-linux {md5(app_info)}" in lines
    assert [line.split()[0] for line in lines] == sorted(line.split()[0] for line in lines)
    assert not any(" -" in line for line in lines)
