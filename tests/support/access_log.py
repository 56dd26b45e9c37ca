"""The JSON access-log lines a test server wrote (its stdout goes to its log file)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import TypeVar

from tests.support.server import RunningServer

T = TypeVar("T")


def access_lines(server: RunningServer, since: int = 0) -> list[dict]:
    """Every access-log line, from character `since` of the server's log on."""
    return parse_access_lines(server.log()[since:])


def parse_access_lines(log: str, containing: str = "") -> list[dict]:
    """The access-log lines in `log`; with `containing`, only those whose text has it (parsed alone).

    Only whole lines: a worker may be writing the last one while the test reads the file."""
    whole = log[:log.rfind("\n") + 1]
    return [json.loads(text) for text in whole.splitlines()
            if text.startswith("{") and '"request_id"' in text and containing in text]


def requested(server: RunningServer, method: str, path: str, since: int = 0) -> bool:
    """Whether the server answered `method` for exactly `path` (with its query, if any) after `since`."""
    return any(line["method"] == method and line["path"] + (f"?{line['query']}" if "query" in line else "") == path
               for line in access_lines(server, since))


def line_for(server: RunningServer, request_id: str, timeout: float = 5) -> dict:
    """The line of one request (written just after its answer, so wait a moment for it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in parse_access_lines(server.log(), request_id) if line["request_id"] == request_id]
        if found:
            assert len(found) == 1, found
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no access-log line with request_id {request_id!r}:\n{server.log()[-3000:]}")
        time.sleep(0.05)


def until_workers_answered(call, workers: int, *, timeout: float = 60, burst: int = 8) -> set[int]:
    """Run `call(i)` (one request; returns the pid of the worker that answered it, e.g. by its
    `line_for`) in concurrent bursts until `workers` different workers have answered; their pids.

    Concurrent, because one after the other, new connections on a loaded machine can all go to
    the same worker for many seconds (every idle worker is woken by a connection, and the same one
    keeps winning the accept); while that worker is busy, the others get the connections."""
    from concurrent.futures import ThreadPoolExecutor

    answered: set[int] = set()
    deadline = time.monotonic() + timeout
    calls = 0
    with ThreadPoolExecutor(burst) as pool:
        while len(answered) < workers:
            assert time.monotonic() < deadline, f"only workers {sorted(answered)} answered {calls} requests"
            answered.update(pool.map(call, range(calls, calls + burst)))
            calls += burst
    return answered


_read_ids = itertools.count()


def from_every_worker(server: RunningServer, workers: int, read: Callable[[dict[str, str]], T]) -> list[T]:
    """What each of `workers` workers answers: `read(headers)` makes one request with `headers`
    (its X-Request-ID tells which worker answered) and returns what the test checks; it is called
    (`until_workers_answered`) until every worker has answered at least once. Every result."""
    results: list[T] = []

    def call(_: int) -> int:
        request_id = f"every-worker-{next(_read_ids)}"
        results.append(read({"X-Request-ID": request_id}))
        return line_for(server, request_id)["pid"]

    until_workers_answered(call, workers)
    return results
