"""Issue #13's target (the index read paths lose < 3% req/s with metrics on), counted in
instructions rather than timed: on this shared 2-core machine the req/s of the same server swing by
more than 3% from one run to the next, even pinned (`bench/metrics_pinned.py`), while the
instructions a request costs move by a few hundred at most (once the worker's idle work is taken
out, below), whatever else the machine does.

One worker (`packyard serve --workers 1`: uvicorn, uvloop, httptools, real sockets) runs under
valgrind's callgrind, with metrics off and then on. After a warm-up, the counters are zeroed
(`callgrind_control -z`), `--requests` keep-alive GETs of one path are sent one after another on
one connection, and the counters are dumped (`callgrind_control -d`): the worker's instructions per
request, less what the worker runs idle for as long (its timers, measured over 3 s with no
request), and the share metrics add. valgrind counts the worker's own (user-space) instructions; the
kernel's part of a request (recv, send, epoll) is not in the total, so that share is an upper bound
of what metrics take from a core-bound worker. So the same worker then runs without valgrind
(metrics on, pinned to one core, wrk on the other) and /proc gives its user and system time per
request: the estimated share of a read's CPU is the share of its user-space instructions times the
user part of its CPU time. Metrics' flush (once a second while counts change:
O(routes), not O(requests)) is moved out of the load, which runs ~50x slower under valgrind, where
it would weigh ~50x more than in a real run; `--with-flush` leaves it in.

The slowdown moves one more thing: a read from memory takes ~20-40 µs at native speed, under the
histogram's fastest bucket (0.5 ms), where it is counted with no bucket search; under valgrind it
takes longer than that, and each request pays for the search (`metrics.bucket`) it never pays in a
real run. So the bench reads the histogram before and after each measured load (under valgrind)
and after each wrk run (native), measures the search's instructions apart (the counting closure
called under callgrind with a fast and with a slow duration), and takes out the searches the
native run does not make: "corrected" below.

    python bench/metrics_instructions.py [--projects 30] [--gems 30] [--requests 3000] [--with-flush] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _harness import PIP_ACCEPT, discard, pin_server, populate_pypi, populate_rubygems, server_cpu_split, start, tempdir, wrk
from prometheus_client.parser import text_string_to_metric_families

from packyard.observability.metrics import DURATION_BUCKETS
from tests.support.server import RunningServer, launch_server, wait_ready

PATHS = {
    "rubygems /versions": ("/rubygems/versions", {}),
    "rubygems /info/<gem>": ("/rubygems/info/bench7", {}),
    "pypi project page (JSON)": ("/pypi/simple/bench-p-7/", {"Accept": PIP_ACCEPT}),
    "pypi project page (HTML)": ("/pypi/simple/bench-p-7/", {}),
    "pypi root listing (JSON)": ("/pypi/simple/", {"Accept": PIP_ACCEPT}),
}
ROUTES = {  # each path's series in packyard_read_duration_seconds
    "rubygems /versions": ("rubygems", "/versions"),
    "rubygems /info/<gem>": ("rubygems", "/info/{gem}"),
    "pypi project page (JSON)": ("pypi", "/simple/{project}/"),
    "pypi project page (HTML)": ("pypi", "/simple/{project}/"),
    "pypi root listing (JSON)": ("pypi", "/simple/"),
}
# The counting closure alone, called `n` times with a duration in the fastest bucket or beyond it.
BRANCH_SCRIPT = """\
import sys
from packyard.observability.metrics import Recorder
from packyard.observability.route_totals import RouteTotals
count, seconds, n = RouteTotals(Recorder(), "rubygems").count, float(sys.argv[1]), int(sys.argv[2])
for _ in range(n):
    count("/versions", 0, seconds, 100)
"""
BRANCH_CALLS = 100_000
# The flush (every second while counts change) is left out: the load runs ~50x slower under valgrind,
# so it would weigh ~50x more than it does; `--with-flush` keeps it.
VARIANTS = {"off": {"PACKYARD_METRICS": "false"}, "on": {"PACKYARD_METRICS_FLUSH_SECONDS": "3600"}}
SAME_HASHES = {"PYTHONHASHSEED": "0"}  # dict probes vary with the hash seed: a few hundred instructions a read
SERVED_CORE, CLIENT_CORE = 0, 1  # for the user/system split
IDLE_SECONDS = 3


def raw_get(path: str, headers: dict[str, str]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n{lines}\r\n".encode()


class KeepAliveClient:
    """Sends GETs one after another on one connection and reads each answer whole."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buffer = b""

    def get(self, raw: bytes) -> int:
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"\r\ncontent-length: (\d+)", head, re.I).group(1))
        while len(self.buffer) < length:
            self.buffer += self._recv()
        self.buffer = self.buffer[length:]
        return status

    def _recv(self) -> bytes:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


