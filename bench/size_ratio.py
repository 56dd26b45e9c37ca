"""Issue #9's size target measured side by side: two registries, 1,000 and 10,000 PyPI projects (and
the same 300 gems), served at once (2 workers each), every path asked of both in turns, wrk -t2 -c32
cycling over every project URL (cycle.lua). `front_reads.py` measures the sizes one after the other on
one growing registry, minutes apart; on this machine a run's speed drifts by 10-20% over that time.
Here each round restarts both servers (cold), runs the small and the large registry back to back (the
first of the pair alternating from round to round), then both again (warm): each round's ratio,
large / small, is taken under the same conditions, and the median of the rounds is reported.

    python bench/size_ratio.py [--sizes 1000 10000] [--gems 300] [--rounds 5] [--seconds 3] [--only LABEL]

Backend: the embedded default; set PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL (as for the
tests) to measure PostgreSQL + Redis. Both registries are filled in this process through the app's
upload handler (PyPI) and over HTTP (gems).

Target (bench/README.md): read req/s at 10,000 projects within 20% of 1,000 (ratio >= 0.8).
"""

from __future__ import annotations

import argparse
import statistics

import httpx
from _harness import PIP_ACCEPT, discard, populate_pypi_in_process, populate_rubygems, restart, start, tempdir, wrk_cycle
from front_reads import cases


def fill(size: int, gems: int):
    workdir = tempdir()
    server = start(workdir, workers=2)
    populate_pypi_in_process(server, size, workdir)
    populate_rubygems(server, gems, workdir)
    for accept in (PIP_ACCEPT, "text/html"):  # a stale root listing is rendered by its next reader (or soon after)
        httpx.get(server.url + "/pypi/simple/", headers={"Accept": accept}, timeout=120).raise_for_status()
    return server, workdir


def requests_of(server, size: int, gems: int) -> dict[str, list[str]]:
    """Each path's requests to this registry (its own ETags and `/versions` length)."""
    projects = [f"bench-p-{i}" for i in range(size)]
    return {label: requests for label, requests, _ in cases(server.data_dir / "public", projects,
                                                             [f"bench{i}" for i in range(gems)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--gems", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--only", help="only the paths whose label contains this (e.g. 'root listing')")
    args = parser.parse_args()
    small_size, large_size = sorted(args.sizes)
    servers = {}
    try:
        for size in (small_size, large_size):
            servers[size] = fill(size, args.gems)
        paths = {size: requests_of(server, size, args.gems) for size, (server, _) in servers.items()}
        print(f"{'path':34}{'cold ' + str(large_size) + '/' + str(small_size):>16}{'warm':>8}   "
              f"req/s small / large, cold and warm (median round); p99 ms", flush=True)
        for label in paths[small_size]:
            if args.only is not None and args.only not in label:
                continue
            runs: dict[tuple[str, int], list[dict]] = {(phase, size): [] for phase in ("cold", "warm") for size in servers}
            for turn in range(args.rounds):
                order = (small_size, large_size) if turn % 2 == 0 else (large_size, small_size)
                for size in order:
                    server, workdir = servers[size]
                    servers[size] = (restart(server), workdir)
                for phase in ("cold", "warm"):
                    for size in order:
                        runs[phase, size].append(wrk_cycle(servers[size][0].url, paths[size][label], args.seconds))
            ratios = {phase: statistics.median(large["rps"] / small["rps"] for small, large in
                                               zip(runs[phase, small_size], runs[phase, large_size]))
                      for phase in ("cold", "warm")}
            medians = {key: statistics.median(run["rps"] for run in taken) for key, taken in runs.items()}
            p99s = {key: statistics.median(run["p99_ms"] for run in taken) for key, taken in runs.items()}
            print(f"{label:34}{ratios['cold']:>16.2f}{ratios['warm']:>8.2f}   "
                  + "; ".join(f"{phase} {medians[phase, small_size]:.0f} / {medians[phase, large_size]:.0f}"
                              f" (p99 {p99s[phase, small_size]:.1f} / {p99s[phase, large_size]:.1f})"
                              for phase in ("cold", "warm")), flush=True)
    finally:
        for server, workdir in servers.values():
            discard(server, workdir)


if __name__ == "__main__":
    main()
