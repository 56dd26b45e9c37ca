"""The append-only `/versions` document.

The served body is the base document (`created_at: <time>`, `---`, one line per gem) followed by
one appended line per change since the base was written: `NAME [-]VER[-PLAT][,...] INFO_MD5`,
where INFO_MD5 is the MD5 of the gem's `/info` body right after that change. A body once served
never changes except by growing, so bundler fetches only the new tail with a Range request.

Appends happen inside the serialized write transaction of the change (see `index_writer`), so the
last line for a gem always carries the MD5 of its current `/info` body, across workers.
`rebuild` rewrites the base compactly (yanked versions gone, each gem's versions in push order)
with a new `created_at`, like rubygems.org's monthly `compact_index:update_versions_file`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, col, select

from packyard.models import Document, Package

from . import compact_index, documents

ECOSYSTEM = documents.ECOSYSTEM


def base_header(moment: datetime) -> bytes:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return compact_index.versions_header(moment.astimezone(timezone.utc).replace(microsecond=0))


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


def base_created_at(session: Session) -> datetime | None:
    """When the base was written (without loading its body), or None before the first write."""
    return session.exec(
        select(Document.updated_at).where(Document.ecosystem == ECOSYSTEM, Document.key == documents.VERSIONS_BASE)
    ).first()


def ensure_base(session: Session, now: datetime) -> None:
    if base_created_at(session) is None:
        documents.put(session, documents.VERSIONS_BASE, base_header(now), now)


def append(session: Session, serial: int, lines: bytes, now: datetime) -> None:
    ensure_base(session, now)
    documents.put(session, documents.log_key(serial), lines, now)


def shared_body(session: Session) -> bytes | None:
    """The anonymous `/versions` body: base plus appended lines (None before the first write)."""
    base = documents.get(session, documents.VERSIONS_BASE)
    if base is None:
        return None
    return base + b"".join(documents.log_bodies(session))


def rebuild(session: Session, now: datetime) -> bytes:
    """Rewrite the base from every public gem's current `/info` and drop the appended lines."""
    names = list(
        session.exec(
            select(Package.name)
            .where(Package.ecosystem == ECOSYSTEM, Package.visibility == "public")
            .order_by(Package.name)
        )
    )
    infos = {}
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        infos.update(documents.get_many(session, [documents.info_key(n) for n in chunk]))
    lines = []
    for name in sorted(names):
        body = infos.get(documents.info_key(name))
        line = gem_line(name, body) if body is not None else None
        if line:
            lines.append(line)
    base = base_header(now) + b"".join(lines)
    documents.clear_log(session)
    documents.put(session, documents.VERSIONS_BASE, base, now)
    return base


def private_lines(session: Session, names: list[str]) -> bytes:
    """Lines for private gems a reader may see, appended after the shared body for that reader."""
    if not names:
        return b""
    infos = documents.get_many(session, [documents.info_key(n) for n in names])
    out = []
    for name in sorted(names):
        body = infos.get(documents.info_key(name))
        line = gem_line(name, body) if body is not None else None
        if line:
            out.append(line)
    return b"".join(out)


def readable_private_names(session: Session, identity) -> list[str]:
    """Names of private gems `identity` may read (O(private gems), never O(all gems))."""
    if identity is None:
        return []
    query = select(Package.name).where(Package.ecosystem == ECOSYSTEM, Package.visibility == "private")
    if not identity.may_read_all(ECOSYSTEM):
        named = identity.readable_names(ECOSYSTEM)
        if not named:
            return []
        query = query.where(col(Package.normalized_name).in_(sorted(named)))
    return sorted(session.exec(query))
