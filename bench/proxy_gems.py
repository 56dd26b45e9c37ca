"""RubyGems proxy reads: a proxied gem, once fetched, must cost what a local one costs.

    python bench/proxy_gems.py [--gems 50] [--seconds 5]

A second packyard is the upstream (filled with bench<i> gems); the proxy has local gems
local<i> and proxies the upstream. Measured beside each other in the same run, cold (proxy just
restarted: its memos empty, every upstream page still within the cache lifetime) and warm:
- `/info/<gem>` of a proxied gem vs of a local gem (target: the same req/s);
- `.gem` of a proxied gem already fetched vs of a local gem (target: the same req/s).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ThreadPoolExecutor

import httpx

from _harness import build_gems, push_gem, start_server, tempdir, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gems", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempdir()
    upstream = start_server(workdir / "upstream", access_log=False)
    proxy_env = {"PACKYARD_RUBYGEMS_UPSTREAM": f"{upstream.url}/rubygems/"}
    proxy = start_server(workdir / "proxy", access_log=False, workers=2, extra_env=proxy_env)
    try:
        for server, prefix in ((upstream, "bench"), (proxy, "local")):
            token = server.mint_token("rubygems:gem:*:write", user="bench")
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda path: push_gem(server.url, token, path),
                              build_gems(workdir / prefix, args.gems, prefix=prefix)))
        for path in ("/rubygems/versions", "/rubygems/info/bench1", "/rubygems/gems/bench1-1.0.0.gem"):
            httpx.get(proxy.url + path, timeout=60).raise_for_status()  # merged, cached, fetched
        cases = [
            ("/info proxied", "/rubygems/info/bench1"),
            ("/info local", "/rubygems/info/local1"),
            (".gem proxied (cached)", "/rubygems/gems/bench1-1.0.0.gem"),
            (".gem local", "/rubygems/gems/local1-1.0.0.gem"),
        ]
        print(f"{'case':24}{'cold req/s':>12}{'p99 ms':>9}{'warm req/s':>12}{'p99 ms':>9}")
        proxy.stop()  # cold: a fresh process, nothing in its memos
        proxy = start_server(proxy.data_dir, access_log=False, workers=2, backend=proxy.backend, extra_env=proxy_env)
        cold = {label: wrk(proxy.url + path, seconds=args.seconds) for label, path in cases}
        warm = {label: wrk(proxy.url + path, seconds=args.seconds) for label, path in cases}
        for label, _ in cases:
            c, w = cold[label], warm[label]
            flag = "!" if c["errors"] or w["errors"] else ""
            print(f"{label:24}{c['rps']:>12.0f}{c['p99_ms']:>9.1f}{w['rps']:>12.0f}{w['p99_ms']:>9.1f}{flag}")
    finally:
        for server in (proxy, upstream):
            server.stop()
            server.backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
