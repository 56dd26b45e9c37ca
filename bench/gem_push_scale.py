"""Gem push latency at 10 gems and at 10,000 gems (issue #10, item 5: within 1.5x).

    python bench/gem_push_scale.py [--sizes 10 1000 10000] [--pushes 20]

The registry (2 workers) is filled to each size in this process through the app's own push
handler (no sockets; every push still runs the full publish and index update, but this process
does not render the specs files and `/names` in the background: the fill leaves them stale, and
one read renders them before the timing, as a reader would); then `--pushes` new gems are pushed
one after another over HTTP (`POST /rubygems/api/v1/gems`, as `gem push` does) and timed. Each
timed push makes the server render the listings in the background (O(gems)), on the same cores
as the next push: that contention is part of what is measured.
The latency is printed at every size as it is reached. Backend: as for the tests.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from _harness import build_gems, discard, in_process_client, push_gem, start, tempdir


def timed_pushes(url: str, token: str, gems: list) -> list[float]:
    latencies = []
    with httpx.Client() as client:
        for gem in gems:
            started = time.monotonic()
            push_gem(url, token, gem, client=client)
            latencies.append((time.monotonic() - started) * 1000)
    return latencies


def fill_in_process(server, token: str, gems: list) -> float:
    """Push `gems` through the app in this process; returns the seconds it took."""
    started = time.monotonic()
    server.registry().documents.background.submit = lambda items: None  # left stale: see the module's doc
    with in_process_client(server) as client:
        for gem in gems:
            push_gem("http://127.0.0.1", token, gem, client=client)
    return time.monotonic() - started


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(len(ordered) * 0.9) - 1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10_000])
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    workdir = tempdir()
    server = start(workdir, workers=2)
    medians = {}
    try:
        token = server.mint_token("rubygems:gem:*:write", user="bench")
        base = iter(build_gems(workdir / "base", sizes[-1], prefix="bench"))
        held = 0
        for n, size in enumerate(sizes):
            fill = [next(base) for _ in range(size - held)]
            seconds = fill_in_process(server, token, fill)
            print(f"  filled {len(fill)} gems in process in {seconds:.0f} s ({seconds / len(fill) * 1000:.0f} ms each)",
                  flush=True)
            listing = time.monotonic()
            for path in ("specs.4.8.gz", "latest_specs.4.8.gz", "names"):
                httpx.get(f"{server.url}/rubygems/{path}", timeout=600).raise_for_status()
            print(f"  listings rendered by a reader in {time.monotonic() - listing:.1f} s", flush=True)
            probes = build_gems(workdir / f"probe-{n}", args.pushes, prefix=f"probe{n}-")
            latencies = timed_pushes(server.url, token, probes)
            held = size + args.pushes
            medians[size] = statistics.median(latencies)
            print(f"  at {size} gems: push {summary(latencies)}", flush=True)
    finally:
        discard(server, workdir)
    smallest, largest = sizes[0], max(medians)
    print(f"\ngem push latency, median: {smallest} gems {medians[smallest]:.1f} ms, {largest} gems "
          f"{medians[largest]:.1f} ms; ratio {medians[largest] / medians[smallest]:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
