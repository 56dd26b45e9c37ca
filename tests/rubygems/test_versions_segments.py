"""`/versions` stored as a base plus one appended segment per change (docs/architecture.md,
"Append-only documents"), and the specs files and `/names` rendered in the background.

After many pushes, yanks and unyanks the served body is the base followed by one line per change
(each with the MD5 of the gem's `/info` right after it); its ETag is the MD5 of the whole body; a
Range from an earlier length is exactly the new tail; the rows, the nginx file and a restarted
process agree. A process that dies between its commit and its copies (or before its background
render) leaves nothing inconsistent once a server starts again.
"""

from __future__ import annotations

import gzip
import hashlib

import httpx

from packyard.documents import rows
from packyard.documents.store import stale_key
from tests.faults.faultkit import gem_push
from tests.rubygems.conftest import PUSH_SCOPES, yank
from tests.rubygems.gemtools import craft_gem
from tests.support.backends import new_backend
from tests.support.server import RunningServer, start_server


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _line(server: RunningServer, name: str, entry: str) -> bytes:
    info = httpx.get(f"{server.url}/rubygems/info/{name}")
    assert info.status_code == 200, info.text
    return f"{name} {entry} {_md5(info.content)}\n".encode()


def _stored(server: RunningServer, key: str):
    with server.registry().db.read() as session:
        return rows.read(session, "rubygems", key)


def _assert_served_body_is_whole(server: RunningServer, body: bytes) -> None:
    response = httpx.get(server.url + "/rubygems/versions")
    assert response.content == body
    assert response.headers["etag"] == f'"{_md5(body)}"'
    stored = _stored(server, "versions")
    assert stored is not None and stored.body == body and stored.etag == response.headers["etag"]
    public = server.data_dir / "public" / "rubygems" / "versions"
    if public.exists():  # the file a static front serves, grown in place
        assert public.read_bytes() == body
        sidecar = (server.data_dir / "public-etags" / "rubygems" / "versions.etag").read_text()
        assert sidecar.split("\n")[0] == response.headers["etag"]


def test_versions_after_many_pushes_and_yanks_is_the_base_plus_one_line_per_change(tmp_path):
    server = start_server(tmp_path / "server", workers=2, backend=new_backend())
    try:
        token = server.mint_token(*PUSH_SCOPES)
        expected: list[bytes] = []
        served_after: list[bytes] = []

        def push(name: str, version: str) -> None:
            assert gem_push(server.url, token, craft_gem(name, version)).status_code == 200
            expected.append(_line(server, name, version))
            served_after.append(httpx.get(server.url + "/rubygems/versions").content)

        def change(name: str, version: str, *, undo: bool = False) -> None:
            assert yank(server.url, token, name, version, undo=undo).status_code == 200
            expected.append(_line(server, name, version if undo else f"-{version}"))
            served_after.append(httpx.get(server.url + "/rubygems/versions").content)

        for i in range(12):
            push(f"seg-{i % 4}", f"1.{i}.0")
        change("seg-1", "1.1.0")
        change("seg-2", "1.2.0")
        push("seg-new", "0.1.0")
        change("seg-1", "1.1.0", undo=True)
        change("seg-new", "0.1.0")  # its only version: it leaves /names
        push("seg-3", "2.0.0.pre1")

        body = served_after[-1]
        header, sep, lines = body.partition(b"---\n")
        assert header.startswith(b"created_at: ") and sep
        assert lines == b"".join(expected)
        _assert_served_body_is_whole(server, body)
        for earlier in served_after[:-1]:  # each body once served only grew: bundler's Range append
            assert body.startswith(earlier)
        tail = httpx.get(server.url + "/rubygems/versions", headers={"Range": f"bytes={len(served_after[5])}-"})
        assert tail.status_code == 206 and tail.content == body[len(served_after[5]):]

        names = httpx.get(server.url + "/rubygems/names").text.split("\n")
        assert [n for n in names[1:] if n] == ["seg-0", "seg-1", "seg-2", "seg-3"]
        assert server.cli("check", check=False).returncode == 0

        server.stop()
        server = start_server(server.data_dir, backend=server.backend)  # a fresh process: copies and rows agree
        _assert_served_body_is_whole(server, body)

        server.cli("rubygems", "rebuild-index")
        compacted = httpx.get(server.url + "/rubygems/versions").content
        assert compacted.count(b"\n") == 2 + 4  # header, ---, one line per gem with an indexed version
        push("seg-0", "9.0.0")  # an append to the new base
        assert served_after[-1] == compacted + expected[-1]
        _assert_served_body_is_whole(server, served_after[-1])
        assert server.cli("check", check=False).returncode == 0
    finally:
        server.stop()
        server.backend.drop()


def test_a_process_dying_after_its_commit_leaves_versions_and_listings_consistent(tmp_path):
    """The copies of an append and the background render of the listings happen after the commit:
    a process that dies right then (simulated: its write-through and background renders never
    run) leaves rows that a restarted server serves whole, and the next append builds on them."""
    from starlette.testclient import TestClient

    from packyard.app import create_app

    server = start_server(tmp_path / "server", backend=new_backend())
    try:
        token = server.mint_token(*PUSH_SCOPES)
        assert gem_push(server.url, token, craft_gem("before-crash", "1.0.0")).status_code == 200
        served = httpx.get(server.url + "/rubygems/versions").content
        server.stop()

        registry = server.registry()
        registry.documents.write_through = lambda pending: None  # the process dies after the commit
        registry.documents.background.submit = lambda items: None
        with TestClient(create_app(registry=registry), base_url="http://127.0.0.1") as client:
            response = client.post("/rubygems/api/v1/gems", content=craft_gem("during-crash", "1.0.0"),
                                   headers={"Authorization": token, "Content-Type": "application/octet-stream"})
            assert response.status_code == 200, response.text
        marker = _stored(server, stale_key("specs.4.8.gz"))
        assert marker is not None and marker.serial > _stored(server, "specs.4.8.gz").serial  # left for a reader

        server = start_server(server.data_dir, backend=server.backend)
        body = httpx.get(server.url + "/rubygems/versions").content
        assert body.startswith(served) and body[len(served):] == _line(server, "during-crash", "1.0.0")
        _assert_served_body_is_whole(server, body)
        specs = httpx.get(server.url + "/rubygems/specs.4.8.gz")
        assert specs.status_code == 200 and b"during-crash" in gzip.decompress(specs.content)
        assert "during-crash" in httpx.get(server.url + "/rubygems/names").text
        assert server.cli("check", check=False).returncode == 0

        assert gem_push(server.url, token, craft_gem("after-crash", "1.0.0")).status_code == 200
        after = httpx.get(server.url + "/rubygems/versions").content
        assert after == body + _line(server, "after-crash", "1.0.0")
        _assert_served_body_is_whole(server, after)
    finally:
        server.stop()
        server.backend.drop()
