"""The authoritative copies: rows of the `document` table, read and written inside transactions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlmodel import Session, col, select

from packyard.models import Document

from packyard.documents.stored import StoredDocument


def to_stored(row: Document) -> StoredDocument:
    return StoredDocument(row.body, row.etag, row.media_type, row.kind, row.public, row.serial)


def read(session: Session, ecosystem: str, key: str) -> StoredDocument | None:
    row = session.get(Document, (ecosystem, key))
    return None if row is None else to_stored(row)


def bodies(session: Session, ecosystem: str, keys: Iterable[str]) -> dict[str, bytes]:
    keys = sorted(set(keys))
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.exec(select(Document.key, Document.body).where(Document.ecosystem == ecosystem, col(Document.key).in_(chunk)))
        found.update({key: body for key, body in rows})
    return found


def keys_under(session: Session, ecosystem: str, prefix: str) -> list[str]:
    """Keys starting with `prefix` (an indexed range scan)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return list(session.exec(
        select(Document.key).where(Document.ecosystem == ecosystem, Document.key >= prefix, Document.key < upper).order_by(Document.key)
    ))


def iterate(session: Session, batch: int = 500) -> Iterator[tuple[str, str, StoredDocument]]:
    """Every row, in key order, a batch at a time (the start-up sync)."""
    last: tuple[str, str] = ("", "")
    while True:
        query = select(Document).order_by(Document.ecosystem, Document.key).limit(batch)
        if last != ("", ""):
            query = query.where((Document.ecosystem > last[0]) | ((Document.ecosystem == last[0]) & (Document.key > last[1])))
        rows = list(session.exec(query))
        if not rows:
            return
        for row in rows:
            yield row.ecosystem, row.key, to_stored(row)
        last = (rows[-1].ecosystem, rows[-1].key)
        session.expunge_all()


def ecosystems(session: Session) -> list[str]:
    return list(session.exec(select(Document.ecosystem).distinct()))


def changed_since(session: Session, ecosystem: str, serial: int) -> list[tuple[str, StoredDocument]]:
    """Rows written at `serial` or later (a repair after a Redis outage)."""
    found = session.exec(select(Document).where(Document.ecosystem == ecosystem, Document.serial >= serial))
    return [(row.key, to_stored(row)) for row in found]
