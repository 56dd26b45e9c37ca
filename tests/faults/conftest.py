"""Fixtures shared by the fault tests."""

from __future__ import annotations

import dataclasses

import pytest

from tests.faults.faultkit import behind_proxy, proxy_for
from tests.support.backends import TEST_REDIS_URL, new_backend
from tests.support.server import start_server

# Redis is always there to put a proxy in front of, on both passes.
REDIS_URL = TEST_REDIS_URL or "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cut(tmp_path):
    """A server (2 workers) whose Redis sits behind a proxy the test can close."""
    backend = dataclasses.replace(new_backend(), redis_url=REDIS_URL)
    proxy = proxy_for(REDIS_URL)
    server = start_server(tmp_path / "server", backend=behind_proxy(backend, redis=proxy), workers=2)
    try:
        yield server, proxy
    finally:
        proxy.open()
        server.stop()
        proxy.stop()
        backend.drop()
