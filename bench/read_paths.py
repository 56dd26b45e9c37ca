"""Read-path throughput at two registry sizes: the per-project pages must not slow down as the
registry grows (only the root listing may, by its own size).

    python bench/read_paths.py [--sizes 100 2000] [--seconds 5]

Targets (2-core machine, one worker, embedded default; see bench/README.md):
- project page (JSON and HTML), /rubygems/info/<gem>, 304 revalidations: >= 1500 req/s;
- the larger registry within 20% of the smaller one on those paths.
"""

from __future__ import annotations

import argparse

from _harness import discard, populate_pypi, populate_rubygems, start, tempdir, wrk

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def measure(size: int, seconds: int) -> list[tuple[str, dict[str, float]]]:
    workdir = tempdir()
    server = start(workdir)
    try:
        populate_pypi(server, size, workdir)
        populate_rubygems(server, size, workdir)
        import httpx

        versions = httpx.get(server.url + "/rubygems/versions")
        versions_etag, tail_from = versions.headers["etag"], len(versions.content) - 1
        page_etag = httpx.get(server.url + "/pypi/simple/bench-p-1/", headers={"Accept": PIP_ACCEPT}).headers["etag"]
        cases = [
            ("pypi project page (JSON)", "/pypi/simple/bench-p-1/", {"Accept": PIP_ACCEPT}),
            ("pypi project page (HTML)", "/pypi/simple/bench-p-1/", {"Accept": "text/html"}),
            ("pypi project page 304", "/pypi/simple/bench-p-1/", {"Accept": PIP_ACCEPT, "If-None-Match": page_etag}),
            ("pypi root listing (JSON)", "/pypi/simple/", {"Accept": PIP_ACCEPT}),
            ("rubygems /info/<gem>", "/rubygems/info/bench1", {}),
            ("rubygems /versions 304", "/rubygems/versions", {"If-None-Match": versions_etag}),
            ("rubygems /versions range tail", "/rubygems/versions", {"Range": f"bytes={tail_from}-"}),
        ]
        return [(label, wrk(server.url + path, headers, seconds)) for label, path, headers in cases]
    finally:
        discard(server, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    results = {size: measure(size, args.seconds) for size in args.sizes}
    print(f"{'endpoint':34}" + "".join(f"{'n=' + str(s) + ' req/s':>16}{'p99 ms':>9}" for s in args.sizes))
    for index, (label, _) in enumerate(results[args.sizes[0]]):
        row = f"{label:34}"
        for size in args.sizes:
            stats = results[size][index][1]
            flag = "!" if stats["errors"] else ""
            row += f"{stats['rps']:>15.0f}{flag:1}{stats['p99_ms']:>9.1f}"
        print(row)


if __name__ == "__main__":
    main()
