"""Malformed pushes: each a 4xx with a message, and nothing stored (no row, no blob, no staged file)."""

from __future__ import annotations

import gzip

import httpx
import pytest
from sqlmodel import col, func, select

from packyard.documents.store import STALE_PREFIX
from packyard.models import Artifact, Blob, Document, Package
from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import SPEC_YAML, gem_bytes, gz, tar_bytes

def spec(name: str, summary: str = "x") -> str:
    return SPEC_YAML.format(name=name, version="1.0.0", summary=summary)


ALIAS_BOMB = """--- !ruby/object:Gem::Specification
name: bomb
version: !ruby/object:Gem::Version
  version: 1.0.0
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
summary: *f
"""


def data_tar_gz() -> bytes:
    return gz(tar_bytes({"lib/x.rb": b"# x\n"}))


def crafted_gem(spec_yaml: str) -> bytes:
    return gem_bytes(spec_yaml, {"lib/x.rb": b"# x\n"})


CASES = {
    "not a tar": b"this is not a gem at all\n" * 40,
    "empty body": b"",
    "tar without metadata.gz": tar_bytes({"data.tar.gz": data_tar_gz()}),
    "metadata.gz not gzip": tar_bytes({"metadata.gz": b"plain text", "data.tar.gz": data_tar_gz()}),
    "unknown ruby tag": crafted_gem(spec("evil", "!ruby/object:Kernel::Evil {cmd: id}")),
    "ruby hash tag": crafted_gem(spec("evilhash").replace("dependencies: []", "dependencies: !ruby/hash:ActiveSupport::X {}")),
    "alias bomb": crafted_gem(ALIAS_BOMB),
    "name with a slash": crafted_gem(spec("../../etc/passwd")),
    "name with dot dot": crafted_gem(spec("a..b")),
    "name with only a slash": crafted_gem(spec("a/b")),
    "not yaml": tar_bytes({"metadata.gz": gz(b"--- [unclosed"), "data.tar.gz": data_tar_gz()}),
}


def stored_state(server) -> tuple:
    """Rows and blobs. The listings earlier pushes left stale are rendered first (a read does it), so
    a background render finishing meanwhile changes nothing; stale markers are bookkeeping."""
    for listing in ("specs.4.8.gz", "latest_specs.4.8.gz", "prerelease_specs.4.8.gz", "names"):
        assert httpx.get(f"{server.url}/rubygems/{listing}", timeout=60).status_code == 200
    with server.registry().db.read() as session:
        counts = tuple(
            session.exec(select(func.count()).select_from(model)).one() for model in (Package, Artifact, Blob)
        ) + (session.exec(select(func.count()).select_from(Document).where(col(Document.key).not_like(STALE_PREFIX + "%"))).one(),)
    return counts, server.stored_blobs()


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_push_is_refused_and_nothing_is_stored(server, case) -> None:
    token = server.mint_token(*PUSH_SCOPES, user="mallory")
    before = stored_state(server)
    response = push(server.url, token, CASES[case])
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.status_code == 422
    assert response.text.startswith("packyard cannot process this gem."), response.text
    assert len(response.text.splitlines()) >= 3  # says what is wrong
    assert stored_state(server) == before


def test_oversized_push_is_413_and_nothing_is_stored(server_factory) -> None:
    small_server = server_factory(extra_env={"PACKYARD_MAX_UPLOAD_BYTES": "20000"})
    token = small_server.mint_token(*PUSH_SCOPES, user="mallory")
    before = stored_state(small_server)
    big = tar_bytes({"metadata.gz": gzip.compress(spec("big").encode()),
                     "data.tar.gz": b"\x1f\x8b" + bytes(40000)})
    response = push(small_server.url, token, big)
    assert response.status_code == 413 and "20000" in response.text

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(10):
            yield bytes(5000)

    streamed = httpx.post(f"{small_server.url}/rubygems/api/v1/gems", content=chunks(),
                          headers={"Authorization": token}, timeout=60)
    assert streamed.status_code == 413
    assert stored_state(small_server) == before


def test_unauthenticated_push_stores_nothing(server) -> None:
    before = stored_state(server)
    response = push(server.url, None, crafted_gem(spec("anon")))
    assert response.status_code == 401 and response.text.startswith("Access Denied")
    assert stored_state(server) == before
