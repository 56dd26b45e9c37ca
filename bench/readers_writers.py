"""64 concurrent readers while 2 writers publish continuously (issue #9): read latency and the
writers' rate, through the app (2 workers) and through the nginx front, in the same run.

    python bench/readers_writers.py [--projects 1000] [--gems 300] [--seconds 10]

Readers: wrk -t2 -c64 cycling over every project page (pip's JSON), every wheel, every
/rubygems/info/<gem> and /rubygems/versions. Writers: one thread uploading new PyPI projects, one
pushing new gems, each back to back over HTTP. Backend: as for the tests (PACKYARD_TEST_DATABASE_URL
/ PACKYARD_TEST_REDIS_URL for PostgreSQL + Redis). Target: read p99 < 100 ms. The same readers
through the app without writers, in the same run, show what the writers add.
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx
from _harness import (
    PIP_ACCEPT,
    build_gems,
    build_wheel,
    discard,
    populate_pypi,
    populate_rubygems,
    push_gem,
    start,
    start_front,
    tempdir,
    upload_wheel,
    wrk_cycle,
)


class Writers:
    """Two publishers (PyPI and RubyGems) running until stopped; counts what they published."""

    def __init__(self, url: str, token: str, wheels: list, gems: list) -> None:
        self.url, self.token, self.wheels, self.gems = url, token, wheels, gems
        self.published = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._pypi), threading.Thread(target=self._rubygems)]

    def _pypi(self) -> None:
        with httpx.Client() as client:
            for name, wheel in self.wheels:
                if self.stopping.is_set():
                    return
                upload_wheel(self.url, self.token, wheel, name, "1.0", client=client)
                self.published += 1

    def _rubygems(self) -> None:
        with httpx.Client() as client:
            for gem in self.gems:
                if self.stopping.is_set():
                    return
                push_gem(self.url, self.token, gem, client=client)
                self.published += 1

    def __enter__(self) -> Writers:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        self.seconds = time.monotonic() - self.started


def measure(projects: int, gem_count: int, seconds: int) -> list[tuple[str, dict, float]]:
    workdir = tempdir()
    server = start(workdir, workers=2)
    try:
        populate_pypi(server, projects, workdir)
        populate_rubygems(server, gem_count, workdir)
        token = server.mint_token("pypi:package:*:write", "rubygems:gem:*:write", user="writer")
        reads = ([f"/pypi/simple/bench-p-{i}/\tAccept: {PIP_ACCEPT}" for i in range(projects)]
                 + [f"/pypi/files/bench-p-{i}/bench_p_{i}-1.0-py3-none-any.whl" for i in range(projects)]
                 + [f"/rubygems/info/bench{i}" for i in range(gem_count)]
                 + ["/rubygems/versions"] * 100)
        front = start_front(server, workdir / "nginx-front")
        results = []
        try:
            wrk_cycle(server.url, reads, 3, connections=64)  # every worker's memo warm
            alone = wrk_cycle(server.url, reads, seconds, connections=64)
            results.append(("app, no writers", alone, 0.0))
            print(f"  app, no writers: {alone}", flush=True)
            for label, url in (("app", server.url), ("nginx front", front.url)):
                first = len(results) * 100_000
                wheels = [(f"bench-w-{i}", build_wheel(workdir / "wheels", f"bench-w-{i}", "1.0"))
                          for i in range(first, first + 2000)]
                gems = build_gems(workdir / "writer-gems", 400, prefix="benchw", first=first)
                with Writers(url, token, wheels, gems) as writers:
                    time.sleep(0.5)  # both writers under way
                    stats = wrk_cycle(url, reads, seconds, connections=64)
                results.append((label, stats, writers.published / writers.seconds))
                print(f"  {label}: {stats} writers {writers.published / writers.seconds:.1f}/s", flush=True)
        finally:
            front.stop()
        return results
    finally:
        discard(server, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--gems", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    results = measure(args.projects, args.gems, args.seconds)
    print(f"\n{'readers through':18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'writes/s':>10}")
    for label, stats, rate in results:
        print(f"{label:18}{stats['rps']:>9.0f}{stats['p50_ms']:>9.1f}{stats['p99_ms']:>9.1f}{stats['errors']:>8.0f}"
              f"{rate:>10.1f}")


if __name__ == "__main__":
    main()
