"""Dependency failures turned into the core's retryable errors, in one place.

The database layer (`db.py`) and the blob storage (`storage/`) pass every exception they see through
these functions; what they recognise comes out as a `ServiceUnavailable` (503 + Retry-After: the
dependency is down, slow or busy, retrying later works) or an `InsufficientStorage` (507: the disk or
the object store refused the bytes). Anything else is a bug and is left alone. Redis never gets this
far: `redis_guard.py` turns its failures into fallbacks instead of errors.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from packyard.errors import InsufficientStorage, ServiceUnavailable

RETRY_AFTER_SECONDS = 5

_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}

DATABASE_DOWN = (
    "The registry's database is unavailable right now ({reason}); nothing was changed. "
    "Retry in a few seconds; if this persists, tell the registry's admin."
)
DATABASE_BUSY = (
    "The registry is busy ({reason}); nothing was changed. Retry in a few seconds."
)
DISK_FULL = (
    "Insufficient storage: the registry could not store the data ({reason}); nothing was stored. "
    "Ask the registry's admin to free space, then retry."
)


def disk_fault(exc: BaseException) -> InsufficientStorage | None:
    """An OSError saying the disk is full, over quota or read-only."""
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return InsufficientStorage(DISK_FULL.format(reason=exc.strerror or errno.errorcode.get(exc.errno, "disk error")))
    return None


@contextmanager
def disk_faults_as_errors() -> Iterator[None]:
    """Raise a full or read-only disk as InsufficientStorage (the caller cleans up its partial files)."""
    try:
        yield
    except OSError as exc:
        fault = disk_fault(exc)
        if fault is None:
            raise
        raise fault from exc


def database_fault(exc: BaseException) -> ServiceUnavailable | InsufficientStorage | None:
    """A database error that is the database's state (down, timed out, locked, full), not our bug."""
    if isinstance(exc, sa_exc.TimeoutError):  # every pooled connection is busy
        return ServiceUnavailable(DATABASE_BUSY.format(reason="no database connection free"), RETRY_AFTER_SECONDS)
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and not (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    ):
        return None
    original = getattr(exc, "orig", None)
    message = " ".join(str(original or exc).split())
    sqlstate = getattr(original, "sqlstate", None) or ""
    lowered = message.lower()
    if sqlstate == "53100" or "database or disk is full" in lowered or "no space left" in lowered:
        return InsufficientStorage(DISK_FULL.format(reason="the database's disk is full"))
    if sqlstate in ("55P03", "57014") or "database is locked" in lowered:
        reason = "timed out waiting for other writes" if sqlstate != "57014" else "a database statement timed out"
        return ServiceUnavailable(DATABASE_BUSY.format(reason=reason), RETRY_AFTER_SECONDS)
    return ServiceUnavailable(DATABASE_DOWN.format(reason=_short_reason(lowered)), RETRY_AFTER_SECONDS)


def _short_reason(message: str) -> str:
    if "refused" in message:
        return "connection refused"
    if "timeout" in message or "timed out" in message:
        return "connection timed out"
    if "closed" in message or "terminat" in message or "reset" in message:
        return "connection lost"
    return "database error"
