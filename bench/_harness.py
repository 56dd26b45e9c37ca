"""Shared bench helpers: a real server, bulk population, and wrk runs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pypi.pypi_dists import build_wheel  # noqa: E402
from tests.support.nginx import RunningNginx, launch_nginx, start_nginx  # noqa: E402
from tests.support.server import RunningServer, free_port, launch_server, start_server, wait_ready  # noqa: E402

BENCH = Path(__file__).resolve().parent
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

_GEM_BUILDER = r"""
require "rubygems/package"
dir, count, prefix, first = ARGV[0], ARGV[1].to_i, ARGV[2], ARGV[3].to_i
Dir.chdir(dir) do
  (first...first + count).each do |i|
    spec = Gem::Specification.new do |s|
      s.name = "#{prefix}#{i}"
      s.version = "1.0.0"
      s.summary = "bench gem #{i}"
      s.authors = ["bench"]
      s.files = []
      s.add_runtime_dependency "#{prefix}#{i + 1}", ">= 0" if i.odd?
    end
    Gem::DefaultUserInteraction.use_ui(Gem::SilentUI.new) { Gem::Package.build(spec) }
  end
end
"""


def build_gems(directory: Path, count: int, prefix: str = "bench", first: int = 0) -> list[Path]:
    """`count` gems <prefix><first>... 1.0.0 (odd ones depend on the next), built by RubyGems itself."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ruby", "-e", _GEM_BUILDER, str(directory), str(count), prefix, str(first)], check=True,
                   capture_output=True)
    return [directory / f"{prefix}{i}-1.0.0.gem" for i in range(first, first + count)]


def start(workdir: Path, **kwargs) -> RunningServer:
    return start_server(workdir / "server", access_log=False, **kwargs)


def restart(server: RunningServer, workers: int = 2, extra_env: dict[str, str] | None = None) -> RunningServer:
    """Stop the server and start it again on the same data and backend (and `extra_env`): every worker
    starts cold. Returns once every worker has started, not at the first /readyz: a worker still
    starting (imports, its warm-up) takes a core from the one already serving for ~100 ms, which put
    the cold p99 of a 5 s run at 11-14 ms on PostgreSQL against 4.5-5.6 ms once both had started."""
    since = len(server.log())
    server.stop()
    # the start-up sync rewrites every document's copies (O(documents)): minutes at 10,000 projects on a loaded machine
    server = wait_ready(launch_server(server.data_dir, workers=workers, backend=server.backend, access_log=False,
                                      extra_env=extra_env), timeout=900)
    deadline = time.monotonic() + 60
    while server.log()[since:].count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every worker started:\n{server.log()[-4000:]}")
        time.sleep(0.02)
    return server


def in_process_client(server: RunningServer):
    """A client calling the app in this process (no sockets) on the server's database and storage."""
    import warnings

    from starlette.testclient import TestClient

    from packyard.app import create_app

    warnings.filterwarnings("ignore", message="You should not use the 'timeout' argument")
    return TestClient(create_app(registry=server.registry()), base_url="http://127.0.0.1")


def upload_wheel(url: str, token: str, wheel: Path, name: str, version: str, client=httpx) -> None:
    data = wheel.read_bytes()
    response = client.post(
        url + "/pypi/legacy/",
        auth=("__token__", token),
        data={":action": "file_upload", "protocol_version": "1", "name": name, "version": version,
              "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
              "sha256_digest": hashlib.sha256(data).hexdigest()},
        files={"content": (wheel.name, data, "application/octet-stream")},
        timeout=60,
    )
    response.raise_for_status()


def populate_pypi_in_process(server: RunningServer, count: int, workdir: Path, first: int = 0) -> None:
    """Projects bench-p-<first>... published in this process through the app's own upload handler
    (no sockets, no HTTP parsing by uvicorn) on the server's database and storage: fast enough for 10,000."""
    token = server.mint_token("pypi:package:*:write", user="bench")
    wheels = workdir / "wheels"
    wheels.mkdir(exist_ok=True)

    def upload(client, i: int) -> None:
        upload_wheel("http://127.0.0.1", token, build_wheel(wheels, f"bench-p-{i}", "1.0"), f"bench-p-{i}", "1.0",
                     client=client)

    # 4 at a time, as over HTTP: an upload mostly waits for fsyncs, and only its transaction is serialized
    with in_process_client(server) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: upload(client, i), range(first, first + count)))