def counted(server: RunningServer, out: Path, action: Callable[[], None]) -> tuple[int, float]:
    """The worker's instructions from the counters' zeroing to their dump around `action`, and the
    seconds that took."""
    before = set(out.parent.glob(out.name + ".*"))
    started = time.monotonic()
    subprocess.run(["callgrind_control", "-z", str(server.process.pid)], check=True, capture_output=True)
    action()
    subprocess.run(["callgrind_control", "-d", str(server.process.pid)], check=True, capture_output=True)
    seconds = time.monotonic() - started
    (dump,) = set(out.parent.glob(out.name + ".*")) - before
    totals = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"), re.M)
    dump.unlink()
    return int(totals.group(1)), seconds


def idle_rate(server: RunningServer, out: Path) -> float:
    """Instructions a second the worker runs with no request: its timers (uvicorn's tick every
    0.1 s, ...). Under valgrind a request takes ~50x longer, so they would weigh ~50x more in a
    request's count than they do, and vary with how busy the machine is; they are taken out."""
    total, seconds = counted(server, out, lambda: time.sleep(IDLE_SECONDS))
    return total / seconds


def instructions(server: RunningServer, out: Path, raw: bytes, requests: int, idle: float,
                 searched: Callable[[], int] | None = None) -> tuple[float, float]:
    """The worker's instructions per request over `requests` GETs of `raw`, without its idle work;
    and the share of those requests `searched` (a count, read before and after) says were timed
    beyond the histogram's fastest bucket (0 without it)."""
    client = KeepAliveClient(server.port)
    try:
        for _ in range(50):  # warm: memos filled, code paths specialized
            assert client.get(raw) == 200

        def load() -> None:
            for _ in range(requests):
                assert client.get(raw) == 200

        before = searched() if searched else 0
        total, seconds = counted(server, out, load)
        slow = (searched() - before) / requests if searched else 0.0
    finally:
        client.close()
    return (total - idle * seconds) / requests, slow


def beyond_fastest(server: RunningServer, token: str, ecosystem: str, route: str) -> int:
    """Reads of the route the server's histogram counted beyond its fastest bucket so far."""
    text = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=300).text
    count = fastest = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != "packyard_read_duration_seconds":
            continue
        for sample in family.samples:
            if sample.labels.get("ecosystem") != ecosystem or sample.labels.get("route") != route:
                continue
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == DURATION_BUCKETS[0]:
                fastest = sample.value
    return int(count - fastest)


def search_instructions() -> float:
    """What counting a read costs more when its duration is beyond the fastest bucket (the search),
    from the counting closure alone under callgrind."""
    totals = []
    for seconds in (DURATION_BUCKETS[0] / 10, DURATION_BUCKETS[0] * 1.5):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", BRANCH_SCRIPT,
                            str(seconds), str(BRANCH_CALLS)], check=True, capture_output=True, env={**os.environ, **SAME_HASHES})
            totals.append(int(re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M).group(1)))
    return (totals[1] - totals[0]) / BRANCH_CALLS


def user_system(server: RunningServer, seconds: int, token: str) -> dict[str, tuple[float, float, float]]:
    """(user, system) CPU µs per request of each path, the worker on one core and wrk on the other;
    and the share of the requests timed beyond the histogram's fastest bucket."""
    pin_server(server, SERVED_CORE)
    split = {}
    for label, (path, headers) in PATHS.items():
        wrk(server.url + path, headers, seconds=1, connections=16, threads=1, cpu=CLIENT_CORE)  # warm
        slow = beyond_fastest(server, token, *ROUTES[label])
        user, system = server_cpu_split(server)
        result = wrk(server.url + path, headers, seconds=seconds, connections=16, threads=1, cpu=CLIENT_CORE)
        assert not result["errors"], result
        user_after, system_after = server_cpu_split(server)
        slow = (beyond_fastest(server, token, *ROUTES[label]) - slow) / result["requests"]
        split[label] = ((user_after - user) / result["requests"] * 1e6, (system_after - system) / result["requests"] * 1e6, slow)
        print(f"  {label}: {split[label][0]:.1f} µs user, {split[label][1]:.1f} µs system a request; "
              f"{slow:.2%} timed beyond the fastest bucket", flush=True)
    return split


