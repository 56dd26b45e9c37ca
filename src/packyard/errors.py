"""Errors the core raises; each carries the HTTP status and a message a person can act on.

Adapters translate them into their wire format (PyPI: reason phrase + body; RubyGems: plain text);
the management API answers them as JSON `{"detail": ...}`.
"""

from __future__ import annotations


class PackyardError(Exception):
    status_code = 400
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers, lower-case names

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadRequest(PackyardError):
    status_code = 400


# The one challenge every 401 carries: pip, uv and bundler send credentials only after it.
WWW_AUTHENTICATE = ("www-authenticate", 'Basic realm="packyard"')


class Unauthorized(PackyardError):
    """Missing or invalid credentials (401 with `WWW-Authenticate: Basic realm="packyard"`)."""

    status_code = 401
    headers = (WWW_AUTHENTICATE,)


class Forbidden(PackyardError):
    """Valid credentials that lack the needed scope or ownership."""

    status_code = 403


class NotFound(PackyardError):
    status_code = 404


class Conflict(PackyardError):
    status_code = 409


class FileConflict(Conflict):
    """A file with this name exists already, with other bytes."""


class NameCollision(Conflict):
    """A new name equals an existing package's but for letter case, where the ecosystem forbids that."""

    def __init__(self, detail: str, existing_name: str, caller_owns_it: bool):
        super().__init__(detail)
        self.existing_name = existing_name
        self.caller_owns_it = caller_owns_it


class PayloadTooLarge(PackyardError):
    status_code = 413


class InsufficientStorage(PackyardError):
    """The disk or the object store refused the bytes (full, over quota, read-only). Nothing was stored."""

    status_code = 507


class ServiceUnavailable(PackyardError):
    """A dependency (the database, the object store) is down or too slow. Nothing was stored; retrying later works."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = 5):
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = (("retry-after", str(retry_after)),)
