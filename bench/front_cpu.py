"""nginx worker CPU per request on the RubyGems compact index: plain static nginx beside the same
files behind each way of sending the ETag sidecar (issue #9, the front >= 0.8x plain target); and
on a PyPI project page (pip's Accept), the shipped front beside plain nginx serving its index.json.

    python bench/front_cpu.py [--gems 100] [--rounds 5] [--seconds 4]

Every variant is one nginx (1 worker, no access log) over the same synthetic tree (`/info/<gem>`
of ~400 bytes, `/versions` of ~140 KB, each with its `.etag` sidecar as packyard writes it); wrk
-t1 -c8 cycles each in turn, in a shuffled order per round, and the worker's user+system CPU
(/proc/<pid>/stat) is divided by the requests it answered. CPU per request does not depend on the
machine's load the way req/s does. Variants:

- plain: `root` and a `location /`, no ETag (the reference);
- floor: the front's compact-index location with a constant ETag (regex location, set, if,
  add_header; no sidecar read): what any front that sends the app's headers costs at least;
- njs: the compact-index location with the njs sidecar read shipped before the switch to Lua
  (front_variants/packyard.js, `js_set`, `try_files`);
- lua-stat: the same location with the sidecar cached per worker and revalidated by one stat()
  (front_variants/etag_stat.lua), the alternative to inotify;
- front: deploy/nginx/ as shipped, rendered as for an operator (Lua, a cache drained of inotify
  events when packyard's `.generation` moves).

Needs nginx with libnginx-mod-http-js and libnginx-mod-http-lua (Debian 12), and wrk.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import re
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from _harness import PIP_ACCEPT, cpu_seconds

from packyard.documents.files import GENERATION, move_generation

HERE = Path(__file__).resolve().parent
PYPI_CASE = "pypi page JSON"  # the shipped front only, beside plain nginx serving index.json
VARIANTS = HERE / "front_variants"
DEPLOY = HERE.parent / "deploy" / "nginx"
MODULES = "/usr/lib/nginx/modules"

MAIN = """\
load_module {modules}/ngx_http_js_module.so;
load_module {modules}/ndk_http_module.so;
load_module {modules}/ngx_http_lua_module.so;
{user}
pcre_jit on;
daemon on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    {http}
    server {{
        listen 127.0.0.1:{port};
        {server}
    }}
}}
"""

FRONT = """\
root {data}/public;
set $packyard_etags {data}/public-etags;
etag off;
if_modified_since off;
error_page 418 = @app;
location @app {{ return 502; }}
location ~ ^/rubygems/(versions|names|info/[^/]+)$ {{
    set $packyard_file $uri;
    {etag}
    if ($packyard_etag_value = "") {{ return 418; }}
    types {{ }}
    default_type "text/plain; charset=utf-8";
    gzip off;
    add_header ETag $packyard_etag_value;
    add_header Cache-Control "max-age=60, public";
    add_header Last-Modified "";
    {missing}
}}
"""
LUA_STAT_HTTP = f'lua_package_path "{VARIANTS}/?.lua;;"; init_by_lua_block {{ etag_stat = require "etag_stat" }}'
LUA_STAT_CALL = 'set_by_lua $packyard_etag_value "return etag_stat.etag(ngx.arg[1])" "{data}/public-etags$uri.etag";'


def variants(data: Path) -> dict[str, tuple[str, str]]:
    """name -> (http-level directives, server-level directives)."""
    def front(etag: str, missing: str = "error_page 404 = @app;") -> str:
        return FRONT.format(data=data, etag=etag, missing=missing)
    return {
        "plain": ("", f'root {data}/public; etag off; location / {{ default_type "text/plain; charset=utf-8"; add_header Cache-Control "max-age=60, public"; }}'),
        "floor": ("", front('set $packyard_etag_value "\\"x\\"";')),
        "njs": (f'js_path "{VARIANTS}/"; js_import packyard from packyard.js; js_set $packyard_etag packyard.etag;',
                front("set $packyard_etag_value $packyard_etag;", "try_files $uri @app;")),
        "lua-stat": (LUA_STAT_HTTP, front(LUA_STAT_CALL.format(data=data))),
        "front": (render("packyard-http.conf", data), render("packyard-locations.conf", data)),
    }


def render(name: str, data: Path) -> str:
    """A deploy/nginx/ template filled in as docs/nginx.md says (no app behind it: nothing here reaches it)."""
    text = (DEPLOY / f"{name}.template").read_text()
    return text.replace("${PACKYARD_DATA_DIR}", str(data)).replace("${PACKYARD_APP}", "127.0.0.1:9")


def fill(data: Path, gems: int) -> dict[str, str]:
    """The public tree and its sidecars; returns path -> expected ETag."""
    expected = {}
    def put(key: str, body: bytes) -> None:
        for root, content in (("public", body), ("public-etags", None)):
            path = data / root / "rubygems" / (key if content is not None else key + ".etag")
            path.parent.mkdir(parents=True, exist_ok=True)
            tag = f'"{hashlib.md5(body).hexdigest()}"'
            sidecar = f"{tag}\n{base64.b64encode(hashlib.sha256(body).digest()).decode()}"  # as packyard writes it
            path.write_bytes(content if content is not None else sidecar.encode())
            expected[f"/rubygems/{key}"] = tag
    for i in range(gems):
        put(f"info/gem{i}", b"---\n" + b"".join(
            b"%d.0.%d |checksum:%s\n" % (i, j, hashlib.sha256(b"%d" % j).hexdigest().encode()) for j in range(5)))
    put("versions", b"created_at: 2024-01-01T00:00:00Z\n---\n" + b"".join(
        b"gem%d 1.0.0 %s\n" % (i, hashlib.md5(b"%d" % i).hexdigest().encode()) for i in range(3000)))
    for i in range(gems):  # PyPI project pages: no sidecar, nginx's own ETag (packyard sets the mtime)
        page = data / "public" / "pypi" / "simple" / f"project{i}" / "index.json"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes(b'{"meta": {"api-version": "1.1"}, "name": "project%d", "files": [%s]}' % (i, b", ".join(
            b'{"filename": "project%d-1.0.%d-py3-none-any.whl", "hashes": {"sha256": "%s"}}' % (i, j, hashlib.sha256(b"%d" % j).hexdigest().encode())
            for j in range(5))))
    move_generation(data / "public-etags" / GENERATION)  # as packyard after writing sidecars
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gems", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    masters: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        expected = fill(data, args.gems)
        versions = (data / "public" / "rubygems" / "versions").read_bytes()
        running = {}
        try:
            for name, (http, server) in variants(data).items():
                prefix = Path(tmp) / name
                prefix.mkdir()
                port = 18900 + len(running)
                (prefix / "nginx.conf").write_text(MAIN.format(
                    modules=MODULES, user="user root root;" if os.geteuid() == 0 else "", prefix=prefix,
                    http=http, port=port, data=data, server=server))
                args_ = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
                subprocess.run(args_, check=True)
                deadline = time.monotonic() + 10
                while not (prefix / "nginx.pid").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                master = int((prefix / "nginx.pid").read_text())
                masters.append(master)
                time.sleep(0.3)
                worker = int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])
                running[name] = (port, worker)
            for name, (port, _) in running.items():
                for path, tag in expected.items():
                    if path.endswith(("gem0", "versions")):
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
                            sent = answer.headers.get("ETag")
                            assert answer.status == 200 and (name in ("plain", "floor") or sent == tag), (name, path, sent)
            tail = f"bytes={len(versions) - 200}-"  # bundler's Range after an append
            cases = {"/info/<gem>": ("/rubygems/info/gem7", []), "/versions": ("/rubygems/versions", []),
                     "/versions tail": ("/rubygems/versions", ["-H", f"Range: {tail}"]),
                     PYPI_CASE: ("/pypi/simple/project7/", ["-H", f"Accept: {PIP_ACCEPT}"])}
            results: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for case, (path, headers) in cases.items():
                    order = [name for name in running if case != PYPI_CASE or name in ("plain", "front")]
                    random.shuffle(order)
                    for name in order:
                        port, worker = running[name]
                        target = path
                        if case == PYPI_CASE and name == "plain":  # the file itself, as front_reads.py's static nginx
                            target = "/pypi/simple/project7/index.json"
                        before = cpu_seconds(worker)
                        out = subprocess.run(["wrk", "-t1", "-c8", f"-d{args.seconds}s", *headers, f"http://127.0.0.1:{port}{target}"],
                                             capture_output=True, text=True, check=True).stdout
                        spent = cpu_seconds(worker) - before
                        requests = int(re.search(r"(\d+) requests in", out).group(1))
                        results.setdefault((case, name), []).append(spent / requests * 1e6)
            print("load average at the end (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
            print(f"{'case':15s} {'variant':12s} {'µs/req':>7s} {'plain/this':>10s}  rounds")
            for case in cases:
                plain = statistics.median(results[(case, "plain")])
                for name in (name for name in running if (case, name) in results):
                    spent = statistics.median(results[(case, name)])
                    rounds = " ".join(f"{x:.1f}" for x in results[(case, name)])
                    print(f"{case:15s} {name:12s} {spent:7.1f} {plain / spent:10.2f}  {rounds}")
        finally:
            for master in masters:
                os.kill(master, signal.SIGQUIT)


if __name__ == "__main__":
    main()
