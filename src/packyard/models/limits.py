"""What the database can store, checked before a value reaches it.

PostgreSQL refuses NUL in text and lone UTF-16 surrogates in text and JSON, and a value longer
than its column; SQLite stores all three. Every route checks names and fields against these
rules first, so both backends answer the same clear 400 instead of a 500 from the driver.
The column widths in `packyard.models` are these constants; an ecosystem's own name and version
limits (`ProtocolAdapter.max_name_length`, `max_version_length`) may be tighter, never wider.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from packyard.errors import BadRequest

# Column widths (the models use these).
NAME_COLUMN_LENGTH = 255  # package.name / normalized_name
VERSION_COLUMN_LENGTH = 255  # version.version
FILENAME_LENGTH = 255  # artifact.filename; also what most filesystems allow for one name
PLATFORM_LENGTH = 100  # artifact.platform
REASON_LENGTH = 1000  # yank reasons, status reasons
TOKEN_NAME_LENGTH = 200
USER_NAME_LENGTH = 100

# Row ids are INTEGER columns on PostgreSQL; a larger number cannot name a row.
MAX_ROW_ID = 2**31 - 1
# Page numbers of listings: beyond this the offset is absurd (and PostgreSQL's BIGINT would overflow).
MAX_PAGE = 1_000_000

# Default limits of an ecosystem: names used in practice stay well under 100 characters.
DEFAULT_MAX_NAME_LENGTH = 100
DEFAULT_MAX_VERSION_LENGTH = 64


def unstorable_reason(value: str) -> str | None:
    """Why the database cannot store ``value`` as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL byte"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it contains a lone surrogate)"
    return None


def check_text(value: str, what: str, max_length: int | None = None) -> str:
    """``value`` unchanged, or BadRequest saying why the database cannot store it."""
    reason = unstorable_reason(value)
    if reason is not None:
        raise BadRequest(f"The {what} {reason}; remove it and try again.")
    if max_length is not None and len(value) > max_length:
        raise BadRequest(f"The {what} is {len(value)} characters long; the limit is {max_length}.")
    return value


def check_json(value: Any, what: str) -> Any:
    """``value`` unchanged when every string in it (keys included) can be stored in a JSON column.

    NUL is fine there (it is stored escaped); a lone surrogate is not.
    """
    if isinstance(value, str):
        reason = unstorable_reason(value.replace("\x00", ""))
        if reason is not None:
            raise BadRequest(f"The {what} {reason}; remove it and try again.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(key, what)
            check_json(item, what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_json(item, what)
    return value


def _storable(value: str) -> str:
    reason = unstorable_reason(value)
    if reason is not None:
        raise ValueError(f"the text {reason}")
    return value


StorableStr = Annotated[str, AfterValidator(_storable)]
"""A pydantic string field the database can store (use with ``Field(max_length=...)``)."""
