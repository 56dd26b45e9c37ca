"""Issue #13's target (the index read paths lose < 3% req/s with metrics on), counted in
instructions rather than timed: on this shared 2-core machine the req/s of the same server swing by
more than 3% from one run to the next, even pinned (`bench/metrics_pinned.py`), while the
instructions a request costs are the same from run to run, whatever else the machine does.

One worker (`packyard serve --workers 1`: uvicorn, uvloop, httptools, real sockets) runs under
valgrind's callgrind, with metrics off and then on. After a warm-up, the counters are zeroed
(`callgrind_control -z`), `--requests` keep-alive GETs of one path are sent one after another on
one connection, and the counters are dumped (`callgrind_control -d`): the worker's instructions per
request, and the share metrics add. valgrind counts the worker's own (user-space) instructions; the
kernel's part of a request (recv, send, epoll) is not in the total, so the share is an upper bound
of what metrics take from a core-bound worker. Metrics' flush (once a second while counts change:
O(routes), not O(requests)) is moved out of the load, which runs ~50x slower under valgrind, where
it would weigh ~50x more than in a real run; `--with-flush` leaves it in.

    python bench/metrics_instructions.py [--projects 30] [--gems 30] [--requests 3000] [--with-flush]
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import tempfile
from pathlib import Path

from _harness import PIP_ACCEPT, discard, populate_pypi, populate_rubygems, start, tempdir

from tests.support.server import RunningServer, launch_server, wait_ready

PATHS = {
    "rubygems /versions": ("/rubygems/versions", ""),
    "rubygems /info/<gem>": ("/rubygems/info/bench7", ""),
    "pypi project page (JSON)": ("/pypi/simple/bench-p-7/", f"Accept: {PIP_ACCEPT}\r\n"),
    "pypi project page (HTML)": ("/pypi/simple/bench-p-7/", ""),
    "pypi root listing (JSON)": ("/pypi/simple/", f"Accept: {PIP_ACCEPT}\r\n"),
}
# The flush (every second while counts change) is left out: the load runs ~50x slower under valgrind,
# so it would weigh ~50x more than it does; `--with-flush` keeps it.
VARIANTS = {"off": {"PACKYARD_METRICS": "false"}, "on": {"PACKYARD_METRICS_FLUSH_SECONDS": "3600"}}


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


def instructions(server: RunningServer, out: Path, raw: bytes, requests: int) -> float:
    """The worker's instructions per request over `requests` GETs of `raw`."""
    client = KeepAliveClient(server.port)
    try:
        for _ in range(50):  # warm: memos filled, code paths specialized
            assert client.get(raw) == 200
        before = set(out.parent.glob(out.name + ".*"))
        subprocess.run(["callgrind_control", "-z", str(server.process.pid)], check=True, capture_output=True)
        for _ in range(requests):
            assert client.get(raw) == 200
        subprocess.run(["callgrind_control", "-d", str(server.process.pid)], check=True, capture_output=True)
    finally:
        client.close()
    (dump,) = set(out.parent.glob(out.name + ".*")) - before
    totals = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"), re.M)
    dump.unlink()
    return int(totals.group(1)) / requests


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    workdir = tempdir()
    seed = start(workdir, workers=1)
    counted: dict[str, dict[str, float]] = {label: {} for label in PATHS}
    try:
        populate_pypi(seed, args.projects, workdir)
        populate_rubygems(seed, args.gems, workdir)
        for path, headers in PATHS.values():  # the first reads render what the uploads left stale: both variants
            client = KeepAliveClient(seed.port)  # then start from the same stored state
            client.get(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
            client.close()
        seed.stop()
        for variant, env in VARIANTS.items():
            out = Path(tempfile.mkdtemp(prefix="packyard-callgrind-")) / "callgrind.out"
            server = wait_ready(launch_server(
                seed.data_dir, workers=1, backend=seed.backend, extra_env=env, access_log=False,
                command_prefix=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=yes"],
            ), timeout=600)
            try:
                for label, (path, headers) in PATHS.items():
                    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n{headers}\r\n".encode()
                    counted[label][variant] = instructions(server, out, raw, args.requests)
                    print(f"  {label} [{variant}]: {counted[label][variant]:,.0f} instructions a request", flush=True)
            finally:
                server.stop()
        return counted
    finally:
        discard(seed, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=30)
    parser.add_argument("--gems", type=int, default=30)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--with-flush", action="store_true", help="metrics' flush every second, as configured by default")
    args = parser.parse_args()
    if args.with_flush:
        VARIANTS["on"] = {}
    counted = measure(args)
    print(f"\n{'path':28}{'off':>10}{'on':>10}{'+':>8}{'share':>8}   (instructions a request in the worker, user space)")
    for label, by_variant in counted.items():
        off, on = by_variant["off"], by_variant["on"]
        print(f"{label:28}{off:>10,.0f}{on:>10,.0f}{on - off:>8,.0f}{1 - off / on:>8.1%}")


if __name__ == "__main__":
    main()
