"""The hot path: an anonymous GET or HEAD of a document this process holds in memory, answered by
packyard's HTTP protocol (`protocol.py`) as soon as the request's headers are parsed, without
running the ASGI app.

Through the app, every request costs uvicorn a request cycle, an asyncio task, the ASGI messages
and its checks of every header sent: about two thirds of what a read answered from the memo costs
(39-45 µs against 13-17 µs in process), and what kept the app's reads near a bare FastAPI route's
speed (bench/README.md, issue #9). An adapter offers a lookup (`ProtocolAdapter.hot_reads`) that
only ever answers from memory, never waits for I/O and never needs credentials. Everything else
takes the ordinary path through the app: a lookup that misses (or fails), credentials, a query
string, an escaped path, a request body, a blob to stream (`rep.body` None), pipelined requests
waiting behind one in progress, and every request while the access log is on (its line wants what
the app notes, and the forwarded client address uvicorn's proxy-headers middleware sets). So the
hot path changes how fast a request is answered, never what: its answer is `serve.decide`'s.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Literal, NamedTuple

from packyard.http.serve import Representation, conditions, decide, head_lines
from packyard.observability.observer import CountKey

# (path below the mount point, e.g. "/simple/foo/"; the request's headers) ->
# (the representation to serve, the route template for the metrics), or None: not in memory.
Lookup = Callable[[str, list[tuple[bytes, bytes]]], "tuple[Representation, str] | None"]


@dataclass(frozen=True)
class HotReads:
    """One adapter's offer: its lookup, and the policy it gives `serve` for a range past the end."""

    lookup: Lookup
    unsatisfiable: Literal["416", "full"] = "416"
    ecosystem: str = ""  # the mount prefix, set by `install`: one string object, so counting it needs no compare


TABLE: dict[str, HotReads] = {}  # by mount prefix ("pypi"); this process's, set by `create_app`
COUNT: CountKey | None = None  # how the hot path counts an answer (`observer.key_counter`); None: metrics off


def install(table: dict[str, HotReads], count: CountKey | None) -> None:
    """This process's offers (empty: every request goes to the app) and its counter."""
    global COUNT
    TABLE.clear()
    TABLE.update({prefix: replace(offer, ecosystem=sys.intern(prefix)) for prefix, offer in table.items()})
    COUNT = count


STATUS_LINES = {status: f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode() for status in (200, 206, 304, 416)}  # uvicorn's

# Request headers that send the request to the app: credentials, a body, a 100-continue wait.
_TO_APP = frozenset((b"authorization", b"content-length", b"transfer-encoding", b"expect"))


class HotAnswer(NamedTuple):
    """A tuple: one is made per request. Its last four fields are the metrics key, `answer[METRICS_KEY]`
    (one slice, where building the key field by field cost a fifth of counting a read)."""

    header_lines: bytes  # "name: value\r\n" each, without the status line and the server's own headers
    body: bytes  # empty for HEAD
    ecosystem: str
    route: str
    method: str
    status: int


METRICS_KEY = slice(2, None)  # (ecosystem, route, method, status), as `observer.key_counter` counts them


def answer(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> HotAnswer | None:
    """The answer to this request from memory, or None: the app answers it."""
    if method not in (b"GET", b"HEAD") or target[:1] != b"/" or b"?" in target or b"%" in target or b"#" in target:
        return None
    try:
        path = target.decode("ascii")
    except UnicodeDecodeError:
        return None
    ecosystem, _, below = path[1:].partition("/")
    offer = TABLE.get(ecosystem)
    if offer is None:
        return None
    wanted = conditions(headers, _TO_APP)
    if wanted is None:
        return None
    if_none_match, range_header, if_range = wanted
    found = offer.lookup("/" + below, headers)
    if found is None:
        return None
    rep, route = found
    if rep.body is None:
        return None
    get = method == b"GET"
    if if_none_match is None and range_header is None:  # the common case: lines built once per representation
        return HotAnswer(rep.whole_lines, rep.body if get else b"", offer.ecosystem, route, "GET" if get else "HEAD", 200)
    decided = decide(rep, if_none_match, range_header, if_range, offer.unsatisfiable)
    return HotAnswer(head_lines(decided.headers), decided.body_of(rep.body) if get else b"", offer.ecosystem, route,
                     "GET" if get else "HEAD", decided.status)
