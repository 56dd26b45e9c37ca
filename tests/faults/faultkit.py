"""Shared pieces of the dependency-fault tests: servers whose PostgreSQL or Redis sits behind a
TcpProxy the test can cut, and the clients' view of an answer."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.rubygems.gemtools import ruby_available
from tests.support.backends import Backend
from tests.support.server import RunningServer, start_server
from tests.support.tcp_proxy import TcpProxy

SCOPES = ("pypi:package:*:write", "rubygems:gem:*:write", "rubygems:gem:*:yank")
# short waits so an outage answers fast in tests (the default is 10 s)
FAST_FAILING = {"PACKYARD_DATABASE_WAIT_SECONDS": "2"}


def behind_proxy(backend: Backend, *, database: TcpProxy | None = None, redis: TcpProxy | None = None) -> Backend:
    """The same backend, reached through the given proxies."""
    database_url, redis_url = backend.database_url, backend.redis_url
    if database is not None:
        database_url = make_url(database_url).set(host="127.0.0.1", port=database.port).render_as_string(hide_password=False)
    if redis is not None:
        redis_url = f"redis://127.0.0.1:{redis.port}/{_redis_db(redis_url)}"
    proxied = Backend(database_url, redis_url)
    proxied._dbname = backend._dbname  # dropped with the original
    return proxied


def proxy_for(url: str) -> TcpProxy:
    """A proxy in front of the host and port of a database or Redis URL."""
    parsed = urlparse(url)
    return TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or {"redis": 6379}.get(parsed.scheme, 5432))


@contextmanager
def server_behind_proxy(directory: Path, backend: Backend, cut: str, **server_options) -> Iterator[tuple[RunningServer, TcpProxy]]:
    """A server whose database or Redis (`cut`) sits behind a proxy the test can close."""
    proxy = proxy_for(backend.database_url if cut == "database" else backend.redis_url)
    server = start_server(directory, backend=behind_proxy(backend, **{cut: proxy}), **server_options)
    try:
        yield server, proxy
    finally:
        proxy.open()  # so the server and the in-process registry shut down cleanly
        server.stop()
        proxy.stop()


def _redis_db(url: str | None) -> str:
    return urlparse(url or "").path.strip("/") or "0"


def require_ruby() -> None:
    if ruby_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("ruby and gem are required in CI (apt-get install ruby ruby-bundler ruby-rspec)")
    pytest.skip("ruby and gem are not installed")


def gem_push(url: str, token: str, gem: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/rubygems/api/v1/gems", content=gem,
        headers={"Authorization": token, "Content-Type": "application/octet-stream"}, timeout=30,
    )


def gem_file(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (needs root, as here and in CI), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"mounting a tmpfs failed (the disk-full tests need root): {mounted.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; remove it to free the space again."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler
