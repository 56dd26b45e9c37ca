"""Private gems (shared/interface.md): 401 + WWW-Authenticate for anonymous reads, hidden from the
anonymous listings, visible to a reader with a read scope, installable by bundler with credentials."""

from __future__ import annotations

import gzip
import hashlib

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES, push, require_ruby
from tests.rubygems.gemtools import RubyEnv, craft_gem


def set_visibility(server, admin: str, name: str, visibility: str) -> None:
    response = httpx.patch(f"{server.url}/api/v1/packages/rubygems/{name}", json={"visibility": visibility},
                           headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def secret_gem(server):
    token = server.mint_token(*PUSH_SCOPES, user="owner")
    admin = server.mint_token("admin", user="root")
    for gem, version in (("open-gem", "1.0.0"), ("secret-gem", "1.0.0"), ("secret-gem", "1.1.0")):
        assert push(server.url, token, craft_gem(gem, version)).status_code == 200
    set_visibility(server, admin, "secret-gem", "private")
    return {"token": token, "admin": admin}


def test_anonymous_reads_of_a_private_gem_get_401(server, secret_gem) -> None:
    for path in ("/info/secret-gem", "/gems/secret-gem-1.0.0.gem", "/quick/Marshal.4.8/secret-gem-1.0.0.gemspec.rz",
                 "/api/v1/gems/secret-gem.json", "/api/v1/versions/secret-gem.json"):
        response = httpx.get(f"{server.url}/rubygems{path}")
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == 'Basic realm="packyard"'
    stranger = server.mint_token("rubygems:gem:open-gem:read", user="stranger")
    assert httpx.get(f"{server.url}/rubygems/info/secret-gem", auth=("__token__", stranger)).status_code == 403


def test_private_gem_is_hidden_from_anonymous_listings(server, secret_gem) -> None:
    versions = httpx.get(f"{server.url}/rubygems/versions").text
    assert "open-gem 1.0.0" in versions and "secret-gem" not in versions
    assert "secret-gem" not in httpx.get(f"{server.url}/rubygems/names").text
    assert b"secret-gem" not in gzip.decompress(httpx.get(f"{server.url}/rubygems/specs.4.8.gz").content)


def test_reader_sees_the_shared_body_plus_its_private_lines(server, secret_gem) -> None:
    reader = server.mint_token("rubygems:gem:secret-gem:read", user="reader")
    shared = httpx.get(f"{server.url}/rubygems/versions").content
    mine = httpx.get(f"{server.url}/rubygems/versions", auth=("__token__", reader))
    info = httpx.get(f"{server.url}/rubygems/info/secret-gem", auth=("__token__", reader))
    assert info.status_code == 200 and info.headers["etag"] == f'"{hashlib.md5(info.content).hexdigest()}"'
    assert mine.content == shared + f"secret-gem 1.0.0,1.1.0 {hashlib.md5(info.content).hexdigest()}\n".encode()
    assert mine.headers["etag"] == f'"{hashlib.md5(mine.content).hexdigest()}"'
    assert "secret-gem" in httpx.get(f"{server.url}/rubygems/names", auth=("__token__", reader)).text
    gem = httpx.get(f"{server.url}/rubygems/gems/secret-gem-1.1.0.gem", auth=("__token__", reader))
    assert gem.status_code == 200 and gem.content == craft_gem("secret-gem", "1.1.0")


def test_visibility_changes_update_versions(server, secret_gem) -> None:
    admin = secret_gem["admin"]
    assert push(server.url, secret_gem["token"], craft_gem("flip-gem", "1.0.0")).status_code == 200
    set_visibility(server, admin, "flip-gem", "private")
    hidden = httpx.get(f"{server.url}/rubygems/versions").text
    assert "flip-gem" not in hidden, "a gem made private must leave the shared /versions"
    set_visibility(server, admin, "flip-gem", "public")
    shown = httpx.get(f"{server.url}/rubygems/versions").content
    info = httpx.get(f"{server.url}/rubygems/info/flip-gem").content
    assert shown.startswith(hidden.encode())
    assert shown.endswith(f"flip-gem 1.0.0 {hashlib.md5(info).hexdigest()}\n".encode())


def test_bundler_installs_a_private_gem_with_credentials(server, secret_gem, tmp_path) -> None:
    require_ruby()
    reader = server.mint_token("rubygems:gem:secret-gem:read", user="ci-reader")
    env = RubyEnv(tmp_path / "client")
    project = env.root / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{server.url}/rubygems/"\ngem "secret-gem"\n')
    anonymous = env.run(["bundle", "install"], cwd=project, check=False)
    assert anonymous.returncode != 0
    # the anonymous /versions does not list it, so bundler never asks for its /info
    assert "Could not find gem 'secret-gem'" in anonymous.stdout + anonymous.stderr

    env.run(["bundle", "config", "set", "--global", f"{server.url}/rubygems/", f"__token__:{reader}"], cwd=project)
    env.run(["bundle", "install"], cwd=project)
    assert "secret-gem (1.1.0)" in (project / "Gemfile.lock").read_text()



def test_gem_and_bundler_take_credentials_from_url_and_environment(server, secret_gem, tmp_path) -> None:
    require_ruby()
    reader = server.mint_token("rubygems:gem:secret-gem:read", user="env-reader")
    env = RubyEnv(tmp_path / "client")
    host = server.url.split("://", 1)[1]
    result = env.run(["gem", "install", "secret-gem", "--clear-sources", "--source",
                      f"http://__token__:{reader}@{host}/rubygems/", "--no-document"])
    assert "Successfully installed secret-gem-1.1.0" in result.stdout, result.stdout

    project = env.root / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{server.url}/rubygems/"\ngem "secret-gem"\n')
    variable = "BUNDLE_" + server.url.split("://", 1)[1].split(":")[0].replace(".", "__")
    env.run(["bundle", "install"], cwd=project, **{variable: f"__token__:{reader}"})
    assert "secret-gem (1.1.0)" in (project / "Gemfile.lock").read_text()


def test_private_registry_needs_a_token_for_every_read(server_factory) -> None:
    server = server_factory(extra_env={"PACKYARD_PRIVATE": "true"})
    token = server.mint_token(*PUSH_SCOPES, user="insider")
    assert push(server.url, token, craft_gem("inside-gem", "1.0.0")).status_code == 200
    assert httpx.head(f"{server.url}/rubygems/").status_code == 200  # the probe reveals nothing
    for path in ("/versions", "/names", "/info/inside-gem", "/specs.4.8.gz", "/gems/inside-gem-1.0.0.gem"):
        anonymous = httpx.get(f"{server.url}/rubygems{path}")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="packyard"', path
        allowed = httpx.get(f"{server.url}/rubygems{path}", auth=("__token__", token))
        assert allowed.status_code == 200, path
        assert "public" not in allowed.headers["cache-control"], path
