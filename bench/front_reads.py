"""The read targets of issue #9: the app (2 workers, cold and warm) beside a bare FastAPI route
serving the same bytes, and the nginx front beside nginx serving the same files with a plain static
configuration — all in the same run, wrk -t2 -c32 cycling over every project URL (cycle.lua).
Plain nginx gets the same requests, headers included (pip's `Accept`), at the files' own URLs; the
root listing is asked for with and without `Accept-Encoding: gzip` (its gzip variant; plain nginx
with `gzip_static`, the references from the same `.gz` file).

    python bench/front_reads.py [--projects 1000 [10000 ...]] [--gems 300] [--seconds 5] [--in-process]
                                [--app-rounds 3] [--front-rounds 3] [--only LABEL]

Backend: the embedded default; set PACKYARD_TEST_DATABASE_URL / PACKYARD_TEST_REDIS_URL (as for the
tests) to measure PostgreSQL + Redis. `--in-process` fills the PyPI projects through the app's upload
handler inside this process (for 10,000); otherwise through the real upload endpoint over HTTP.
Several sizes (`--projects 1000 10000`) are measured in turn on one registry, grown in between, and
the app's req/s at the largest is compared with the smallest.

Also measured: the same lookup as a bare ASGI callable under uvicorn (`reference_app.bare`), the
ceiling of any ASGI app on this server.

Targets (bench/README.md): app >= 1.5x the FastAPI route on every path, cold and warm, p99 < 10 ms;
front >= 0.8x plain static nginx (median ratio of `--front-rounds` alternating pairs); req/s at 10,000
projects within 20% of 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import httpx
from _harness import (
    PIP_ACCEPT,
    discard,
    populate_pypi,
    populate_pypi_in_process,
    populate_rubygems,
    restart,
    start,
    start_front,
    start_reference,
    start_static_nginx,
    stop_process,
    tempdir,
    wrk_cycle,
)


GZIP = "Accept-Encoding: gzip, deflate"


def cases(public, projects: list[str], gems: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """(label, requests to the app/front/reference, requests to plain static nginx)."""
    versions_size = (public / "rubygems" / "versions").stat().st_size
    tail = f"Range: bytes={versions_size - 1}-"

    def etag(relative: str) -> str:
        return (public.parent / "public-etags" / f"{relative}.etag").read_text().split("\n")[0]

    return [
        ("pypi project pages (JSON)", [f"/pypi/simple/{p}/\tAccept: {PIP_ACCEPT}" for p in projects],
         [f"/pypi/simple/{p}/index.json\tAccept: {PIP_ACCEPT}" for p in projects]),
        ("pypi project pages (HTML)", [f"/pypi/simple/{p}/\tAccept: text/html" for p in projects],
         [f"/pypi/simple/{p}/index.html\tAccept: text/html" for p in projects]),
        ("pypi project pages 304", [f"/pypi/simple/{p}/\tAccept: {PIP_ACCEPT}\tIf-None-Match: "
                                     + etag(f"pypi/simple/{p}/index.json") for p in projects],
         [f"/pypi/simple/{p}/index.json\tAccept: {PIP_ACCEPT}" for p in projects]),
        # with the Accept-Encoding pip (requests), uv and browsers send: its gzip variant
        ("pypi root listing (JSON)", [f"/pypi/simple/\tAccept: {PIP_ACCEPT}\t{GZIP}"], [f"/pypi/simple/index.json\tAccept: {PIP_ACCEPT}\t{GZIP}"]),
        ("pypi root listing (JSON, no gzip)", [f"/pypi/simple/\tAccept: {PIP_ACCEPT}"], [f"/pypi/simple/index.json\tAccept: {PIP_ACCEPT}"]),
        ("rubygems /info/<gem>", [f"/rubygems/info/{g}" for g in gems], [f"/rubygems/info/{g}" for g in gems]),
        ("rubygems /versions", ["/rubygems/versions"], ["/rubygems/versions"]),
        ("rubygems /versions Range tail", [f"/rubygems/versions\t{tail}"], [f"/rubygems/versions\t{tail}"]),
    ]


def static_304(url: str, requests: list[str]) -> list[str]:
    """Plain nginx's own validators for the same files (its mtime-size ETag)."""
    with httpx.Client() as client:
        return [f"{r}\tIf-None-Match: {client.head(url + r.split(chr(9))[0]).headers['etag']}" for r in requests]


