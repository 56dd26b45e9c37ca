"""Fixtures for the RubyGems tests: Ruby clients in isolated environments and gems built with `gem build`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.rubygems.gemtools import GemSource, RubyEnv, build_gem, ruby_available
from tests.support.backends import TEST_DATABASE_URL

PUSH_SCOPES = ("rubygems:gem:*:write", "rubygems:gem:*:yank")


def require_ruby() -> None:
    """Real-client tests need Debian's ruby, gem and bundle; in CI their absence is a failure."""
    if ruby_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("ruby, gem and bundle are required in CI (apt-get install ruby ruby-bundler ruby-rspec)")
    pytest.skip("ruby, gem and bundle are not installed")


def on_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


@pytest.fixture
def ruby_env(tmp_path: Path) -> RubyEnv:
    require_ruby()
    return RubyEnv(tmp_path / "ruby")


@pytest.fixture(scope="module")
def gem_builder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[GemSource], Path]:
    """Builds gems once per module (same source -> same .gem path)."""
    require_ruby()
    env = RubyEnv(tmp_path_factory.mktemp("gem-build"))
    built: dict[str, Path] = {}

    def build(src: GemSource) -> Path:
        key = src.gemspec()
        if key not in built:
            built[key] = build_gem(src, env.root / "work", env.env())
        return built[key]

    return build


def push(url: str, token: str | None, gem: Path | bytes) -> httpx.Response:
    body = gem if isinstance(gem, bytes) else gem.read_bytes()
    headers = {"Content-Type": "application/octet-stream"}
    if token is not None:
        headers["Authorization"] = token
    return httpx.post(f"{url}/rubygems/api/v1/gems", content=body, headers=headers, timeout=60)


def yank(url: str, token: str, name: str, version: str, platform: str | None = None, *, undo: bool = False) -> httpx.Response:
    form = {"gem_name": name, "version": version}
    if platform:
        form["platform"] = platform
    return httpx.request("PUT" if undo else "DELETE", f"{url}/rubygems/api/v1/gems/{'unyank' if undo else 'yank'}",
                         data=form, headers={"Authorization": token}, timeout=60)


@pytest.fixture
def pusher(server) -> Iterator[Callable]:
    token = server.mint_token(*PUSH_SCOPES, user="rubyist")

    def _push(gem: Path | bytes) -> httpx.Response:
        return push(server.url, token, gem)

    _push.token = token  # type: ignore[attr-defined]
    yield _push
