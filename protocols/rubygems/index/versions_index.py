"""The append-only `/versions` document.

The served body is the base (`created_at: <time>`, `---`, one line per gem) followed by one
appended line per change since the base was written: `NAME [-]VER[-PLAT][,...] INFO_MD5`, where
INFO_MD5 is the MD5 of the gem's `/info` body right after that change. A body once served never
changes except by growing, so bundler fetches only the new tail with a Range request.

Appends happen inside the serialized write transaction of the change (see `index_writer`), so the
last line for a gem always carries the MD5 of its current `/info` body, across workers. The body is
stored as a base plus one segment per append (`DocumentStore.append`), so an append costs
O(its line) in the transaction, whatever the size of the body: no read or rewrite of the body.
`rebuild` rewrites the base compactly (yanked versions gone, each gem's versions in push order)
with a new `created_at`, like rubygems.org's monthly `compact_index:update_versions_file`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from sqlmodel import Session

from packyard.documents import rows
from packyard.documents.store import DocumentStore
from packyard.services.packages import public_names

from packyard_rubygems.index import compact_index, documents
from packyard_rubygems.upstream import versions_feed

ECOSYSTEM = documents.ECOSYSTEM


def base_header(moment: datetime) -> bytes:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return compact_index.versions_header(moment.astimezone(timezone.utc).replace(microsecond=0))


def created_at(body: bytes) -> datetime:
    first = body.split(b"\n", 1)[0].decode()
    return datetime.fromisoformat(first.removeprefix("created_at:").strip().replace("Z", "+00:00"))


def body_lines(body: bytes) -> list[bytes]:
    """The lines after `---`, each ending in a newline."""
    _, _, rest = body.partition(b"---\n")
    return [line + b"\n" for line in rest.split(b"\n") if line]


def mentions(body: bytes, name: str) -> bool:
    """Whether a line of `body` is about `name`, compared case-insensitively."""
    return re.search(rb"(?im)^" + re.escape(name.encode()) + rb" ", body) is not None


def info_entries(info_body: bytes) -> list[str]:
    """`VER[-PLAT]` of every line of an `/info` body, in its (push) order."""
    _, _, rest = info_body.partition(b"---\n")
    return [line.split(b" ", 1)[0].decode() for line in rest.split(b"\n") if line]


def gem_line(name: str, info_body: bytes) -> bytes | None:
    """The one-line summary of a gem (all its indexed versions), or None when none is indexed."""
    entries = info_entries(info_body)
    if not entries:
        return None
    return event_line(name, entries, info_body)


def event_line(name: str, entries: list[str], info_body: bytes) -> bytes:
    return compact_index.versions_line(name, entries, compact_index.info_checksum(info_body))


def current(store: DocumentStore, session: Session) -> bytes | None:
    """The whole body (assembled: O(body)); the writer itself never needs it."""
    doc = store.read_in(session, ECOSYSTEM, documents.VERSIONS)
    return None if doc is None else doc.body


def base_created_at(session: Session) -> datetime | None:
    """`created_at` of the base, read from its first line only."""
    head = rows.head(session, ECOSYSTEM, documents.VERSIONS, 100)
    return None if head is None else created_at(head)


def _put_base(store: DocumentStore, session: Session, body: bytes, serial: int, now: datetime) -> None:
    documents.put_compact_index(store, session, documents.VERSIONS, body, serial=serial, now=now, appendable=True)


def append(store: DocumentStore, session: Session, serial: int, lines: bytes, now: datetime) -> None:
    ensure_base(store, session, serial, now)
    store.append(session, ECOSYSTEM, documents.VERSIONS, lines, serial=serial)


def ensure_base(store: DocumentStore, session: Session, serial: int, now: datetime) -> None:
    if not rows.exists(session, ECOSYSTEM, documents.VERSIONS):
        _put_base(store, session, base_header(now), serial, now)


def lines_for(session: Session, names: list[str]) -> bytes:
    """The one-line summaries of the given gems (from their stored `/info` bodies), by name."""
    return b"".join(line for _, line in sorted(lines_by_name(session, names).items()))


def lines_by_name(session: Session, names: list[str]) -> dict[str, bytes]:
    infos = rows.bodies(session, ECOSYSTEM, [documents.info_key(n) for n in names])
    out = {}
    for name in names:
        body = infos.get(documents.info_key(name))
        line = gem_line(name, body) if body is not None else None
        if line:
            out[name] = line
    return out


def rebuild(store: DocumentStore, session: Session, serial: int, now: datetime, *,
            upstream_lines: Iterable[bytes] | None = None, local: Callable[[str], bool] | None = None) -> bytes:
    """Rewrite the base from every public gem's current `/info`, with nothing appended.

    With `local` (an upstream is configured: `local(name)` says whether a name resolves locally),
    the base also holds one line per upstream gem: `upstream_lines` (upstream's new body, after it
    compacted its own) or else the upstream lines of the current body, replayed and compacted."""
    lines = lines_by_name(session, public_names(session, ECOSYSTEM))
    if local is not None:
        if upstream_lines is None:
            upstream_lines = body_lines(current(store, session) or b"")
        lines.update(versions_feed.compacted(upstream_lines, lambda name: not local(name)))
    base = base_header(now) + b"".join(line for _, line in sorted(lines.items()))
    _put_base(store, session, base, serial, now)
    return base
