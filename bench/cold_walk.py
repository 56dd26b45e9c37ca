"""The first walk over every project page after a restart (cold), then the second (warm), a few
rounds on one registry: the p99 of the cold walk is where per-worker start-up costs show (filling
the memo, garbage collection), and it grows with the registry.

    python bench/cold_walk.py [--projects 10000] [--rounds 4] [--seconds 5]

Fills the projects in process (as `front_reads.py --in-process`), then per round restarts the
server (2 workers) and runs wrk -t2 -c32 cycling over every JSON project page, twice. Backend as
for the tests (PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL, else the embedded default).
"""

from __future__ import annotations

import argparse

from _harness import PIP_ACCEPT, discard, populate_pypi_in_process, restart, start, tempdir, wrk_cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempdir()
    server = start(workdir, workers=2)
    try:
        populate_pypi_in_process(server, args.projects, workdir)
        pages = [f"/pypi/simple/bench-p-{i}/\tAccept: {PIP_ACCEPT}" for i in range(args.projects)]
        for round_ in range(args.rounds):
            server = restart(server)
            cold = wrk_cycle(server.url, pages, seconds=args.seconds)
            warm = wrk_cycle(server.url, pages, seconds=args.seconds)
            print(f"round {round_}: cold {cold['rps']:,.0f} req/s, p99 {cold['p99_ms']:.1f} ms; "
                  f"warm {warm['rps']:,.0f} req/s, p99 {warm['p99_ms']:.1f} ms", flush=True)
    finally:
        discard(server, workdir)


if __name__ == "__main__":
    main()
