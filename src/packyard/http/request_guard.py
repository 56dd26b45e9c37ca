"""Refuse, before any route runs, a request whose URL holds a NUL byte.

No name, version or file name may contain one, and PostgreSQL cannot even compare text with it,
so such a request can only be answered 400; checking here covers every route of every adapter
and of the management API at the cost of two substring tests.
"""

from __future__ import annotations

from starlette.types import Scope, Send

NUL_IN_URL = b"The request URL contains a NUL byte (%00); no name, version or file name can contain one.\n"


def url_has_nul(scope: Scope) -> bool:
    return "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")


async def refuse_nul_url(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(NUL_IN_URL)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": NUL_IN_URL})

