"""The floor of issue #9's size target on the root listing: plain static nginx serving a root listing
of 1,000 and of 10,000 projects, shaped as packyard's JSON listing (and its `.gz`, `gzip_static`),
asked with and without gzip in alternating pairs (wrk -t2 -c32). The listing's body grows with the
registry, so no server keeps the rate of the small one; this says how much a static server loses to
the bytes alone, beside which `size_ratio.py`'s figures for the app can be read.

    python bench/static_size.py [--sizes 1000 10000] [--pairs 6] [--seconds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics

from _harness import start_static_nginx, tempdir, wrk


def write_listing(public, projects: int) -> tuple[int, int]:
    """`pypi/simple/index.json` and its `.gz` under `public`; returns both sizes."""
    body = json.dumps({"meta": {"api-version": "1.1", "_last-serial": 12345},
                       "projects": [{"name": f"bench-p-{i}", "_last-serial": 1000 + i} for i in range(projects)]},
                      separators=(",", ":")).encode()
    directory = public / "pypi" / "simple"
    directory.mkdir(parents=True)
    (directory / "index.json").write_bytes(body)
    (directory / "index.json.gz").write_bytes(gzip.compress(body, 9))
    return len(body), (directory / "index.json.gz").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    small, large = args.sizes
    workdir = tempdir()
    servers = {}
    try:
        for size in (small, large):
            plain, packed = write_listing(workdir / f"public-{size}", size)
            print(f"{size} projects: {plain} bytes, {packed} gzipped", flush=True)
            servers[size] = start_static_nginx(workdir / f"public-{size}", workdir / f"nginx-{size}")
        for encoding in ("gzip", "identity"):
            ratios = []
            for pair in range(args.pairs):
                rates = {}
                for size in (small, large) if pair % 2 == 0 else (large, small):
                    rates[size] = wrk(servers[size].url + "/pypi/simple/index.json",
                                      headers={"Accept-Encoding": encoding}, seconds=args.seconds)["rps"]
                ratios.append(rates[large] / rates[small])
                print(f"  {encoding} pair {pair + 1}: {small} {rates[small]:.0f}/s, {large} {rates[large]:.0f}/s, "
                      f"ratio {ratios[-1]:.2f}", flush=True)
            print(f"{encoding}: {large}/{small} = {statistics.median(ratios):.2f} (median of {args.pairs} pairs)", flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
