"""Start real `packyard serve` processes for tests, on a free port, with an empty backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.backends import Backend, new_backend


def free_port() -> int:
    """A port free right now, for a configuration that is never served (see `reserve_port`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reserve_port() -> socket.socket:
    """A port no other process is handed until this socket is closed. .ci/run runs two test passes
    side by side: a port merely found free could be handed to both before either server bound it,
    and one pass's test would then talk to the other's server. The socket is bound with
    SO_REUSEADDR and never listens, so the server started on its port binds beside it (uvicorn,
    nginx and werkzeug set SO_REUSEADDR), while bind(0) anywhere else skips the port."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class RunningServer:
    url: str
    port: int
    data_dir: Path
    env: dict[str, str]
    backend: Backend
    process: subprocess.Popen
    log_path: Path
    _registry: object | None = field(default=None, repr=False)
    _reservation: socket.socket | None = field(default=None, repr=False)  # held until the server listens

    def release_port(self) -> None:
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    def cli(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Run the `packyard` CLI against this server's data."""
        return subprocess.run(
            [sys.executable, "-m", "packyard", *args], env=self.env, capture_output=True, text=True, check=check, input=input, timeout=120
        )

    def registry(self):
        """An in-process Registry on the same database and storage (fast set-up, e.g. minting tokens)."""
        if self._registry is None:
            from packyard.config import Settings
            from packyard.registry import Registry

            settings = Settings(
                data_dir=self.data_dir,
                database_url=self.backend.database_url,
                redis_url=self.backend.redis_url,
                storage_url=self.backend.storage_url,
                test_hooks=self.env.get("PACKYARD_TEST_HOOKS") == "true",
            )
            self._registry = Registry(settings)
        return self._registry

    def mint_token(self, *scopes: str, user: str = "alice", name: str = "test") -> str:
        from packyard.services.tokens import mint_for_user_name

        return mint_for_user_name(self.registry(), user, name, list(scopes)).secret

    def stored_blobs(self) -> list[str]:
        """Every blob in this server's storage (file paths or object keys, relative to the blob root)."""
        store = self.backend.object_store
        if store is not None:
            return [key.removeprefix("blobs/") for key in store.keys("blobs/")]
        root = self.data_dir / "blobs"
        return sorted(
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts
        )

    def staging_dir(self) -> Path:
        """Where uploads in flight are staged as `*.part` files."""
        if self.backend.object_store is not None:
            return self.data_dir / "incoming"
        return self.data_dir / "blobs" / ".incoming"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.release_port()
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        if self._registry is not None:
            self._registry.close()
            self._registry = None


def launch_server(
    data_dir: Path,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    backend: Backend | None = None,
    access_log: bool = True,
    port: int | None = None,
    log_path: Path | None = None,
    command_prefix: list[str] | None = None,
) -> RunningServer:
    """Start `packyard serve` without waiting for it (see `wait_ready`): several can start at once.
    `command_prefix` runs it under another program (bench/metrics_instructions.py: valgrind)."""
    backend = backend or new_backend()
    reservation = None
    if port is None:
        reservation = reserve_port()
        port = reservation.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACKYARD_")}
    env.update(backend.env())
    env["PACKYARD_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_path or data_dir / "server.log"
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [*(command_prefix or ()), sys.executable, "-m", "packyard", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--access-log" if access_log else "--no-access-log"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    return RunningServer(f"http://127.0.0.1:{port}", port, data_dir, env, backend, process, log_path, _reservation=reservation)


def wait_ready(server: RunningServer, timeout: float = 60) -> RunningServer:
    """Wait for /readyz; raise with the server's log when it exits or never gets ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.release_port()
            raise RuntimeError(f"packyard serve exited with {server.process.returncode}:\n{server.log()[-4000:]}")
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                server.release_port()
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"packyard serve did not become ready:\n{server.log()[-4000:]}")


def start_server(data_dir: Path, **kwargs) -> RunningServer:
    """Start `packyard serve` (arguments as `launch_server`) and wait until it is ready."""
    return wait_ready(launch_server(data_dir, **kwargs))
