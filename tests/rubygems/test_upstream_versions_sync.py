"""The `/versions` sync against a scripted upstream (every answer rubygems.org can give: 304, 206,
416 after its compaction, 200 when it ignores Range), in process on the configured backend."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest

from packyard import migrate
from packyard.config import Settings
from packyard.registry import Registry
from packyard.services import reserved_names

from packyard_rubygems.index import documents
from packyard_rubygems.upstream.versions_sync import VersionsSync
from tests.support.backends import new_backend

HEADER = b"created_at: 2024-04-01T00:00:05Z\n---\n"


class ScriptedUpstream:
    """rubygems.org's `/versions` semantics over a body the test sets: ETag = quoted MD5,
    If-None-Match -> 304, Range -> 206 (416 past the end); `ignore_range` answers 200 instead."""

    def __init__(self, body: bytes):
        self.body = body
        self.ignore_range = False
        self.requests: list[dict[str, str]] = []

    def describe(self) -> str:
        return "https://upstream.invalid/"

    async def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = dict(headers or {})
        self.requests.append(headers)
        etag = f'"{hashlib.md5(self.body).hexdigest()}"'
        if headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        if "Range" in headers and not self.ignore_range:
            start = int(headers["Range"].removeprefix("bytes=").rstrip("-"))
            if start >= len(self.body):
                return httpx.Response(416)
            return httpx.Response(206, content=self.body[start:], headers={"etag": etag})
        return httpx.Response(200, content=self.body, headers={"etag": etag})


@pytest.fixture
def registry(tmp_path):
    backend = new_backend()
    settings = Settings(data_dir=tmp_path, database_url=backend.database_url, redis_url=backend.redis_url,
                        storage_url=backend.storage_url, upstreams={"rubygems": "https://upstream.invalid/"})
    migrate.upgrade(settings.resolved_database_url)
    reg = Registry(settings)
    yield reg
    reg.close()
    backend.drop()


def served(registry: Registry) -> bytes:
    doc = registry.documents.get("rubygems", documents.VERSIONS)
    return b"" if doc is None else doc.body


def sync(registry: Registry, upstream: ScriptedUpstream) -> None:
    asyncio.run(VersionsSync(registry, upstream, "https://upstream.invalid/versions", 0).refresh())  # type: ignore[arg-type]


def test_appends_only_the_new_tail_and_skips_reserved_names(registry) -> None:
    reserved_names.reserve(registry, "rubygems", "Taken")
    upstream = ScriptedUpstream(HEADER + b"rack 1.0.0 aaaa\ntaken 1.0.0 tttt\n")
    sync(registry, upstream)
    first = served(registry)
    assert first.endswith(b"---\nrack 1.0.0 aaaa\n") and b"taken" not in first

    sync(registry, upstream)  # nothing new: a 304, the body is untouched
    assert upstream.requests[-1]["If-None-Match"] and served(registry) == first

    overlap = len(upstream.body) - len(b"taken 1.0.0 tttt\n")  # the last line read, asked again
    upstream.body += b"rack 1.1.0 bbbb\ntaken 2.0.0 tttt\nrails 7.1.0 cccc\n"
    sync(registry, upstream)
    assert upstream.requests[-1]["Range"] == f"bytes={overlap}-"
    assert served(registry) == first + b"rack 1.1.0 bbbb\nrails 7.1.0 cccc\n"  # append-only


def test_upstream_ignoring_range_still_costs_only_the_new_lines(registry) -> None:
    upstream = ScriptedUpstream(HEADER + b"rack 1.0.0 aaaa\n")
    sync(registry, upstream)
    first = served(registry)
    upstream.ignore_range = True
    upstream.body += b"rack 1.1.0 bbbb\n"
    sync(registry, upstream)
    assert served(registry) == first + b"rack 1.1.0 bbbb\n"
    assert len(upstream.requests) == 2


def test_upstream_compaction_is_read_whole_and_compacts_ours(registry) -> None:
    upstream = ScriptedUpstream(HEADER + b"rack 1.0.0,1.1.0 aaaa\nrack -1.0.0 bbbb\ngone 1.0.0 gggg\ngone -1.0.0 hhhh\n")
    sync(registry, upstream)
    before = served(registry)
    upstream.body = b"created_at: 2024-05-01T00:00:00Z\n---\nrack 1.1.0 bbbb\n"  # shorter: the Range is past its end
    sync(registry, upstream)
    assert [("Range" in r) for r in upstream.requests] == [False, True, False]  # full, 416, full again
    after = served(registry)
    assert not after.startswith(before)  # rewritten: bundler's ETag check makes it fetch the body whole
    assert after.partition(b"---\n")[2] == b"rack 1.1.0 bbbb\n"