def front_beside_static(front_url: str, requests: list[str], static_url: str, static_requests: list[str], seconds: int,
                        rounds: int) -> dict:
    """The front and plain nginx in turns (the first of each pair alternating), `rounds` pairs: the
    median of each, and the median of the pairs' ratios (one pair swings by ~10% on this machine)."""
    fronts, statics = [], []
    for turn in range(rounds):
        pair = [("front", front_url, requests), ("static", static_url, static_requests)]
        for name, url, sent in pair if turn % 2 == 0 else reversed(pair):
            (fronts if name == "front" else statics).append(wrk_cycle(url, sent, seconds))
    ratio = statistics.median(f["rps"] / s["rps"] for f, s in zip(fronts, statics))
    return {"front": _median_run(fronts), "static": _median_run(statics), "front/static": ratio}


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]


def measure_size(server, workdir, size: int, gem_count: int, seconds: int, app_rounds: int,
                 front_rounds: int, only: str | None = None) -> tuple[object, dict]:
    """Every path at the registry's current size; returns the (restarted) server and the rows. The
    app and its references are measured `app_rounds` times, the app restarted before each (one 5 s
    run swings by up to 2x here, with both workers busy either way): the run with the median req/s
    of each."""
    for accept in (PIP_ACCEPT, "text/html"):  # a stale root listing is rendered by its next reader (or soon after)
        httpx.get(server.url + "/pypi/simple/", headers={"Accept": accept}, timeout=120).raise_for_status()
    public = server.data_dir / "public"
    if not (public / "pypi" / "simple" / "index.json").exists():
        raise SystemExit(f"the app wrote no public files under {public}: nothing for nginx to serve")
    projects = [f"bench-p-{i}" for i in range(size)]
    gems = [f"bench{i}" for i in range(gem_count)]
    reference, reference_url = start_reference(public)
    bare, bare_url = start_reference(public, app="bare")
    static = start_static_nginx(public, workdir / "nginx-static")
    front = start_front(server, workdir / "nginx-front")
    results = {}
    try:
        for url, path in ((server.url, "/pypi/simple/"), (front.url, "/pypi/simple/"), (reference_url, "/pypi/simple/"),
                          (bare_url, "/pypi/simple/"), (static.url, "/pypi/simple/index.json")):
            sent = httpx.get(url + path, headers={"Accept": PIP_ACCEPT, "Accept-Encoding": "gzip, deflate"})
            if sent.headers.get("content-encoding") != "gzip":  # the same bytes everywhere: the gzip variant
                raise SystemExit(f"{url}{path} answered the root listing without gzip: {dict(sent.headers)}")
        for label, requests, static_requests in cases(public, projects, gems):
            if only is not None and only not in label:
                continue
            if label.endswith("304"):
                static_requests = static_304(static.url, static_requests)
            unvalidated = [r.split("\tIf-None-Match")[0] for r in requests]
            runs: dict[str, list[dict]] = {"app cold": [], "app warm": [], "fastapi": [], "bare asgi": []}
            for _ in range(app_rounds):
                server = restart(server)
                runs["app cold"].append(wrk_cycle(server.url, requests, seconds))
                runs["app warm"].append(wrk_cycle(server.url, requests, seconds))
                runs["fastapi"].append(wrk_cycle(reference_url, unvalidated, seconds))
                runs["bare asgi"].append(wrk_cycle(bare_url, unvalidated, seconds))
            row = {name: _median_run(taken) for name, taken in runs.items()}
            front.stop()  # both nginx just started, as the app: neither has read these files before
            front = start_front(server, workdir / "nginx-front")
            static.stop()
            static = start_static_nginx(public, workdir / "nginx-static")
            row.update(front_beside_static(front.url, requests, static.url, static_requests, seconds, front_rounds))
            results[label] = row
            print(f"  {size} {label}: " + ", ".join(f"{k} {v['rps']:.0f}/s p99 {v['p99_ms']:.1f}ms"
                                                     + (f" ({v['errors']:.0f} errors)" if v["errors"] else "")
                                                     for k, v in row.items() if k != "front/static")
                  + f", front/static {row['front/static']:.2f} (median of {front_rounds} pairs)", flush=True)
    finally:
        front.stop()
        static.stop()
        stop_process(reference)
        stop_process(bare)
    return server, results


