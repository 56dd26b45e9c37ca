"""Fixtures: real server processes on the backend the run was configured for."""

from __future__ import annotations

import compileall
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx._transports.default
import pytest

from tests.support.backends import Backend, new_postgres_backend, new_production_backend, production_services_reachable
from tests.support.browser import WatchedContext, chromium, watched_context
from tests.support.server import RunningServer, start_server


def pytest_configure(config: pytest.Config) -> None:
    _compile_packyard()
    _share_ssl_contexts()


def _compile_packyard() -> None:
    """Compile packyard's own modules once. Where PYTHONDONTWRITEBYTECODE is set (as in CI) no
    process writes them, so every server, worker and CLI run the tests start would compile all of
    them again (~0.2-0.3 s of CPU each, and a run starts several hundred). Python still reads
    bytecode that exists, and checks it against the source's mtime."""
    root = Path(__file__).resolve().parent.parent
    for package in ("src", "protocols", "migrations"):
        compileall.compile_dir(root / package, quiet=1)


def _share_ssl_contexts() -> None:
    """Every `httpx.get()` builds a client whose transport loads the CA bundle into a new SSL
    context (~45 ms of CPU with this machine's SSL_CERT_FILE). The tests make thousands of such
    calls, all plain HTTP to 127.0.0.1, and they were two thirds of the test process's CPU: one
    context per set of arguments serves them all."""
    transports = httpx._transports.default
    transports.create_ssl_context = functools.cache(transports.create_ssl_context)


def require_production_services() -> None:
    """PostgreSQL + Redis are needed whatever the pass; in CI their absence fails the test, never skips it."""
    reason = production_services_reachable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def production_backend() -> Iterator[Backend]:
    """A fresh PostgreSQL database, Redis and an S3 bucket (moto), on either pass."""
    require_production_services()
    backend = new_production_backend()
    yield backend
    backend.drop()


@pytest.fixture
def postgres_backend() -> Iterator[Backend]:
    """A fresh PostgreSQL database with this pass's Redis and storage, on either pass (tests of
    PostgreSQL itself: its outages, its lock timeouts)."""
    require_production_services()
    backend = new_postgres_backend()
    yield backend
    backend.drop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A fresh server for the test module (empty database, blobs and cache)."""
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()
    running.backend.drop()


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start servers with custom settings: `server_factory(workers=2, extra_env={...})`."""
    started: list[RunningServer] = []

    def _start(**kwargs) -> RunningServer:
        running = start_server(tmp_path_factory.mktemp("server"), **kwargs)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()
        running.backend.drop()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[tuple]:
    """Debian's headless Chromium limited to 127.0.0.1, with its refusing proxy (tests/support/browser.py)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def offline_browser(chromium_browser) -> Iterator[WatchedContext]:
    """A fresh browser context; the test fails if any page in it reached beyond 127.0.0.1, had a
    local request fail, or threw a script error. Use it for every HTML page packyard serves."""
    with watched_context(*chromium_browser) as watched:
        yield watched
        watched.settle()
        problems = watched.problems()
    if problems:
        pytest.fail("pages must work without internet access and without errors:\n" + "\n".join(problems))
