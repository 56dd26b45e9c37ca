"""Issue #13's target (the index read paths lose < 3% req/s with metrics on), measured where a
worker's own cost shows: one worker with metrics off and one with metrics on, on the same data,
both pinned to core 0, and wrk (1 thread) pinned to core 1, so neither wrk nor the other server
takes the measured worker's core. The two take turns (`--seconds` each, the first of each pair
alternating) for `--rounds` pairs; each pair's loss is 1 - on/off of its req/s, and of the worker's
CPU µs per request (/proc), and the median over pairs is reported beside its range. `--control`
also runs an A/A pair of two metrics-on workers, whose "loss" is what this machine's noise alone
gives.

    python bench/metrics_pinned.py [--projects 100] [--gems 100] [--seconds 3] [--rounds 12] [--control]

`bench/metrics_overhead.py` runs 2 workers and wrk sharing both cores, as a deployment would; on
this 2-core machine its rounds swing by more than the loss measured here.
Backend: the embedded default; set PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL for
PostgreSQL + Redis.
"""

from __future__ import annotations

import argparse
import statistics

from _harness import PIP_ACCEPT, discard, pin_server, populate_pypi, populate_rubygems, server_cpu_seconds, start, tempdir, wrk

from tests.support.server import RunningServer, start_server

PATHS = {
    "rubygems /versions": ("/rubygems/versions", {}),
    "rubygems /info/<gem>": ("/rubygems/info/bench7", {}),
    "pypi project page (JSON)": ("/pypi/simple/bench-p-7/", {"Accept": PIP_ACCEPT}),
    "pypi project page (HTML)": ("/pypi/simple/bench-p-7/", {}),
}
SERVED_CORE, CLIENT_CORE = 0, 1


def measure(args: argparse.Namespace) -> dict:
    workdir = tempdir()
    seed = start(workdir, workers=1)
    variants: dict[str, RunningServer] = {}
    try:
        populate_pypi(seed, args.projects, workdir)
        populate_rubygems(seed, args.gems, workdir)
        seed.stop()
        names = ["off", "on"] + (["on (A/A)"] if args.control else [])
        for name in names:
            env = {"PACKYARD_METRICS": "false"} if name == "off" else {}
            variants[name] = start_server(seed.data_dir, workers=1, backend=seed.backend, extra_env=env, access_log=False)
            pin_server(variants[name], SERVED_CORE)
        results: dict[str, dict[str, list[dict]]] = {label: {name: [] for name in names} for label in PATHS}
        for label, (path, headers) in PATHS.items():
            for name in names:  # warm: every worker has read the document
                wrk(variants[name].url + path, headers, seconds=1, connections=16, threads=1, cpu=CLIENT_CORE)
            for round_ in range(args.rounds):
                order = names if round_ % 2 == 0 else names[::-1]
                for name in order:
                    server = variants[name]
                    before = server_cpu_seconds(server)
                    result = wrk(server.url + path, headers, seconds=args.seconds, connections=16, threads=1, cpu=CLIENT_CORE)
                    assert not result["errors"], result
                    result["cpu_us"] = (server_cpu_seconds(server) - before) / result["requests"] * 1e6
                    results[label][name].append(result)
            print(f"  {label}: " + ", ".join(f"{n} {statistics.median(r['rps'] for r in results[label][n]):.0f}/s" for n in names), flush=True)
        return {"results": results, "names": names, "rounds": args.rounds, "seconds": args.seconds}
    finally:
        for server in variants.values():
            server.stop()
        discard(seed, workdir)


def report(run: dict) -> None:
    print(f"\n{run['rounds']} pairs of {run['seconds']} s; loss = 1 - on/off per pair (req/s), 1 - off/on (CPU µs per request); "
          "median (range) over pairs")
    print(f"{'path':28}{'off/s':>9}{'on/s':>9}{'req/s loss':>12}{'(range)':>18}{'µs off':>8}{'µs on':>8}{'CPU loss':>10}"
          + ("   A/A req/s, CPU" if "on (A/A)" in run["names"] else ""))
    for label, by_name in run["results"].items():
        off, on = by_name["off"], by_name["on"]
        rps_loss = [1 - b["rps"] / a["rps"] for a, b in zip(off, on)]
        cpu_loss = [1 - a["cpu_us"] / b["cpu_us"] for a, b in zip(off, on)]
        line = (f"{label:28}{statistics.median(r['rps'] for r in off):>9.0f}{statistics.median(r['rps'] for r in on):>9.0f}"
                f"{statistics.median(rps_loss):>12.1%}{f'({min(rps_loss):.1%}..{max(rps_loss):.1%})':>18}"
                f"{statistics.median(r['cpu_us'] for r in off):>8.1f}{statistics.median(r['cpu_us'] for r in on):>8.1f}"
                f"{statistics.median(cpu_loss):>10.1%}")
        if "on (A/A)" in by_name:
            control = by_name["on (A/A)"]
            line += (f"   {statistics.median(1 - b['rps'] / a['rps'] for a, b in zip(on, control)):.1%}, "
                     f"{statistics.median(1 - a['cpu_us'] / b['cpu_us'] for a, b in zip(on, control)):.1%}")
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--gems", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--control", action="store_true", help="also an A/A pair of two metrics-on workers")
    report(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