def measure(args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], dict[str, tuple[float, float, float]]]:
    workdir = tempdir()
    seed = start(workdir, workers=1)
    counts: dict[str, dict[str, float]] = {label: {} for label in PATHS}
    try:
        populate_pypi(seed, args.projects, workdir)
        populate_rubygems(seed, args.gems, workdir)
        token = seed.mint_token("admin", user="root")  # to read /metrics
        for path, headers in PATHS.values():  # the first reads render what the uploads left stale: both variants
            client = KeepAliveClient(seed.port)  # then start from the same stored state
            client.get(raw_get(path, headers))
            client.close()
        seed.stop()
        for variant, env in VARIANTS.items():
            out = Path(tempfile.mkdtemp(prefix="packyard-callgrind-")) / "callgrind.out"
            server = wait_ready(launch_server(
                seed.data_dir, workers=1, backend=seed.backend, extra_env={**SAME_HASHES, **env}, access_log=False,
                command_prefix=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=yes"],
            ), timeout=600)
            try:
                idle = idle_rate(server, out)
                print(f"  [{variant}] idle: {idle:,.0f} instructions a second", flush=True)
                for label, (path, headers) in PATHS.items():
                    searched = (lambda label=label: beyond_fastest(server, token, *ROUTES[label])) if variant == "on" else None
                    counts[label][variant], counts[label][f"{variant} slow"] = instructions(
                        server, out, raw_get(path, headers), args.requests, idle, searched)
                    print(f"  {label} [{variant}]: {counts[label][variant]:,.0f} instructions a request"
                          + (f"; {counts[label]['on slow']:.1%} timed beyond the fastest bucket" if searched else ""), flush=True)
            finally:
                server.stop()
        server = wait_ready(launch_server(seed.data_dir, workers=1, backend=seed.backend, extra_env=SAME_HASHES, access_log=False))
        try:
            split = user_system(server, args.seconds, token)
        finally:
            server.stop()
        return counts, split
    finally:
        discard(seed, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=30)
    parser.add_argument("--gems", type=int, default=30)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--with-flush", action="store_true", help="metrics' flush every second, as configured by default")
    parser.add_argument("--seconds", type=int, default=5, help="wrk's run per path for the user/system split")
    parser.add_argument("--only", help="only the paths whose label contains this")
    args = parser.parse_args()
    for label in [label for label in PATHS if args.only and args.only not in label]:
        del PATHS[label]
    if args.with_flush:
        VARIANTS["on"] = {}
    counted, split = measure(args)
    search = search_instructions()
    print(f"\nthe bucket search: {search:,.0f} instructions a read (the counting closure, {BRANCH_CALLS:,} calls each way)")
    print(f"\n{'path':28}{'off':>10}{'on':>10}{'+':>8}{'slow vg/nat':>13}{'corrected +':>13}{'share':>8}{'user':>8}{'est. CPU':>10}")
    print("(instructions a request in the worker's user space; the share of reads timed beyond the fastest bucket under valgrind"
          " and natively; the added instructions less the searches a native run does not make; the user part of the CPU time;"
          " metrics' estimated share of it)")
    for label, by_variant in counted.items():
        off, on = by_variant["off"], by_variant["on"]
        user, system, native_slow = split[label]
        corrected = on - off - max(by_variant["on slow"] - native_slow, 0.0) * search
        share, user_part = corrected / (off + corrected), user / (user + system)
        print(f"{label:28}{off:>10,.0f}{on:>10,.0f}{on - off:>8,.0f}{by_variant['on slow']:>7.0%}/{native_slow:<5.1%}"
              f"{corrected:>13,.0f}{share:>8.1%}{user_part:>8.0%}{share * user_part:>10.1%}")


if __name__ == "__main__":
    main()
