"""Shared bench helpers: a real server, bulk population, and wrk runs."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pypi.pypi_dists import build_wheel  # noqa: E402
from tests.support.server import RunningServer, start_server  # noqa: E402

_GEM_BUILDER = r"""
require "rubygems/package"
dir, count = ARGV[0], ARGV[1].to_i
Dir.chdir(dir) do
  count.times do |i|
    spec = Gem::Specification.new do |s|
      s.name = "bench#{i}"
      s.version = "1.0.0"
      s.summary = "bench gem #{i}"
      s.authors = ["bench"]
      s.files = []
      s.add_runtime_dependency "bench#{i + 1}", ">= 0" if i.odd?
    end
    Gem::DefaultUserInteraction.use_ui(Gem::SilentUI.new) { Gem::Package.build(spec) }
  end
end
"""


def start(workdir: Path, **kwargs) -> RunningServer:
    return start_server(workdir / "server", access_log=False, **kwargs)


def populate_pypi(server: RunningServer, count: int, workdir: Path) -> None:
    token = server.mint_token("pypi:package:*:write", user="bench")
    wheels = workdir / "wheels"
    wheels.mkdir(exist_ok=True)

    def upload(i: int) -> None:
        wheel = build_wheel(wheels, f"bench-p-{i}", "1.0")
        data = wheel.read_bytes()
        response = httpx.post(
            server.url + "/pypi/legacy/",
            auth=("__token__", token),
            data={":action": "file_upload", "protocol_version": "1", "name": f"bench-p-{i}", "version": "1.0",
                  "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
                  "sha256_digest": hashlib.sha256(data).hexdigest()},
            files={"content": (wheel.name, data, "application/octet-stream")},
            timeout=60,
        )
        response.raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, range(count)))


def populate_rubygems(server: RunningServer, count: int, workdir: Path) -> None:
    token = server.mint_token("rubygems:gem:*:write", user="bench")
    gems = workdir / "gems"
    gems.mkdir(exist_ok=True)
    subprocess.run(["ruby", "-e", _GEM_BUILDER, str(gems), str(count)], check=True, capture_output=True)

    def push(path: Path) -> None:
        response = httpx.post(server.url + "/rubygems/api/v1/gems", headers={"Authorization": token},
                              content=path.read_bytes(), timeout=60)
        response.raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(push, sorted(gems.glob("*.gem"))))


def wrk(url: str, headers: dict[str, str] | None = None, seconds: int = 5, connections: int = 32) -> dict[str, float]:
    """Requests per second and latency percentiles measured by wrk (2 threads)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the benchmarks: apt-get install -y wrk")
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M)}
    return {"rps": rps, "p50_ms": latency.get("50", 0.0), "p99_ms": latency.get("99", 0.0),
            "errors": float(non2xx.group(1)) if non2xx else 0.0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="packyard-bench-"))
