"""Upstream's `/versions`, read as a feed of lines (pure: bytes in, bytes out).

Upstream's body is `created_at: ...`, `---`, then lines `NAME [-]VER[-PLAT][,...] MD5`, appended to
until upstream compacts it (a new `created_at`). packyard copies those lines, as they are, to the
end of its own `/versions` (minus the names that resolve locally), so each keeps upstream's MD5 of
upstream's `/info/NAME`, which packyard serves byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

SEPARATOR = b"---\n"


@dataclass(frozen=True)
class Position:
    """How far packyard has read upstream's body: its `created_at` line, the bytes consumed (whole
    lines only), the last line consumed (the overlap a tail request must start with) and upstream's
    ETag for that body; and the time of the newest reservation whose name's lines were dropped."""

    created_at: bytes
    size: int
    last_line: bytes
    etag: str = ""
    reserved_seen: str = ""

    def tail_start(self) -> int:
        """The offset a Range request starts at: the last consumed line again, so the answer proves
        it continues the same body."""
        return self.size - len(self.last_line)

    def to_json(self) -> dict:
        return {"created_at": self.created_at.decode(), "size": self.size, "last_line": self.last_line.decode(),
                "etag": self.etag, "reserved_seen": self.reserved_seen}

    @classmethod
    def from_json(cls, data: dict) -> Position:
        return cls(data["created_at"].encode(), int(data["size"]), data["last_line"].encode(), data.get("etag", ""),
                   data.get("reserved_seen", ""))


class NotAVersionsFile(ValueError):
    """Upstream's answer is not a compact-index `/versions` body."""


def whole_lines(chunk: bytes) -> tuple[list[bytes], int]:
    """The complete lines (with their `\\n`) at the start of `chunk`, and how many bytes they take;
    a partial last line is left for the next read."""
    end = chunk.rfind(b"\n") + 1
    return [line + b"\n" for line in chunk[:end].split(b"\n")[:-1]], end


def read_full(body: bytes, etag: str = "") -> tuple[Position, list[bytes]]:
    """A whole upstream body: where it leaves packyard, and its lines after `---`."""
    header, sep, rest = body.partition(SEPARATOR)
    if not sep or not body.startswith(b"created_at:") or header.count(b"\n") != 1:
        raise NotAVersionsFile("upstream's /versions does not start with `created_at: ...` and `---`")
    created_at = header.rstrip(b"\n")
    lines, used = whole_lines(rest)
    consumed = len(header) + len(SEPARATOR) + used
    return Position(created_at, consumed, lines[-1] if lines else SEPARATOR, etag), lines


def continues(position: Position, body: bytes) -> bool:
    """Whether a full body `body` is the one `position` was read from, grown by appends."""
    start = position.tail_start()
    return (body.startswith(position.created_at + b"\n") and len(body) >= position.size
            and body[start:position.size] == position.last_line)


def read_tail(position: Position, tail: bytes, etag: str = "") -> tuple[Position, list[bytes]] | None:
    """A Range answer from `position.tail_start()`: the new lines and the new position, or None
    when it does not start with the last line read (upstream's body was replaced)."""
    if not tail.startswith(position.last_line):
        return None
    lines, used = whole_lines(tail[len(position.last_line):])
    if not lines:
        return replace(position, etag=etag or position.etag), []
    return replace(position, size=position.size + used, last_line=lines[-1], etag=etag), lines


def line_name(line: bytes) -> str | None:
    """The gem a line is about, or None for a line that is not `NAME VERSIONS MD5`."""
    parts = line.rstrip(b"\n").split(b" ")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        return parts[0].decode()
    except UnicodeDecodeError:
        return None


def keep_lines(lines: Iterable[bytes], excluded: Callable[[str], bool]) -> bytes:
    """The well-formed lines whose gem is not `excluded` (a name that resolves locally)."""
    return b"".join(line for line in lines if (name := line_name(line)) is not None and not excluded(name))


def compacted(lines: Iterable[bytes], included: Callable[[str], bool]) -> dict[str, bytes]:
    """One line per `included` gem, replaying `lines` as bundler does: versions accumulate, a `-`
    prefix removes one, the last MD5 wins. Gems left with no version are dropped (as upstream's own
    compaction drops them)."""
    versions: dict[str, list[str]] = {}
    checksums: dict[str, str] = {}
    for line in lines:
        name = line_name(line)
        if name is None or not included(name):
            continue
        _, listed, checksum = line.rstrip(b"\n").decode().split(" ")
        current = versions.setdefault(name, [])
        for entry in listed.split(","):
            if entry.startswith("-"):
                if entry[1:] in current:
                    current.remove(entry[1:])
            elif entry not in current:
                current.append(entry)
        checksums[name] = checksum
    return {name: f"{name} {','.join(found)} {checksums[name]}\n".encode() for name, found in versions.items() if found}
