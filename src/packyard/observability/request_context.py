"""What a request notes about itself on the way, for its metrics and its access-log line.

Notes go into the request's ASGI scope, the dict uvicorn made for it and holds until the answer
is complete (`observer.Observer.answered` reads them there): the route template that matched
(adapters, in their own dispatchers; FastAPI's router leaves its route in `scope["route"]`), the
ecosystem (`app.EcosystemDispatch`) and, while the access log is on, the user the credentials
resolved to (`Registry.authenticate`, which has no scope at hand: it reaches the scope through a
context variable, which anyio copies into worker threads).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

ROUTE = "packyard.route"  # a low-cardinality template, never the raw path
ECOSYSTEM = "packyard.ecosystem"  # the adapter that answered; absent for everything else
USER = "packyard.user"  # the user name the credentials resolved to; never a secret
REQUEST_ID = "packyard.request_id"

# The scope of the request being answered, set only while the access log needs the user.
CURRENT: ContextVar[dict[str, Any] | None] = ContextVar("packyard_request", default=None)


def note_route(scope: dict[str, Any], template: str) -> None:
    """Name the matched route by its template, e.g. `/simple/{project}/`."""
    scope[ROUTE] = template


def note_user(name: str) -> None:
    """No-op unless the access log is on (nothing else reads it)."""
    scope = CURRENT.get()
    if scope is not None:
        scope[USER] = name
