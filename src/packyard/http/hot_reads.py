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

from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Literal, NamedTuple

from packyard.http.serve import Representation, conditions, decide, head_lines
from packyard.observability.metrics import Recorder
from packyard.observability.route_totals import KIND_OF_STATUS, CountRoute, RouteTotals

# (path below the mount point, e.g. "/simple/foo/"; the request's headers) ->
# (the representation to serve, the route template for the metrics), or None: not in memory.
Lookup = Callable[[str, list[tuple[bytes, bytes]]], "tuple[Representation, str] | None"]


@dataclass(frozen=True)
class HotReads:
    """One adapter's offer: its lookup, and the policy it gives `serve` for a range past the end."""

    lookup: Lookup
    unsatisfiable: Literal["416", "full"] = "416"
    count: CountRoute | None = None  # set by `install`: this ecosystem's `RouteTotals.count`; None: metrics off


TABLE: dict[str, HotReads] = {}  # by mount prefix ("pypi"); this process's, set by `create_app`
TIMED = False  # metrics on: the hot path times its answers (one clock read less per read when off)


def install(table: dict[str, HotReads], recorder: Recorder | None) -> None:
    """This process's offers (empty: every request goes to the app), counted in `recorder` (None: metrics off)."""
    global TIMED
    TABLE.clear()
    TABLE.update({prefix: replace(offer, count=None if recorder is None else RouteTotals(recorder, prefix).count)
                  for prefix, offer in table.items()})
    TIMED = recorder is not None


STATUS_LINES = {status: f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode() for status in (200, 206, 304, 416)}  # uvicorn's

# Request headers that send the request to the app: credentials, a body, a 100-continue wait.
_TO_APP = frozenset((b"authorization", b"content-length", b"transfer-encoding", b"expect"))


class HotAnswer(NamedTuple):
    """A tuple: one is made per request, and the protocol unpacks it in one step."""

    status: int
    header_lines: bytes  # "name: value\r\n" each, without the status line and the server's own headers
    body: bytes  # empty for HEAD
    count: CountRoute | None  # the offer's: how to count this answer; None: metrics off
    route: str  # the route template, for the metrics
    kind: int  # the answer's method and status, as `RouteTotals` numbers them


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
    head = method == b"HEAD"
    if if_none_match is None and range_header is None:  # the common case: lines built once per representation
        return HotAnswer(200, rep.whole_lines, b"" if head else rep.body, offer.count, route, 1 if head else 0)
    decided = decide(rep, if_none_match, range_header, if_range, offer.unsatisfiable)
    return HotAnswer(decided.status, head_lines(decided.headers), b"" if head else decided.body_of(rep.body), offer.count,
                     route, KIND_OF_STATUS[decided.status] + (1 if head else 0))
