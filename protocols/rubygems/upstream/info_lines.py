"""What packyard reads from upstream's `/info/<gem>` bodies (pure).

A file's full name (`ruby-2fa-1.0.0-x86_64-linux`) does not say where the gem's name ends; the
candidates are the splits whose rest starts like a version. Upstream's `/info` line for that
version and platform carries the `checksum:` (SHA-256 of the `.gem`) the download is checked against.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class UpstreamRelease:
    """One line of upstream's `/info`: the gem, `VER[-PLAT]` as upstream writes it, the announced sha256."""

    name: str
    entry: str
    sha256: str

    @property
    def version(self) -> str:
        return self.entry.split("-", 1)[0]

    @property
    def full_name(self) -> str:
        return f"{self.name}-{self.entry}"


def candidate_names(full_name: str) -> list[str]:
    """Possible gem names of a file named `full_name`, longest first (`a-b-1.0` -> `a-b`, then `a`
    only if `b-1.0` could be a version: it cannot, as versions start with a digit)."""
    parts = full_name.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts) - 1, 0, -1) if parts[end][:1].isdigit()]


def _hex_sha256(value: str) -> str | None:
    """The checksum as lowercase hex; bundler accepts 64 hex or 44 base64 characters."""
    if SHA256_HEX.fullmatch(value.lower()):
        return value.lower()
    if len(value) == 44:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            return None
        return raw.hex() if len(raw) == 32 else None
    return None


def find_release(name: str, info_body: bytes, entry: str) -> UpstreamRelease | None:
    """The line of `info_body` for `entry` (`VER[-PLAT]`) with a well-formed sha256, or None."""
    _, _, rest = info_body.partition(b"---\n")
    prefix = entry.encode() + b" "
    for line in rest.split(b"\n"):
        if not line.startswith(prefix):
            continue
        requirements = line[len(prefix):].split(b"|", 1)
        if len(requirements) != 2:
            return None
        for requirement in requirements[1].split(b","):
            key, _, value = requirement.partition(b":")
            if key == b"checksum":
                sha256 = _hex_sha256(value.decode("ascii", "replace").strip())
                return UpstreamRelease(name, entry, sha256) if sha256 else None
        return None
    return None
