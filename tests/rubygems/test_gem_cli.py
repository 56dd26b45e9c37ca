"""`gem push`, `gem yank`, `gem install`, `gem fetch`, `gem list -r` (Debian's RubyGems) against a real server."""

from __future__ import annotations

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES
from tests.rubygems.gemtools import GemSource, module_name


@pytest.fixture(scope="module")
def token(server) -> str:
    return server.mint_token(*PUSH_SCOPES, user="gemcli")


def gem_push(ruby_env, server, path, key):
    return ruby_env.run(["gem", "push", str(path), "--host", f"{server.url}/rubygems"], check=False, timeout=60,
                        GEM_HOST_API_KEY=key)


def source(server) -> list[str]:
    return ["--clear-sources", "--source", f"{server.url}/rubygems/"]


def installed(ruby_env, gem: str) -> str:
    """`NAME VERSION PLATFORM` of the gem that `require` loads."""
    const = module_name(gem)
    return ruby_env.ruby_eval(f'require "{gem}"; puts "{gem} #{{{const}::VERSION}} #{{{const}::PLATFORM}}"').strip()


def test_push_repush_conflict_and_bad_key(server, token, gem_builder, ruby_env) -> None:
    gem = gem_builder(GemSource("cli-push", "1.0.0"))
    first = gem_push(ruby_env, server, gem, token)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Successfully registered gem: cli-push (1.0.0)" in first.stdout

    again = gem_push(ruby_env, server, gem, token)
    assert again.returncode == 0 and "Gem was already pushed: cli-push (1.0.0)" in again.stdout

    other = gem_builder(GemSource("cli-push", "1.0.0", summary="other bytes, same version"))
    conflict = gem_push(ruby_env, server, other, token)
    assert conflict.returncode == 1
    assert "Repushing of gem versions is not allowed" in conflict.stdout + conflict.stderr
    served = httpx.get(f"{server.url}/rubygems/gems/cli-push-1.0.0.gem").content
    assert served == gem.read_bytes()

    newer = gem_builder(GemSource("cli-push", "1.1.0"))
    refused = gem_push(ruby_env, server, newer, "pky_not-a-real-token")
    assert refused.returncode == 1
    assert "Access Denied" in refused.stdout + refused.stderr
    assert "doesn't have access" not in refused.stdout + refused.stderr
    assert httpx.get(f"{server.url}/rubygems/gems/cli-push-1.1.0.gem").status_code == 404

    reader = server.mint_token("rubygems:gem:*:read", user="gemcli", name="read-only")
    scoped = gem_push(ruby_env, server, newer, reader)
    assert scoped.returncode == 1 and "cannot perform the specified action" in scoped.stdout + scoped.stderr
    assert b"1.1.0" not in httpx.get(f"{server.url}/rubygems/info/cli-push").content


def test_push_to_a_gem_owned_by_someone_else_is_refused(server, token, gem_builder, ruby_env) -> None:
    assert gem_push(ruby_env, server, gem_builder(GemSource("cli-owned", "1.0.0")), token).returncode == 0
    intruder = server.mint_token(*PUSH_SCOPES, user="intruder")
    result = gem_push(ruby_env, server, gem_builder(GemSource("cli-owned", "2.0.0")), intruder)
    assert result.returncode == 1
    assert "You do not have permission to push to this gem" in result.stdout + result.stderr


def test_gem_install_with_dependency_pre_and_platform(server, token, gem_builder, ruby_env) -> None:
    pushes = [
        GemSource("cli-dep", "1.0.0"),
        GemSource("cli-dep", "2.0.0"),
        GemSource("cli-app", "1.0.0", runtime=[("cli-dep", ["~> 1.0"])]),
        GemSource("cli-app", "1.5.0.beta1", runtime=[("cli-dep", ["~> 1.0"])]),
        GemSource("cli-native", "3.0.0"),
        GemSource("cli-native", "3.0.0", platform="x86_64-linux"),
        GemSource("cli-modern", "1.0.0"),
        GemSource("cli-modern", "2.0.0", required_ruby_version=">= 99"),
    ]
    for src in pushes:
        result = gem_push(ruby_env, server, gem_builder(src), token)
        assert result.returncode == 0, result.stdout + result.stderr

    install = ruby_env.run(["gem", "install", "cli-app", *source(server), "--no-document"])
    assert "Successfully installed cli-dep-1.0.0" in install.stdout, install.stdout
    assert "Successfully installed cli-app-1.0.0" in install.stdout
    assert installed(ruby_env, "cli-app") == "cli-app 1.0.0 ruby"

    pre = ruby_env.run(["gem", "install", "cli-app", "--pre", *source(server), "--no-document"])
    assert "Successfully installed cli-app-1.5.0.beta1" in pre.stdout, pre.stdout

    native = ruby_env.run(["gem", "install", "cli-native", *source(server), "--no-document"])
    assert "Successfully installed cli-native-3.0.0-x86_64-linux" in native.stdout, native.stdout
    assert installed(ruby_env, "cli-native") == "cli-native 3.0.0 x86_64-linux"

    modern = ruby_env.run(["gem", "install", "cli-modern", *source(server), "--no-document"])
    assert "Successfully installed cli-modern-1.0.0" in modern.stdout, modern.stdout


def test_gem_yank_fetch_and_list(server, token, gem_builder, ruby_env) -> None:
    for version in ("1.0.0", "1.1.0"):
        assert gem_push(ruby_env, server, gem_builder(GemSource("cli-yank", version)), token).returncode == 0
    listed = ruby_env.run(["gem", "list", "-r", "cli-yank", "--all", *source(server)])
    assert "cli-yank (1.1.0, 1.0.0)" in listed.stdout, listed.stdout

    result = ruby_env.run(["gem", "yank", "cli-yank", "-v", "1.1.0", "--host", f"{server.url}/rubygems"],
                          check=False, GEM_HOST_API_KEY=token)
    assert "Successfully deleted gem: cli-yank (1.1.0)" in result.stdout, result.stdout + result.stderr
    # gem yank exits 0 even when refused: the server's state is what counts
    assert b"1.1.0" not in httpx.get(f"{server.url}/rubygems/info/cli-yank").content
    assert httpx.get(f"{server.url}/rubygems/gems/cli-yank-1.1.0.gem").status_code == 404

    fetched = ruby_env.run(["gem", "fetch", "cli-yank", *source(server)])
    assert "Downloaded cli-yank-1.0.0" in fetched.stdout, fetched.stdout
    assert (ruby_env.root / "work" / "cli-yank-1.0.0.gem").exists()
