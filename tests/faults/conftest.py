"""Fixtures shared by the fault tests."""

from __future__ import annotations

import dataclasses

import pytest

from tests.faults.faultkit import server_behind_proxy
from tests.support.backends import TEST_REDIS_URL, new_backend

# Redis is always there to put a proxy in front of, on both passes.
REDIS_URL = TEST_REDIS_URL or "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cut(tmp_path):
    """A server (2 workers) whose Redis sits behind a proxy the test can close."""
    backend = dataclasses.replace(new_backend(), redis_url=REDIS_URL)
    try:
        with server_behind_proxy(tmp_path / "server", backend, "redis", workers=2) as cut:
            yield cut
    finally:
        backend.drop()
