"""SIGTERM to `packyard serve --workers 2`: new connections are refused at once (a load balancer
moves on), the request in flight still completes, then the server exits 0."""

from __future__ import annotations

import signal
import socket
import time

import httpx

from tests.pypi.pypi_clients import SlowUpload
from tests.pypi.pypi_dists import build_wheel
from tests.support.server import start_server


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_refuses_new_connections_and_drains_the_request_in_flight(server_factory, tmp_path):
    server = server_factory(workers=2, extra_env={"PACKYARD_GRACEFUL_TIMEOUT": "120"})
    token = server.mint_token("pypi:package:*:write", user="drain")
    wheel = build_wheel(tmp_path, "drained", "1.0")
    slow = SlowUpload(server, token, "drained", wheel)
    time.sleep(0.5)  # the first half has reached a worker

    server.process.send_signal(signal.SIGTERM)  # the supervisor alone, as `docker stop` or systemd would
    deadline = time.monotonic() + 10
    while not _refused(server.port):
        assert time.monotonic() < deadline, "the stopping server still accepts connections"
        time.sleep(0.1)
    assert server.process.poll() is None, "the server exited with a request in flight"

    assert slow.finish().startswith(b"HTTP/1.1 200")
    assert server.process.wait(timeout=60) == 0

    restarted = start_server(server.data_dir, backend=server.backend)  # the same database and blobs
    try:
        listed = httpx.get(f"{restarted.url}/pypi/simple/drained/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        assert [f["filename"] for f in listed.json()["files"]] == [wheel.name]
        assert httpx.get(f"{restarted.url}/pypi/files/drained/{wheel.name}").content == wheel.read_bytes()
    finally:
        restarted.stop()
