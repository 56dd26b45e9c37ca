"""The JSON access-log lines a test server wrote (its stdout goes to its log file)."""

from __future__ import annotations

import json
import time

from tests.support.server import RunningServer


def access_lines(server: RunningServer) -> list[dict]:
    lines = []
    for text in server.log().splitlines():
        if text.startswith("{") and '"request_id"' in text:
            lines.append(json.loads(text))
    return lines


def line_for(server: RunningServer, request_id: str, timeout: float = 5) -> dict:
    """The line of one request (written just after its answer, so wait a moment for it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in access_lines(server) if line["request_id"] == request_id]
        if found:
            assert len(found) == 1, found
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no access-log line with request_id {request_id!r}:\n{server.log()[-3000:]}")
        time.sleep(0.05)
