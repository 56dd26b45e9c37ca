"""A web interface package page with 100 versions renders in < 20 ms (issue #13).

    python bench/web_pages.py [--versions 100] [--requests 300]

One PyPI package gets `--versions` versions (a wheel each, published in this process through the
app's upload handler) and a Markdown README of about 6 KB; the server (1 worker) is then
restarted and asked, one request at a time over one keep-alive connection:

- cold: the first request of each path right after the restart (templates compiled, README
  rendered, nothing cached);
- warm: `--requests` more, reported as median and p99;

for the package page anonymous (a full render: no If-None-Match), signed in as the owner (the
yank form of every version, and the session lookup), the same page revalidated (304), and as
references in the same run the management API's JSON detail of the same package (the same
queries, no HTML) and `/healthz` (a FastAPI route doing nothing). Backend: as for the tests.

On a busy machine wall-clock latencies mostly measure the wait for a core, so the same paths are
also measured in this process (the app called through Starlette's TestClient, no sockets) as
**CPU time** per request (`time.process_time`, all threads), which waiting does not inflate.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from _harness import discard, in_process_client, restart, start, tempdir, upload_wheel

from tests.pypi.pypi_dists import build_wheel, core_metadata
from tests.support.web import signed_in_client

README = "# bench-web\n\n" + "\n".join(
    f"## Section {i}\n\nSome *emphasis*, a [link](https://example.invalid/{i}), `code` and a list:\n\n- one\n- two\n\n"
    "```python\nprint('hello')\n```\n" for i in range(40)
)
PASSWORD = "bench-password"


def fill(server, versions: int, workdir) -> None:
    from packyard.services.users import create_user

    create_user(server.registry(), "owner", PASSWORD)
    token = server.mint_token("pypi:package:*:write", user="owner")
    wheels = workdir / "wheels"
    wheels.mkdir()
    with in_process_client(server) as client:
        for i in range(versions):
            version = f"1.{i}"
            meta = core_metadata("bench-web", version, requires_dist=("attrs>=23", "packaging"), description=README)
            wheel = build_wheel(wheels, "bench-web", version, metadata=meta.replace(b"text/plain", b"text/markdown"))
            upload_wheel("http://127.0.0.1", token, wheel, "bench-web", version, client=client)


def timings(client: httpx.Client, path: str, count: int, headers: dict[str, str] | None = None) -> tuple[float, list[float]]:
    """(the first request's ms, the next `count` requests' ms)."""
    samples = []
    for _ in range(count + 1):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 304), (path, response.status_code)
    return samples[0], samples[1:]


def cpu_ms(server, paths: list[str], count: int) -> dict[str, float]:
    """CPU milliseconds per request of each path, the app running in this process (after one warm-up request)."""
    result = {}
    with in_process_client(server) as client:
        for path in paths:
            assert client.get(path).status_code == 200
            started = time.process_time()
            for _ in range(count):
                client.get(path)
            result[path] = (time.process_time() - started) * 1000 / count
    return result


def row(label: str, cold: float, warm: list[float]) -> str:
    ordered = sorted(warm)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"| {label} | {cold:.1f} | {statistics.median(ordered):.1f} | {p99:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    workdir = tempdir()
    server = start(workdir)
    try:
        started = time.monotonic()
        fill(server, args.versions, workdir)
        print(f"filled {args.versions} versions in {time.monotonic() - started:.0f} s", flush=True)
        server = restart(server, workers=1)
        page = "/packages/pypi/bench-web"
        results = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            results.append(row("package page, anonymous (full render)", *timings(client, page, args.requests)))
            etag = client.get(page).headers["etag"]
            results.append(row("package page, revalidated (304)", *timings(client, page, args.requests, {"If-None-Match": etag})))
            results.append(row("reference: JSON API detail, same package", *timings(client, "/api/v1/packages/pypi/bench-web", args.requests)))
            results.append(row("reference: /healthz", *timings(client, "/healthz", args.requests)))
        with signed_in_client(server.url, "owner", PASSWORD) as owner:
            results.append(row("package page, signed in as the owner", *timings(owner, page, args.requests)))
        cpu = cpu_ms(server, [page, "/api/v1/packages/pypi/bench-web", "/healthz"], args.requests)
    finally:
        discard(server, workdir)
    print(f"\n{args.versions} versions, 1 worker, sequential requests over one connection (ms)\n")
    print("| request | cold (first) | warm median | warm p99 |\n|---|---:|---:|---:|")
    print("\n".join(results))
    print("\nin process, CPU ms per request: " + ", ".join(f"{path} {ms:.1f}" for path, ms in cpu.items()))
    print("\ntarget: the package page with 100 versions in < 20 ms")


if __name__ == "__main__":
    main()
