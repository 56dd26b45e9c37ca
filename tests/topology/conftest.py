"""The scale-out topology from real parts: 2 `packyard serve` replicas (2 workers each, own data
dirs) on one PostgreSQL database, one Redis and one S3 bucket (moto), behind a private nginx."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_production_services
from tests.support.backends import Backend, new_production_backend
from tests.support.loadbalancer import Nginx, nginx_binary, start_nginx
from tests.support.server import RunningServer, launch_server, wait_ready

WORKERS = 2


@dataclass
class Topology:
    nginx: Nginx
    replicas: list[RunningServer]
    backend: Backend
    root: Path

    @property
    def url(self) -> str:
        return self.nginx.url

    def restart(self, index: int) -> RunningServer:
        """Start replica `index` again on its port and data dir, after it stopped or was killed."""
        old = self.replicas[index]
        old.stop(signal.SIGKILL)
        new = wait_ready(launch_replica(self.root, index, self.backend, port=old.port))
        self.replicas[index] = new
        self.wait_routed(new)
        return new

    def wait_routed(self, replica: RunningServer, timeout: float = 30) -> None:
        """Until nginx sends requests to `replica` again: a replica that failed stays out of the
        rotation for `fail_timeout` (5 s) even when it is back sooner, and a test that then stops
        the other one would meet "no live upstreams" — a property of the test's pace, not of packyard."""
        address = f"127.0.0.1:{replica.port}"
        deadline = time.monotonic() + timeout
        start = len(self.nginx.log_lines())
        while address not in self.upstreams_since(start):
            assert time.monotonic() < deadline, f"nginx never sent a request to the restarted replica {address}"
            httpx.get(self.url + "/healthz", timeout=10)
            time.sleep(0.1)

    def upstreams_since(self, line: int) -> set[str]:
        """Every replica address nginx sent a request to, in its access log from `line` on."""
        found = set()
        for entry in self.nginx.log_lines()[line:]:
            addresses = entry.split("upstream=", 1)[1].split(" upstream_status=", 1)[0]
            found.update(a.strip() for a in addresses.replace(" : ", ",").split(",") if a.strip() not in ("", "-"))
        return found


def launch_replica(root: Path, index: int, backend: Backend, port: int | None = None) -> RunningServer:
    """Logs live beside the data dir, so the data dir holds only what packyard itself writes. The
    graceful timeout is long, so a busy machine never cuts off the upload a test keeps in flight."""
    return launch_server(root / f"replica-{index}-data", workers=WORKERS, backend=backend, port=port,
                         log_path=root / f"replica-{index}.log", extra_env={"PACKYARD_GRACEFUL_TIMEOUT": "120"})


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    require_production_services()
    nginx_binary()
    root = tmp_path_factory.mktemp("topology")
    backend = new_production_backend()
    replicas: list[RunningServer] = []
    nginx = None
    try:
        # Both at the same moment, on an empty database: one migrates under the lock, both come up.
        replicas = [launch_replica(root, i, backend) for i in range(2)]
        for replica in replicas:
            wait_ready(replica)
        nginx = start_nginx(root / "nginx", [r.port for r in replicas])
        yield Topology(nginx, replicas, backend, root)
    finally:
        if nginx is not None:
            nginx.stop()
        for replica in replicas:
            replica.stop()
        backend.drop()
