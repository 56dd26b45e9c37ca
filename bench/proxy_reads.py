"""The PyPI proxy's targets (issue #12): a warm proxied project page costs what a local one does;
a cached proxied file is served at the speed of a local file; the first download of a 200 MB
proxied file takes at most 1.2x a direct download from the upstream, with server RSS growth
below 64 MiB.

    python bench/proxy_reads.py [--megabytes 200] [--seconds 5]

Two real servers on 127.0.0.1 (2 workers each, no access log): an upstream packyard holding
`bench-up` (a small wheel) and `big-upload` (a wheel of --megabytes), and the proxy pointed at it
holding `bench-local` (a small wheel). Page and file reads are measured with wrk (-t2 -c32) right
after the proxy restarts (cold: each worker's first read of the proxied page loads the kept copy
from the database) and again (warm: the paths interleaved --rounds times, the best round of each),
beside the same read of the local project on the same server. The 200 MB file is downloaded
directly from the upstream twice (the faster counts; the first warms the upstream's page cache),
then once through the proxy (its first download: fetched, verified, kept) and once more (cached).
For scale, the same run times the file through nginx's proxy_pass and hashes it (`pass_through_floor`).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
from pathlib import Path

import httpx

from _harness import PIP_ACCEPT, launch_nginx, restart, start, tempdir, upload_wheel, wrk
from tests.pypi.pypi_dists import build_wheel
from upload_memory import big_wheel, peak_rss_kib


def timed_download(url: str) -> tuple[float, int]:
    """Seconds to stream the whole body (discarded), and its size."""
    size = 0
    started = time.perf_counter()
    with httpx.stream("GET", url, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(1024 * 1024):
            size += len(chunk)
    return time.perf_counter() - started, size


PATHS = {
    "page proxied": ("/pypi/simple/bench-up/", {"Accept": PIP_ACCEPT}),
    "page local": ("/pypi/simple/bench-local/", {"Accept": PIP_ACCEPT}),
    "file proxied": ("/pypi/files/bench-up/bench_up-1.0-py3-none-any.whl", None),
    "file local": ("/pypi/files/bench-local/bench_local-1.0-py3-none-any.whl", None),
}


def read_rates(proxy_url: str, seconds: int, rounds: int = 1) -> dict[str, dict[str, float]]:
    """wrk on each path, the paths interleaved `rounds` times; the best round of each path (the
    machine is shared: interleaving and best-of keep one path's bad moment from reading as its cost)."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for name, (path, headers) in PATHS.items():
            result = wrk(proxy_url + path, headers, seconds)
            if name not in best or result["rps"] > best[name]["rps"]:
                best[name] = {**result, "errors": result["errors"] + best.get(name, {}).get("errors", 0.0)}
    return best


def pass_through_floor(upstream, workdir: Path, path: str) -> dict[str, float]:
    """What a first download costs at least on this machine, beside the proxy's own: the same file
    through nginx's proxy_pass (C, buffered, no hash, nothing written; the best of three), and
    the sha256 the proxy must compute over the bytes before it may keep them."""
    def http_block(port: int) -> str:
        return (f"    server {{ listen 127.0.0.1:{port};\n"
                f"        location / {{ proxy_pass {upstream.url}; proxy_http_version 1.1; proxy_max_temp_file_size 0; }} }}\n")

    nginx = launch_nginx(workdir / "nginx-pass", http_block, workers=1, access_log=False)
    try:
        through_nginx = min(timed_download(nginx.url + path)[0] for _ in range(3))
    finally:
        nginx.stop()
    blob = httpx.get(upstream.url + path, timeout=600).content
    started = time.perf_counter()
    hashlib.sha256(blob).hexdigest()
    return {"nginx": through_nginx, "sha256": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds (paths interleaved; the best of each is reported)")
    args = parser.parse_args()
    workdir = tempdir()
    (workdir / "up").mkdir()
    (workdir / "proxy").mkdir()
    upstream = start(workdir / "up", workers=2)
    proxy = None
    try:
        token = upstream.mint_token("pypi:package:*:write", user="bench")
        upload_wheel(upstream.url, token, build_wheel(workdir, "bench-up", "1.0"), "bench-up", "1.0")
        upload_wheel(upstream.url, token, big_wheel(workdir, args.megabytes), "big-upload", "1.0")
        proxy_env = {"PACKYARD_PYPI_UPSTREAM": upstream.url + "/pypi/simple/"}
        proxy = start(workdir / "proxy", workers=2, extra_env=proxy_env)
        local = proxy.mint_token("pypi:package:*:write", user="bench")
        upload_wheel(proxy.url, local, build_wheel(workdir, "bench-local", "1.0"), "bench-local", "1.0")
        for path in ("/pypi/simple/bench-up/", "/pypi/simple/big-upload/", "/pypi/files/bench-up/bench_up-1.0-py3-none-any.whl"):
            httpx.get(proxy.url + path, headers={"Accept": PIP_ACCEPT}, timeout=60).raise_for_status()  # fetched and kept

        big = "/pypi/files/big-upload/big_upload-1.0-py3-none-any.whl"
        direct_seconds, size = timed_download(upstream.url + big)  # also warms the upstream's page cache
        direct_seconds = min(direct_seconds, timed_download(upstream.url + big)[0])
        floor = pass_through_floor(upstream, workdir, big)
        rss_before = peak_rss_kib(proxy.process.pid)
        first_seconds, proxied_size = timed_download(proxy.url + big)
        rss_after = peak_rss_kib(proxy.process.pid)
        assert proxied_size == size
        cached_seconds, _ = timed_download(proxy.url + big)

        proxy = restart(proxy, workers=2, extra_env=proxy_env)
        cold = read_rates(proxy.url, args.seconds)
        warm = read_rates(proxy.url, args.seconds, rounds=args.rounds)

        print(f"{'path':<14} {'cold req/s':>11} {'cold p99':>9} {'warm req/s':>11} {'warm p99':>9}")
        for name in cold:
            c, w = cold[name], warm[name]
            errors = f"  ({int(c['errors'] + w['errors'])} non-2xx)" if c["errors"] or w["errors"] else ""
            print(f"{name:<14} {c['rps']:>11.0f} {c['p99_ms']:>7.2f}ms {w['rps']:>11.0f} {w['p99_ms']:>7.2f}ms{errors}")
        print(f"page proxied / local (warm): {warm['page proxied']['rps'] / warm['page local']['rps']:.2f}x")
        print(f"file proxied / local (warm): {warm['file proxied']['rps'] / warm['file local']['rps']:.2f}x")
        print(f"{size / 2**20:.0f} MiB: direct from upstream {direct_seconds:.2f} s, first through the proxy {first_seconds:.2f} s "
              f"({first_seconds / direct_seconds:.2f}x), cached {cached_seconds:.2f} s")
        print(f"references: nginx proxy_pass (no verification, nothing kept) {floor['nginx']:.2f} s "
              f"({floor['nginx'] / direct_seconds:.2f}x direct); sha256 of the {size / 2**20:.0f} MiB in one Python thread "
              f"{floor['sha256']:.2f} s ({floor['sha256'] / direct_seconds:.2f}x direct)")
        print(f"proxy peak RSS {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB (+{(rss_after - rss_before) / 1024:.1f} MiB)")
    finally:
        for server in (proxy, upstream):
            if server is not None:
                server.stop()
                server.backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
