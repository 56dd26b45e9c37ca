"""The authoritative copies: rows of the `document` table, read and written inside transactions.

An append-only document is its `document` row (the base) followed by its `document_segment` rows
in serial order; every reader here gets it assembled (body, ETag and serial of the whole)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlmodel import Session, col, func, select

from packyard.models import Document, DocumentSegment

from packyard.documents.stored import DOCUMENT, TEMPLATE, StoredDocument


def to_stored(row: Document) -> StoredDocument:
    return StoredDocument(row.body, row.etag, row.media_type, row.kind, row.public, row.serial)


def assemble(row: Document, segments: list[DocumentSegment]) -> StoredDocument:
    """The base with its segments appended (each segment carries the ETag of the whole through it)."""
    if not segments:
        return to_stored(row)
    last = segments[-1]
    return StoredDocument(row.body + b"".join(s.body for s in segments), last.etag, row.media_type, row.kind, row.public,
                          max(row.serial, last.serial))


def segments(session: Session, ecosystem: str, key: str) -> list[DocumentSegment]:
    return list(session.exec(select(DocumentSegment).where(
        DocumentSegment.ecosystem == ecosystem, DocumentSegment.key == key).order_by(DocumentSegment.serial)))


def last_segment(session: Session, ecosystem: str, key: str) -> DocumentSegment | None:
    return session.exec(select(DocumentSegment).where(DocumentSegment.ecosystem == ecosystem, DocumentSegment.key == key)
                        .order_by(col(DocumentSegment.serial).desc()).limit(1)).first()


def _appended_keys(session: Session, min_serial: int = 0) -> set[tuple[str, str]]:
    found = session.exec(select(DocumentSegment.ecosystem, DocumentSegment.key)
                         .where(DocumentSegment.serial >= min_serial).distinct())
    return {(ecosystem, key) for ecosystem, key in found}


def read(session: Session, ecosystem: str, key: str) -> StoredDocument | None:
    row = session.get(Document, (ecosystem, key))
    return None if row is None else assemble(row, segments(session, ecosystem, key))


def exists(session: Session, ecosystem: str, key: str) -> bool:
    return session.exec(select(Document.serial).where(Document.ecosystem == ecosystem, Document.key == key)).first() is not None


def head(session: Session, ecosystem: str, key: str, length: int) -> bytes | None:
    """The first `length` bytes of a document's stored body (its base), without loading the rest."""
    found = session.exec(select(func.substr(Document.body, 1, length)).where(Document.ecosystem == ecosystem, Document.key == key)).first()
    return None if found is None else bytes(found)


def bodies(session: Session, ecosystem: str, keys: Iterable[str]) -> dict[str, bytes]:
    """The bodies of plain (not append-only) documents, many at a time."""
    keys = sorted(set(keys))
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.exec(select(Document.key, Document.body).where(Document.ecosystem == ecosystem, col(Document.key).in_(chunk)))
        found.update({key: body for key, body in rows})
    return found


_LOADED = "packyard.documents.loaded"


def _under(ecosystem: str, prefix: str):
    """The rows whose key starts with `prefix`, as an indexed range condition."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (Document.ecosystem == ecosystem) & (Document.key >= prefix) & (Document.key < upper)


def keys_under(session: Session, ecosystem: str, prefix: str) -> list[str]:
    """Keys starting with `prefix` (an indexed range scan)."""
    return list(session.exec(select(Document.key).where(_under(ecosystem, prefix)).order_by(Document.key)))


def served_keys_under(session: Session, ecosystem: str, prefix: str, limit: int) -> list[str]:
    """Up to `limit` keys starting with `prefix` of public documents served as stored (no blobs,
    no bookkeeping), in key order."""
    return list(session.exec(select(Document.key).where(
        _under(ecosystem, prefix), Document.public == True, col(Document.kind).in_((DOCUMENT, TEMPLATE)))  # noqa: E712
        .order_by(Document.key).limit(limit)))


def load_under(session: Session, ecosystem: str, prefix: str) -> list[str]:
    """Like `keys_under`, with the rows loaded into `session` (a later `session.get` of one reads
    nothing). The session's identity map holds its objects weakly, so the rows are also kept in
    `session.info` for as long as the session lives: dropped, each `get` would query again."""
    loaded = list(session.exec(select(Document).where(_under(ecosystem, prefix)).order_by(Document.key)))
    session.info.setdefault(_LOADED, []).extend(loaded)
    return [row.key for row in loaded]


def iterate(session: Session, batch: int = 500) -> Iterator[tuple[str, str, StoredDocument]]:
    """Every row, in key order, a batch at a time (the start-up sync)."""
    appended = _appended_keys(session)
    last: tuple[str, str] = ("", "")
    while True:
        query = select(Document).order_by(Document.ecosystem, Document.key).limit(batch)
        if last != ("", ""):
            query = query.where((Document.ecosystem > last[0]) | ((Document.ecosystem == last[0]) & (Document.key > last[1])))
        rows = list(session.exec(query))
        if not rows:
            return
        for row in rows:
            pieces = segments(session, row.ecosystem, row.key) if (row.ecosystem, row.key) in appended else []
            yield row.ecosystem, row.key, assemble(row, pieces)
        last = (rows[-1].ecosystem, rows[-1].key)
        session.expunge_all()


def ecosystems(session: Session) -> list[str]:
    return list(session.exec(select(Document.ecosystem).distinct()))


def changed_since(session: Session, ecosystem: str, serial: int) -> list[tuple[str, StoredDocument]]:
    """Documents written or appended to at `serial` or later (a repair after a Redis outage)."""
    found = {row.key: row for row in session.exec(select(Document).where(Document.ecosystem == ecosystem, Document.serial >= serial))}
    for eco, key in _appended_keys(session, serial):
        if eco == ecosystem and key not in found:
            row = session.get(Document, (ecosystem, key))
            if row is not None:
                found[key] = row
    return [(key, assemble(row, segments(session, ecosystem, key))) for key, row in found.items()]
