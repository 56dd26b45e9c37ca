"""Gem push latency at 10 gems and at 10,000 gems (issue #10, item 5: within 1.5x).

    python bench/gem_push_scale.py [--small 10] [--large 10000] [--pushes 20]

The server (2 workers) first holds `--small` gems, pushed over HTTP; `--pushes` more gems are then
pushed one after another over HTTP (`POST /rubygems/api/v1/gems`, as `gem push` does) and timed.
The registry is then filled to `--large` gems in this process through the app's own push handler
(no sockets; every push still runs the full publish and index update), and the same number of
pushes is timed again over HTTP. Backend: as for the tests.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

import httpx

from _harness import build_gems, in_process_client, push_gem, start, tempdir


def timed_pushes(url: str, token: str, gems: list) -> list[float]:
    latencies = []
    with httpx.Client() as client:
        for gem in gems:
            started = time.monotonic()
            push_gem(url, token, gem, client=client)
            latencies.append((time.monotonic() - started) * 1000)
    return latencies


def fill_in_process(server, token: str, gems: list) -> None:
    started = time.monotonic()
    with in_process_client(server) as client:
        for n, gem in enumerate(gems, 1):
            push_gem("http://127.0.0.1", token, gem, client=client)
            if n % 1000 == 0:
                print(f"  filled {n} gems ({time.monotonic() - started:.0f} s)", flush=True)


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(len(ordered) * 0.9) - 1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    workdir = tempdir()
    server = start(workdir, workers=2)
    try:
        token = server.mint_token("rubygems:gem:*:write", user="bench")
        print("building gems ...", flush=True)
        base = build_gems(workdir / "base", args.large, prefix="bench")
        probes_small = build_gems(workdir / "probe-small", args.pushes, prefix="probe-s")
        probes_large = build_gems(workdir / "probe-large", args.pushes, prefix="probe-l")
        for gem in base[: args.small]:
            push_gem(server.url, token, gem)
        small = timed_pushes(server.url, token, probes_small)
        print(f"  at {args.small} gems: {summary(small)}", flush=True)
        fill_in_process(server, token, base[args.small:])
        large = timed_pushes(server.url, token, probes_large)
        print(f"  at {args.large} gems: {summary(large)}", flush=True)
    finally:
        server.stop()
        server.backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = statistics.median(large) / statistics.median(small)
    print(f"\ngem push latency: {args.small} gems {summary(small)}; {args.large} gems {summary(large)}; "
          f"ratio of medians {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
