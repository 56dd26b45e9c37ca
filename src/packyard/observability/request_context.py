"""What a request learns about itself on the way, for its metrics and its access-log line.

The observing middleware puts a fresh `RequestRecord` in a context variable; code deeper down
notes the route template that matched (adapters, in their own dispatchers) and who the
credentials resolved to (`Registry.authenticate`), so the log line needs no second auth lookup.
Worker threads see the same record: anyio copies the context into them, and the record is shared.
"""

from __future__ import annotations

from contextvars import ContextVar


class RequestRecord:
    __slots__ = ("route", "user")

    def __init__(self) -> None:
        self.route: str | None = None  # a low-cardinality template, never the raw path
        self.user: str | None = None  # the user name the credentials resolved to; never a secret


CURRENT: ContextVar[RequestRecord | None] = ContextVar("packyard_request", default=None)


def note_route(template: str) -> None:
    """Name the matched route by its template, e.g. `/simple/{project}/` (no-op outside a request)."""
    record = CURRENT.get()
    if record is not None:
        record.route = template


def note_user(name: str) -> None:
    record = CURRENT.get()
    if record is not None:
        record.user = name