def measure(sizes: list[int], gem_count: int, seconds: int, in_process: bool, app_rounds: int,
            front_rounds: int, only: str | None = None) -> list[dict]:
    """Each size in turn on one growing registry (the gems are pushed once, before the first)."""
    workdir = tempdir()
    server = start(workdir, workers=2)
    runs, filled = [], 0
    try:
        for size in sorted(sizes):
            started = time.monotonic()
            (populate_pypi_in_process if in_process else populate_pypi)(server, size - filled, workdir, first=filled)
            if not filled:
                populate_rubygems(server, gem_count, workdir)
            filled = size
            fill_seconds = time.monotonic() - started
            server, results = measure_size(server, workdir, size, gem_count, seconds, app_rounds, front_rounds, only)
            runs.append({"size": size, "gems": gem_count, "fill_seconds": round(fill_seconds, 1), "results": results,
                         "load_average": os.getloadavg()[0]})
        return runs
    finally:
        discard(server, workdir)


def report(run: dict) -> None:
    print(f"\n{run['size']} projects, {run['gems']} gems (filled in {run['fill_seconds']} s; "
          f"load average {run['load_average']:.1f} after)")
    print(f"{'path':32}{'app cold':>10}{'app warm':>10}{'FastAPI':>10}{'cold/FA':>8}{'warm/FA':>8}"
          f"{'p99 c/w ms':>13}{'bare':>8}{'front':>9}{'static':>9}{'fr/st':>7}")
    for label, row in run["results"].items():
        cold, warm, ref, bare, front, static = (row[k] for k in ("app cold", "app warm", "fastapi", "bare asgi", "front", "static"))
        print(f"{label:32}{cold['rps']:>10.0f}{warm['rps']:>10.0f}{ref['rps']:>10.0f}"
              f"{cold['rps'] / ref['rps']:>8.2f}{warm['rps'] / ref['rps']:>8.2f}"
              f"{cold['p99_ms']:>7.1f}/{warm['p99_ms']:<5.1f}{bare['rps']:>8.0f}{front['rps']:>9.0f}{static['rps']:>9.0f}"
              f"{row['front/static']:>7.2f}")


def compare(runs: list[dict]) -> None:
    """req/s of the app at the largest size against the smallest, per path (target: within 20%)."""
    small, large = runs[0], runs[-1]
    print(f"\napp req/s at {large['size']} projects / at {small['size']} (same run)")
    print(f"{'path':32}{'cold':>8}{'warm':>8}")
    for label, row in large["results"].items():
        base = small["results"][label]
        print(f"{label:32}" + "".join(f"{row[k]['rps'] / base[k]['rps']:>8.2f}" for k in ("app cold", "app warm")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, nargs="+", default=[1000],
                        help="one size, or several measured in turn on one growing registry (e.g. 1000 10000)")
    parser.add_argument("--gems", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--app-rounds", type=int, default=3, help="restarts (cold and warm runs) of the app per path")
    parser.add_argument("--front-rounds", type=int, default=3, help="pairs of front and plain nginx runs per path")
    parser.add_argument("--only", help="only the paths whose label contains this (e.g. 'root listing')")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    runs = measure(args.projects, args.gems, args.seconds, args.in_process, args.app_rounds, args.front_rounds, args.only)
    for run in runs:
        report(run)
    if len(runs) > 1:
        compare(runs)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(runs, handle, indent=1)


if __name__ == "__main__":
    main()
