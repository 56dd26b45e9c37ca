"""A stored document as every copy of it holds it: the body plus what serving it needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

# kinds (see models.Document)
DOCUMENT: Final = "document"
TEMPLATE: Final = "template"
BLOB: Final = "blob"
INTERNAL: Final = "internal"
ABSENT: Final = "absent"  # a removal, kept in the copies so an older write-through cannot bring it back

# The base-URL placeholder in a `template` body (private-use code points: JSON never escapes them).
BASE_PLACEHOLDER: Final = "\uf8ffpackyard-base\uf8ff"
_PLACEHOLDER_BYTES: Final = BASE_PLACEHOLDER.encode("utf-8")
# A `template` may also leave a serial to the read, as this JSON string (quotes included), replaced
# by the number: a value that moves with every change of something else (a project's latest
# serial in each of its release documents) would otherwise rewrite the document on each change.
SERIAL_PLACEHOLDER: Final = "\uf8ffpackyard-serial\uf8ff"
_SERIAL_BYTES: Final = f'"{SERIAL_PLACEHOLDER}"'.encode("utf-8")


@dataclass(frozen=True)
class StoredDocument:
    body: bytes
    etag: str  # the exact ETag header value, quoted
    media_type: str
    kind: str
    public: bool  # readable without credentials (the registry may still be private)
    serial: int  # the change serial that wrote it

    @property
    def absent(self) -> bool:
        return self.kind == ABSENT

    @property
    def blob(self) -> tuple[str, int]:
        """(sha256, size) of the stored blob a `blob` document points at."""
        sha256, size = self.body.decode("ascii").split(" ")
        return sha256, int(size)

    def fill(self, base: str, serial: int | None = None) -> bytes:
        """A `template` body with the request's base URL in place of its placeholder, and `serial`
        in place of the serial placeholder (when given)."""
        body = self.body.replace(_PLACEHOLDER_BYTES, base.encode("utf-8"))
        return body if serial is None else body.replace(_SERIAL_BYTES, str(serial).encode("ascii"))

    def encode(self) -> bytes:
        """One JSON header line, then the body: the form of the file and Redis copies."""
        header = {"etag": self.etag, "media_type": self.media_type, "kind": self.kind, "public": self.public, "serial": self.serial}
        return json.dumps(header, separators=(",", ":")).encode() + b"\n" + self.body

    def encode_header(self, **extra: object) -> bytes:
        """The header line alone, with `extra` fields (a file copy whose body lives in another file)."""
        header = {"etag": self.etag, "media_type": self.media_type, "kind": self.kind, "public": self.public, "serial": self.serial, **extra}
        return json.dumps(header, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def decode(cls, raw: bytes) -> StoredDocument:
        return cls.from_parts(*cls.split(raw))

    @staticmethod
    def split(raw: bytes) -> tuple[dict, bytes]:
        header, _, body = raw.partition(b"\n")
        return json.loads(header), body

    @classmethod
    def from_parts(cls, meta: dict, body: bytes) -> StoredDocument:
        return cls(body, meta["etag"], meta["media_type"], meta["kind"], meta["public"], meta["serial"])

    @classmethod
    def tombstone(cls, serial: int) -> StoredDocument:
        return cls(b"", "", "", ABSENT, False, serial)


TEMP_PREFIX: Final = ".packyard-tmp-"  # files being written; never a key
BODY_PREFIX: Final = ".packyard-body-"  # the growing body of an append-only document's file copy; never a key


def safe_key(key: str) -> bool:
    """Keys come from URL paths: refuse anything that could leave the ecosystem's directory (a
    gem may be named `.foo`, so a leading dot is fine)."""
    if not key or key.startswith("/") or "\x00" in key or "\\" in key or len(key) > 1000:
        return False
    return all(part not in ("", ".", "..") and not part.startswith((TEMP_PREFIX, BODY_PREFIX)) for part in key.split("/"))
