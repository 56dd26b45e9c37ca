"""The scale-out topology through nginx: req/s of cached index reads and of uploads, with 1 and
with 2 replicas (each `--workers 2`) on PostgreSQL + Redis + S3 (moto's server); and, for what
one worker serves and what nginx costs, a 1-worker server and one replica answering directly.

    python bench/topology.py [--seconds 5] [--uploads 200] [--workers 2]

Needs PostgreSQL and Redis (PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL, default the
local ones at 127.0.0.1), nginx and wrk. Results and their reading: bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _harness import tempdir, wrk

from tests.pypi.pypi_dists import build_wheel
from tests.support.backends import new_production_backend
from tests.support.loadbalancer import start_nginx
from tests.support.server import launch_server, wait_ready

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def upload_bodies(workdir: Path, tag: str, count: int) -> list[tuple[dict, tuple]]:
    """Distinct small wheels, built before the clock starts."""
    out = workdir / f"wheels-{tag}"
    out.mkdir()
    bodies = []
    for i in range(count):
        name = f"bench-{tag}-{i}"
        data = build_wheel(out, name, "1.0").read_bytes()
        fields = {":action": "file_upload", "protocol_version": "1", "name": name, "version": "1.0",
                  "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
                  "sha256_digest": hashlib.sha256(data).hexdigest()}
        bodies.append((fields, (f"{name.replace('-', '_')}-1.0-py3-none-any.whl", data, "application/octet-stream")))
    return bodies


def upload_rate(url: str, token: str, bodies: list, concurrency: int = 8) -> float:
    """Uploads acknowledged per second, `concurrency` clients at a time."""
    local = threading.local()

    def one(body) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(auth=("__token__", token), timeout=120)
        fields, file = body
        response = local.client.post(url + "/pypi/legacy/", data=fields, files={"content": file})
        response.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, bodies))
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    workdir = tempdir()
    backend = new_production_backend()
    replicas = [launch_server(workdir / f"replica-{i}", workers=args.workers, backend=backend, access_log=False)
                for i in range(2)]
    single = launch_server(workdir / "single-worker", workers=1, backend=backend, access_log=False)
    proxies = []
    try:
        for replica in (*replicas, single):
            wait_ready(replica)
        token = replicas[0].mint_token("pypi:package:*:write", user="bench")
        upload_rate(replicas[0].url, token, upload_bodies(workdir, "warm", 20))
        page = "/pypi/simple/bench-warm-1/"
        results = []
        setups = [("1 worker, direct", None, single.url),
                  ("1 replica, direct (no nginx)", None, replicas[0].url),
                  ("1 replica behind nginx", [replicas[0]], None),
                  ("2 replicas behind nginx", replicas, None)]
        for label, behind, url in setups:
            if behind is not None:
                proxy = start_nginx(workdir / f"nginx-{len(proxies)}", [r.port for r in behind])
                proxies.append(proxy)
                url = proxy.url
            reads = wrk(url + page, {"Accept": PIP_ACCEPT}, args.seconds)
            rate = upload_rate(url, token, upload_bodies(workdir, f"u{len(results)}", args.uploads))
            results.append((label, reads, rate))
        print(f"{'setup':32}{'index req/s':>13}{'p99 ms':>9}{'uploads/s':>11}")
        for label, reads, rate in results:
            flag = "!" if reads["errors"] else ""
            print(f"{label:32}{reads['rps']:>12.0f}{flag:1}{reads['p99_ms']:>9.1f}{rate:>11.1f}")
        one, two = results[2], results[3]
        print(f"2 replicas / 1 replica behind nginx: index reads x{two[1]['rps'] / one[1]['rps']:.2f}, "
              f"uploads x{two[2] / one[2]:.2f}")
    finally:
        for proxy in proxies:
            proxy.stop()
        for replica in (*replicas, single):
            replica.stop()
        backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
