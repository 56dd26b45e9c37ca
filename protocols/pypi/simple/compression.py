"""Gzip variants of the simple pages, compressed when a change renders a page, never on a read.

The root listing grows with the registry (438 KB of JSON at 10,000 projects, 44 bytes a project),
so serving it is bound by the bytes copied, not by the work per request; gzip cuts it about nine
times. pip, uv and browsers all send `Accept-Encoding: gzip`. Each variant is a document of its
own, `<key>.gz` beside the page's key, so the store, its copies, the memo and the hot path keep
it like any page, and the nginx front serves the same file with `gzip_static` (docs/nginx.md).

Both root listings always have one; a project page only from `GZIP_MIN_BYTES` up (a few files'
page gains little, and a gzip variant costs its reader a second lookup). A request with a Range
gets the identity body (its offsets would otherwise count compressed bytes).
"""

from __future__ import annotations

import gzip
from functools import lru_cache

GZIP_MIN_BYTES = 8192
GZ_SUFFIX = ".gz"
# zlib's default: 3.4 ms for the 438 KB listing against 23 ms at level 9, for 6% more bytes
_LEVEL = 6


def gzipped(body: bytes) -> bytes:
    """The same bytes for the same body (no timestamp, no name): every process and every render
    of a page gives its variant the same ETag."""
    return gzip.compress(body, _LEVEL, mtime=0)


def wants_gzip_variant(body: bytes) -> bool:
    return len(body) >= GZIP_MIN_BYTES


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """`Accept-Encoding` names gzip with a non-zero weight, as nginx's `gzip_static` decides it
    (`*` and `x-gzip` do not count, nor a parameter other than `q`), so the app and the front pick
    the same variant."""
    if not accept_encoding:
        return False
    for item in accept_encoding.lower().split(","):
        coding, semicolon, params = item.partition(";")
        if coding.strip() != "gzip":
            continue
        if not semicolon:
            return True
        name, _, value = params.partition("=")
        try:
            return name.strip() == "q" and float(value) > 0
        except ValueError:
            return False
    return False
