"""One JSON line per request on the `packyard.access` logger (stdout by default).

Fields: `time` (UTC, ISO 8601), `request_id`, `method`, `path`, `query` (when there is one),
`status`, `duration_ms`, `bytes` (response body bytes sent), `user` (the name the request's
credentials resolved to, or null; never a token or password), `ecosystem`, `route`, `remote`,
`user_agent` and `pid` (the worker that answered).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
from datetime import datetime, timezone

log = logging.getLogger("packyard.access")

# An incoming X-Request-ID is kept when it is short and plain (it goes into logs and a header);
# anything else is replaced by one of ours.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
_MAX_USER_AGENT = 256
# A packyard token pasted into a URL or a user agent is cut out of the line: `pky_` and exactly the
# 43 URL-safe characters of its secret (auth/secrets.py), so a name like `pky_app-1.0` stays as it is.
_TOKEN = re.compile(r"pky_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


class RequestIds:
    """Ids unique across processes and restarts: a random per-process prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count(1)

    def new(self) -> str:
        return self._prefix + str(next(self._counter))


def sane_request_id(value: bytes) -> str | None:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if _SANE_REQUEST_ID.fullmatch(text) else None


def configure() -> None:
    """Send access lines, as they are, to stdout (operators route them with the logging config)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _scrub(text: str) -> str:
    return _TOKEN.sub("pky_[redacted]", text) if "pky_" in text else text


def write(*, request_id: str, method: str, path: str, query: bytes, status: int, seconds: float, sent: int,
          user: str | None, ecosystem: str, route: str, remote: str | None, user_agent: bytes | None) -> None:
    line = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": request_id,
        "method": method,
        "path": _scrub(path),
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "bytes": sent,
        "user": user,
        "ecosystem": ecosystem,
        "route": route,
        "remote": remote,
        "user_agent": _scrub(user_agent.decode("latin-1")[:_MAX_USER_AGENT]) if user_agent else None,
        "pid": os.getpid(),
    }
    if query:
        line["query"] = _scrub(query.decode("latin-1"))
    log.info(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
