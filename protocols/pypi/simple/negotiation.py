"""PEP 691 content negotiation for the simple repository API.

pip sends ``...+html; q=0.1`` (space before ``q``) and uv ``...+html;q=0.2``; both forms
must parse and both clients must get JSON.  No ``Accept`` (or ``*/*``) gives HTML, a
``?format=`` query value overrides ``Accept``, and the ``latest`` aliases are answered
with the concrete v1 type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"

_LATEST_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
}

# Server preference on a tie, as Warehouse: plain HTML first, JSON last.
SUPPORTED = (TEXT_HTML, HTML_V1, JSON_V1)

# Content-Type header value for each negotiated type.
CONTENT_TYPE_HEADER = {
    TEXT_HTML: "text/html; charset=utf-8",
    HTML_V1: HTML_V1,
    JSON_V1: JSON_V1,
}


class NotAcceptable(Exception):
    """No representation the client accepts: answer 406 with this message."""


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How closely this range matches ``media_type`` (2 exact, 1 ``type/*``, 0 ``*/*``)."""
        mtype, _, msub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == mtype and self.subtype == "*":
            return 1
        if self.type == mtype and self.subtype == msub:
            return 2
        return None


def _parse_q(value: str) -> float | None:
    try:
        q = float(value)
    except ValueError:
        return None
    if not 0.0 <= q <= 1.0:
        return None
    return q


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an ``Accept`` header into media ranges; malformed entries are dropped."""
    ranges: list[MediaRange] = []
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        if not media:
            continue
        media = _LATEST_ALIASES.get(media, media)
        mtype, sep, msub = media.partition("/")
        if not sep or not mtype or not msub:
            continue
        q: float | None = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                q = _parse_q(value.strip())
        if q is None:
            continue
        ranges.append(MediaRange(mtype, msub, q))
    return ranges


@lru_cache(maxsize=512)  # on every page read; clients send a handful of distinct values
def select_media_type(accept: str | None, format_param: str | None = None) -> str:
    """Return the concrete media type to answer with, or raise :class:`NotAcceptable`."""
    if format_param is not None:
        wanted = format_param.strip().lower()
        wanted = _LATEST_ALIASES.get(wanted, wanted)
        if wanted in SUPPORTED:
            return wanted
        raise NotAcceptable(
            f"Unsupported format '{format_param}'. Use one of: " + ", ".join(SUPPORTED) + "."
        )
    if accept is None or not accept.strip():
        return TEXT_HTML
    ranges = parse_accept(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for preference, media_type in enumerate(SUPPORTED):
        match: tuple[int, float] | None = None
        for media_range in ranges:
            spec = media_range.specificity(media_type)
            if spec is not None and (match is None or spec > match[0]):
                match = (spec, media_range.q)
        if match is None or match[1] <= 0:
            continue
        key = (match[1], match[0], -preference)
        if best is None or key > best:
            best, chosen = key, media_type
    if chosen is None:
        raise NotAcceptable(
            f"None of the requested media types ({accept}) is available. "
            "This index serves: " + ", ".join(SUPPORTED) + "."
        )
    return chosen
