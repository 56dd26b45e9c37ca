"""kill -9 during an upload: no partial blob becomes visible and no row points at a missing blob."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time

import httpx
from sqlmodel import select

from packyard.models import Artifact, Blob
from tests.pypi.pypi_dists import build_wheel
from tests.support.server import start_server

BOUNDARY = "crashtestboundary"


def _form(fields: dict[str, str], filename: str) -> tuple[bytes, bytes]:
    """The multipart body up to the file bytes, and its closing tail."""
    head = b""
    for key, value in fields.items():
        head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def test_kill_9_mid_upload_leaves_no_partial_blob(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        token = server.mint_token("pypi:package:*:write")
        wheel = build_wheel(tmp_path, "kept", "1.0")
        ok = httpx.post(
            server.url + "/pypi/legacy/",
            auth=("__token__", token),
            data={":action": "file_upload", "protocol_version": "1", "name": "kept", "version": "1.0",
                  "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
                  "sha256_digest": hashlib.sha256(wheel.read_bytes()).hexdigest()},
            files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
        )
        assert ok.status_code == 200, ok.text

        # A big upload, sent slowly; the server is killed while the blob is being written.
        fields = {":action": "file_upload", "protocol_version": "1", "name": "doomed", "version": "1.0",
                  "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
                  "sha256_digest": "0" * 64}
        head, tail = _form(fields, "doomed-1.0-py3-none-any.whl")
        total = len(head) + 64 * 1024 * 1024 + len(tail)
        sock = socket.create_connection(("127.0.0.1", server.port))
        auth = httpx.BasicAuth("__token__", token)._auth_header
        sock.sendall(
            (f"POST /pypi/legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
             f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {total}\r\n\r\n").encode() + head
        )
        incoming = server.staging_dir()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sock.sendall(b"x" * 256 * 1024)
            parts = list(incoming.glob("*.part"))
            if parts and parts[0].stat().st_size > 0:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the upload never reached blob storage")
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        sock.close()

        visible = server.stored_blobs()
        assert len(visible) == 1, visible  # only the completed upload's blob
        registry = server.registry()
        with registry.db.read() as session:
            artifacts = session.exec(select(Artifact)).all()
            assert [a.filename for a in artifacts] == [wheel.name]
            for artifact in artifacts:
                stored = registry.storage.open(artifact.blob_sha256).read()
                assert hashlib.sha256(stored).hexdigest() == artifact.sha256
            assert len(session.exec(select(Blob)).all()) == 1
        server.stop()

        # On restart the leftover temp file is swept, and the earlier package is intact.
        server = start_server(data_dir, backend=server.backend)
        assert list(incoming.glob("*.part")) == []
        download = httpx.get(server.url + f"/pypi/files/kept/{wheel.name}")
        assert download.status_code == 200 and download.content == wheel.read_bytes()
    finally:
        server.stop()
        server.backend.drop()
