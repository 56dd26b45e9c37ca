"""A private nginx (Debian's binary, our own prefix, config, pid and logs in a temp dir) load-balancing
packyard replicas on 127.0.0.1, with the same proxy settings as deploy/loadbalancer/nginx.conf."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.nginx import run_nginx
from tests.support.server import reserve_port

REPO = Path(__file__).resolve().parents[2]
PROXY_SETTINGS = REPO / "deploy" / "loadbalancer" / "proxy.conf"

# One line per request: which replica(s) answered it ($upstream_addr lists every one tried).
LOG_FORMAT = "'$request_method $request_uri $status upstream=$upstream_addr upstream_status=$upstream_status'"


def nginx_binary() -> str:
    """Debian's nginx; in CI its absence fails the test, never skips it."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("nginx is required in CI (.ci/run installs Debian's nginx)")
    pytest.skip("nginx is not installed")


@dataclass
class Nginx:
    url: str
    port: int
    prefix: Path
    process: subprocess.Popen

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def config(port: int, upstreams: list[int], prefix: Path) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
daemon off;
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    log_format replicas {LOG_FORMAT};
    access_log {prefix / 'access.log'} replicas;
{temp}
    upstream packyard {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://packyard;
            include {PROXY_SETTINGS};
        }}
    }}
}}
"""


def start_nginx(prefix: Path, upstreams: list[int]) -> Nginx:
    binary = nginx_binary()
    prefix.mkdir(parents=True, exist_ok=True)
    reservation = reserve_port()
    port = reservation.getsockname()[1]
    conf = prefix / "nginx.conf"
    conf.write_text(config(port, upstreams, prefix))
    process = run_nginx(binary, conf, prefix, reservation, f"http://127.0.0.1:{port}/livez")
    return Nginx(f"http://127.0.0.1:{port}", port, prefix, process)
