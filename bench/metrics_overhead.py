"""Issue #13's target: the index read paths lose < 3% req/s with metrics on. The app (2 workers)
with metrics off (PACKYARD_METRICS=false: nothing wraps it), on (the default), and on with the JSON
access log, in the same run, cold (the first wrk run after a restart) and warm (the next one);
wrk -t2 -c32 cycling over every project URL (cycle.lua). Variants take turns, `--rounds` times,
in the opposite order every other round (so a drift in the machine's speed favours none); the loss
reported is the median over rounds of each round's own ratio (the machine is shared: a round's
variants ran seconds apart, so their ratio holds when the absolute req/s swing), beside its range.

    python bench/metrics_overhead.py [--projects 300] [--gems 100] [--seconds 5] [--rounds 2]

The machine is shared, so wrk's req/s swing with whatever else runs. Each wrk run also measures
the CPU time the server's processes used per request answered (/proc: the supervisor and its
workers, sockets and all): with the cores the limit, a server loses req/s in that proportion, and
a neighbour's load moves it far less than req/s. The same run also measures
the CPU time one request costs in a worker (each variant driven in this process through packyard's
uvicorn protocol, where requests are counted, and the app, without sockets, `--calls` keep-alive
requests per path, `time.thread_time`), which another process's load moves far less: the µs a
request costs with metrics on minus off is the overhead itself. `--cpu-only` skips the wrk rounds.

Backend: the embedded default; set PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL (as for
the tests) to measure PostgreSQL + Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import os
import statistics
import time

from _harness import (
    PIP_ACCEPT,
    discard,
    populate_pypi,
    server_cpu_seconds,
    populate_rubygems,
    start,
    tempdir,
    wrk_cycle,
)

from tests.support.in_process_http import Connection, Transport
from tests.support.server import start_server

VARIANTS = {
    "off": ({"PACKYARD_METRICS": "false"}, False),
    "metrics": ({}, False),
    "metrics + json log": ({}, True),
}


def cases(projects: list[str], gems: list[str]) -> dict[str, list[str]]:
    return {
        "pypi project pages (JSON)": [f"/pypi/simple/{p}/\tAccept: {PIP_ACCEPT}" for p in projects],
        "pypi root listing (JSON)": [f"/pypi/simple/\tAccept: {PIP_ACCEPT}"],
        "rubygems /info/<gem>": [f"/rubygems/info/{g}" for g in gems],
        "rubygems /versions": ["/rubygems/versions"],
    }


class _Transport(Transport):
    """Counts the answers instead of keeping them, and checks every one is a 200."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0

    def write(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1 "):
            assert data.startswith(b"HTTP/1.1 200 "), data[:200]
            self.answers += 1


def cpu_per_request(server, requests: list[str], calls: int, repeats: int) -> dict[str, float]:
    """µs of CPU per request in this process for each variant: packyard's uvicorn protocol (where
    requests are counted) parsing a keep-alive request and writing the answer, and the app; no sockets.
    The variants take turns `repeats` times, in the opposite order every other turn; the median of each
is reported."""
    from packyard.app import GC_THRESHOLDS, create_app
    from packyard.config import Settings
    from packyard.registry import Registry

    logging.getLogger("packyard.access").addHandler(logging.StreamHandler(open(os.devnull, "w")))  # lines cost, unseen
    raws = []
    for line in requests:
        path, *headers = line.split("\t")
        raws.append(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n".encode()
                    + b"".join(f"{h.strip()}\r\n".encode() for h in headers) + b"\r\n")
    spent: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    turns = [list(VARIANTS.items())[::1 if turn % 2 == 0 else -1] for turn in range(repeats)]  # no variant always first
    gc.set_threshold(*GC_THRESHOLDS)  # a worker's settings (the app's lifespan, which this driver does not run)
    for variant, (env, access_log) in itertools.chain.from_iterable(turns):
        settings = Settings(data_dir=server.data_dir, database_url=server.backend.database_url, redis_url=server.backend.redis_url,
                            storage_url=server.backend.storage_url, metrics=env.get("PACKYARD_METRICS") != "false",
                            access_log="json" if access_log else "off")
        registry = Registry(settings)
        app = create_app(registry=registry)

        async def drive() -> float:
            transport = _Transport()
            connection = Connection(app, transport)
            for raw in raws:  # warm the memos
                await connection.answer(raw)
            gc.collect()
            gc.freeze()  # as a worker after start-up: what exists now is never walked again
            started = time.thread_time()
            for i in range(calls):
                await connection.answer(raws[i % len(raws)])
            seconds = time.thread_time() - started
            assert transport.answers == len(raws) + calls and not transport.closed
            connection.close()
            return seconds / calls * 1e6

        spent[variant].append(asyncio.run(drive()))
        registry.close()
        gc.unfreeze()
    return {variant: statistics.median(values) for variant, values in spent.items()}


def measure(size: int, gem_count: int, seconds: int, rounds: int, calls: int, repeats: int) -> dict:
    workdir = tempdir()
    server = start(workdir, workers=2)
    try:
        populate_pypi(server, size, workdir)
        populate_rubygems(server, gem_count, workdir)
        paths = cases([f"bench-p-{i}" for i in range(size)], [f"bench{i}" for i in range(gem_count)])
        cpu = {label: cpu_per_request(server, requests, calls, repeats) for label, requests in paths.items()}
        runs: dict[str, dict[str, dict[str, list[float]]]] = {
            label: {variant: {"cold": [], "warm": []} for variant in VARIANTS} for label in paths}
        for round_ in range(rounds):
            order = list(VARIANTS.items())
            if round_ % 2:
                order.reverse()
            for label, requests in paths.items():
                for variant, (env, access_log) in order:
                    server.stop()
                    server = start_server(server.data_dir, workers=2, backend=server.backend, extra_env=env, access_log=access_log)
                    for phase in ("cold", "warm"):
                        before = server_cpu_seconds(server)
                        result = wrk_cycle(server.url, requests, seconds)
                        result["cpu_us"] = (server_cpu_seconds(server) - before) / result["requests"] * 1e6
                        runs[label][variant][phase].append(result)
                    cold, warm = (runs[label][variant][phase][-1] for phase in ("cold", "warm"))
                    print(f"  round {round_ + 1} {label} [{variant}]: cold {cold['rps']:.0f}/s, warm {warm['rps']:.0f}/s"
                          + (f" ({cold['errors'] + warm['errors']:.0f} errors)" if cold["errors"] or warm["errors"] else ""),
                          flush=True)
        return {"size": size, "gems": gem_count, "rounds": rounds, "runs": runs, "cpu_us": cpu, "calls": calls, "repeats": repeats}
    finally:
        discard(server, workdir)


def report(run: dict) -> None:
    if run["rounds"]:
        report_wrk(run)
    print(f"\nCPU per request in a worker in process, without sockets (uvicorn's protocol and the app), µs ({run['calls']} requests per path, "
          f"median of {run['repeats']} turns); loss = the req/s a worker loses")
    print(f"{'path':28}{'off':>8}{'metrics':>9}{'+µs':>7}{'loss':>7}{'+ log':>8}{'+µs':>6}{'loss':>7}")
    for label, cpu in run["cpu_us"].items():
        off, on, logged = (cpu[v] for v in VARIANTS)
        print(f"{label:28}{off:>8.2f}{on:>9.2f}{on - off:>7.2f}{1 - off / on:>7.1%}{logged:>8.1f}{logged - off:>6.1f}{1 - off / logged:>7.1%}")


def report_wrk(run: dict) -> None:
    print(f"\n{run['size']} projects, {run['gems']} gems; {run['rounds']} rounds: the median of each variant, and the"
          " median (range) over rounds of each round's loss against off;\nreq/s by wrk, and the server's CPU µs per request"
          " over the same run (/proc: its supervisor and workers), whose loss is the req/s a server bound by its cores loses")
    print(f"{'path':28}{'':6}{'off':>9}{'metrics':>9}{'loss':>7}{'(range)':>17}{'+ log':>9}{'loss':>7}"
          f"{'µs off':>9}{'metrics':>9}{'loss':>7}{'(range)':>17}{'+ log':>8}{'loss':>7}")
    for label, variants in run["runs"].items():
        for phase in ("cold", "warm"):
            off, on, logged = (variants[v][phase] for v in VARIANTS)
            cells = []
            for key, lost in (("rps", lambda o, b: 1 - o / b), ("cpu_us", lambda o, b: 1 - b / o)):
                base, with_metrics, with_log = ([r[key] for r in runs] for runs in (off, on, logged))
                loss = [lost(o, b) for o, b in zip(with_metrics, base)]
                log_loss = [lost(o, b) for o, b in zip(with_log, base)]
                cells.append(f"{statistics.median(base):>9.1f}{statistics.median(with_metrics):>9.1f}{statistics.median(loss):>7.1%}"
                             f"{f'({min(loss):.1%}..{max(loss):.1%})':>17}{statistics.median(with_log):>8.1f}{statistics.median(log_loss):>7.1%}")
            print(f"{label:28}{phase:6}{''.join(cells)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--gems", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3, help="turns of the in-process CPU measurement")
    parser.add_argument("--cpu-only", action="store_true", help="no wrk rounds")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    run = measure(args.projects, args.gems, args.seconds, 0 if args.cpu_only else args.rounds, args.calls, args.repeats)
    report(run)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(run, handle, indent=1)


if __name__ == "__main__":
    main()