def start_reference(public: Path, workers: int = 2, app: str = "app") -> tuple[subprocess.Popen, str]:
    """The bare FastAPI route (reference_app.py; `app="bare"`: a bare ASGI callable) serving the same
    bytes, under uvicorn like the app."""
    port = free_port()
    env = {**os.environ, "PACKYARD_BENCH_PUBLIC": str(public)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"reference_app:{app}", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=BENCH, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the reference app did not start")


def stop_process(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 15)
    process.wait(timeout=30)


def start_static_nginx(public: Path, prefix: Path, workers: int = 2) -> RunningNginx:
    """nginx serving the same files with a plain static configuration (the reference for the front);
    a `.gz` file beside one (the root listings' gzip variants) to clients that take gzip."""
    def http_block(port: int) -> str:
        return (f"    default_type application/octet-stream;\n"
                f"    server {{ listen 127.0.0.1:{port}; root {public}; gzip_static on; }}\n")

    return launch_nginx(prefix, http_block, workers=workers, access_log=False)


def start_front(server: RunningServer, prefix: Path, workers: int = 2) -> RunningNginx:
    return start_nginx(server, prefix, workers=workers, access_log=False)


def populate_pypi(server: RunningServer, count: int, workdir: Path, first: int = 0) -> None:
    """Projects bench-p-<first>... 1.0 (one wheel each), through the real upload endpoint over HTTP."""
    token = server.mint_token("pypi:package:*:write", user="bench")
    wheels = workdir / "wheels"
    wheels.mkdir(exist_ok=True)

    def upload(i: int) -> None:
        upload_wheel(server.url, token, build_wheel(wheels, f"bench-p-{i}", "1.0"), f"bench-p-{i}", "1.0")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, range(first, first + count)))


def push_gem(url: str, token: str, path: Path, client=httpx) -> None:
    response = client.post(url + "/rubygems/api/v1/gems", headers={"Authorization": token},
                           content=path.read_bytes(), timeout=60)
    response.raise_for_status()


def populate_rubygems(server: RunningServer, count: int, workdir: Path) -> None:
    token = server.mint_token("rubygems:gem:*:write", user="bench")
    gems = build_gems(workdir / "gems", count)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda path: push_gem(server.url, token, path), gems))


def wrk(url: str, headers: dict[str, str] | None = None, seconds: int = 5, connections: int = 32,
        script: Path | None = None, script_args: list[str] | None = None, threads: int = 2, cpu: int | None = None) -> dict[str, float]:
    """Requests per second and latency percentiles measured by wrk (`threads` threads; on core `cpu` alone if given)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the benchmarks: apt-get install -y wrk")
    args = ["taskset", "-c", str(cpu)] if cpu is not None else []
    args += ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M)}
    return {"rps": rps, "requests": requests, "p50_ms": latency.get("50", 0.0), "p99_ms": latency.get("99", 0.0),
            "errors": float(non2xx.group(1)) if non2xx else 0.0}


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    return sum(cpu_split(pid))


def server_cpu_split(server: RunningServer) -> tuple[float, float]:
    """User and system CPU time used so far by a server's supervisor and its live workers."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    splits = [cpu_split(p) for p in (pid, *map(int, children))]
    return sum(user for user, _ in splits), sum(system for _, system in splits)


def pin_server(server: RunningServer, core: int) -> None:
    """Every thread of a server's supervisor and workers to one core."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in (pid, *children):
        subprocess.run(["taskset", "-a", "-pc", str(core), str(process)], check=True, capture_output=True)


def server_cpu_seconds(server: RunningServer) -> float:
    """CPU time used so far by a server's supervisor and its live workers."""
    return sum(server_cpu_split(server))


def wrk_cycle(url: str, requests: list[str], seconds: int = 5, connections: int = 32) -> dict[str, float]:
    """wrk -t2 cycling over `requests` (lines of `path[\tHeader: value]...`, see cycle.lua)."""
    listing = Path(tempfile.mkstemp(prefix="packyard-bench-", suffix=".txt")[1])
    listing.write_text("\n".join(requests) + "\n")
    try:
        return wrk(url, seconds=seconds, connections=connections, script=BENCH / "cycle.lua", script_args=[str(listing)])
    finally:
        listing.unlink()


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def discard(server: RunningServer, workdir: Path) -> None:
    """Stop a bench server, drop its database (PostgreSQL) and remove its working directory."""
    server.stop()
    server.backend.drop()
    shutil.rmtree(workdir, ignore_errors=True)


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="packyard-bench-"))
