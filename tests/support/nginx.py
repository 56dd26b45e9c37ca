"""Start a real nginx (Debian's package, with lua-nginx-module) in front of a real `packyard serve`,
configured from the templates shipped in deploy/nginx/, on a free port, with its own prefix, pid
and log files in a temp dir — never the system nginx."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import RunningServer, reserve_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
MODULES = Path("/usr/lib/nginx/modules")
LUA_MODULES = (MODULES / "ndk_http_module.so", MODULES / "ngx_http_lua_module.so")  # NDK first: Lua needs it

# Who answered: "-" in $upstream_addr means nginx served the file itself.
_LOG_FORMAT = 'log_format packyard_front "$request_method $request_uri $status upstream=$upstream_addr";'

_MAIN_CONF = """\
{load_modules}
{user}
daemon off;
pcre_jit on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log notice;
events {{ worker_connections 1024; }}
http {{
    {log_format}
    access_log {access_log};
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
{http}
}}
"""

_FRONT = """\
    include packyard-http.conf;
    server {{
        listen 127.0.0.1:{port};
        include packyard-locations.conf;
    }}
"""


def _worker_user() -> str:
    """Workers run as the test's own user: the test data dirs (pytest's tmp dirs) are private to it."""
    if os.geteuid() != 0:
        return ""  # an unprivileged master cannot switch users; its workers are already this user
    return "user root root;"


def render(template: Path, data_dir: Path, app_address: str) -> str:
    """What an operator gets from `envsubst '${PACKYARD_DATA_DIR} ${PACKYARD_APP}' < template`."""
    text = template.read_text()
    return text.replace("${PACKYARD_DATA_DIR}", str(data_dir)).replace("${PACKYARD_APP}", app_address)


def require_nginx() -> str:
    """The nginx binary; in CI a missing nginx or Lua module fails the test instead of skipping it."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary and all(module.exists() for module in LUA_MODULES):
        return binary
    message = "nginx and its Lua module are required (apt-get install nginx libnginx-mod-http-lua)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class RunningNginx:
    url: str
    port: int
    prefix: Path
    process: subprocess.Popen

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    def log_lines(self) -> list[str]:
        """The access log once it has settled: nginx writes a request's line just after sending the
        response, so a client can see the answer before the line is there."""
        deadline = time.monotonic() + 3
        size = -1
        while time.monotonic() < deadline:
            current = self.access_log.stat().st_size if self.access_log.exists() else 0
            if current == size:
                break
            size = current
            time.sleep(0.1)
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def answered_itself(self, method: str, uri: str) -> list[bool]:
        """For each logged request `method uri`: True if nginx served it from disk, False if proxied."""
        lines = [line for line in self.log_lines() if line.startswith(f"{method} {uri} ")]
        return [line.endswith("upstream=-") for line in lines]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_nginx(app: RunningServer, prefix: Path, *, workers: int = 1, access_log: bool = True) -> RunningNginx:
    """nginx on a free port serving `app.data_dir`/public and proxying the rest to `app`."""
    conf = prefix / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{app.port}"
    for name in ("packyard-http.conf", "packyard-locations.conf"):
        (conf / name).write_text(render(DEPLOY / f"{name}.template", app.data_dir, address))
    return launch_nginx(prefix, lambda port: _FRONT.format(port=port), workers=workers, access_log=access_log)


def launch_nginx(prefix: Path, http_block, *, workers: int = 1, access_log: bool = True) -> RunningNginx:
    """Start nginx with its own prefix, logs and temp dirs; `http_block(port)` is the inside of `http { }`."""
    binary = require_nginx()
    conf = prefix / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    (prefix / "temp").mkdir(exist_ok=True)
    reservation = reserve_port()
    port = reservation.getsockname()[1]
    (conf / "nginx.conf").write_text(_MAIN_CONF.format(
        load_modules="\n".join(f"load_module {module};" for module in LUA_MODULES), user=_worker_user(), workers=workers, prefix=prefix, log_format=_LOG_FORMAT,
        access_log=f"{prefix}/logs/access.log packyard_front" if access_log else "off", http=http_block(port),
    ))
    process = run_nginx(binary, conf / "nginx.conf", prefix, reservation, f"http://127.0.0.1:{port}/",
                        extra_args=("-e", str(prefix / "logs" / "error.log")))
    return RunningNginx(f"http://127.0.0.1:{port}", port, prefix, process)


def run_nginx(binary: str, conf: Path, prefix: Path, reservation: socket.socket, probe: str, *,
              extra_args: tuple[str, ...] = ()) -> subprocess.Popen:
    """Check `conf` with `nginx -t`, then start nginx on it, holding the port's reservation until nginx
    answers `probe`. Its stderr goes to `prefix`/stderr.log, quoted when it does not start."""
    args = [binary, "-p", str(prefix), "-c", str(conf), *extra_args]
    stderr_log = prefix / "stderr.log"
    with reservation:  # until nginx listens on the port
        checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration {conf}:\n{checked.stderr}")
        with stderr_log.open("ab") as stderr:
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}: {stderr_log.read_text(errors='replace')}")
            try:
                httpx.get(probe, timeout=2)
                return process
            except httpx.HTTPError:
                time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # its workers too (its own session)
        process.wait(timeout=15)
        raise RuntimeError(f"nginx did not start listening: {stderr_log.read_text(errors='replace')}")
