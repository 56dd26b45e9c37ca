"""Parse the `Authorization` header forms clients send.

- `Bearer <token>` and `Token <token>` (management API, Warehouse-style);
- `Basic base64(__token__:<token>)` (twine, uv, pip) or `Basic base64(<user>:<token>)` (bundler);
- `<token>` alone, as the RubyGems clients send their API key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


class MalformedCredentials(ValueError):
    pass


@dataclass(frozen=True)
class Credentials:
    secret: str
    username: str | None = None  # None or "__token__" when only a token was sent


def parse_authorization(header: str | None) -> Credentials | None:
    credentials = _parse(header)
    if credentials is not None and "\x00" in credentials.secret + (credentials.username or ""):
        raise MalformedCredentials("the credentials contain a NUL byte")
    return credentials


def _parse(header: str | None) -> Credentials | None:
    if header is None:
        return None
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    lowered = scheme.lower()
    if lowered in ("bearer", "token") and rest.strip():
        return Credentials(secret=rest.strip())
    if lowered == "basic" and rest.strip():
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedCredentials("the Basic credentials are not valid base64 of 'user:password'") from None
        user, sep, password = decoded.partition(":")
        if not sep or not password:
            raise MalformedCredentials("Basic credentials need a password: use '__token__' as the user and a packyard token as the password")
        return Credentials(secret=password, username=user or None)
    if " " not in header:
        return Credentials(secret=header)
    raise MalformedCredentials(f"unsupported Authorization scheme '{scheme}': send 'Bearer <token>' or Basic '__token__:<token>'")
