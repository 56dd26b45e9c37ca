"""The document store: every served document, rendered when a change alters it, never on a read.

Write side, inside a change's write transaction: `put` / `put_blob` / `remove` change the
authoritative row in the database; once the transaction commits, the new documents are written
through to their copies (files under the data directory, and Redis when configured), before the
change's serial is published.

Read side, `get(ecosystem, key)`: a per-process memo validated by one cheap check (a `stat` of
the file copy; with Redis one GET of the ecosystem serial), then one read of the copy. The
database is read only when a copy is missing (a flushed Redis, a deleted file), to refill it,
and to learn that a key does not exist (remembered until the ecosystem serial moves). So a
document that exists is served while the database is down, and a fresh process serves without
rendering anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func

from sqlmodel import Session, select

from packyard.db import after_commit
from packyard.models import Document, JournalEntry

from packyard.documents import rows
from packyard.documents.files import DocumentFiles
from packyard.documents.memo import Memo
from packyard.documents.redis_copies import RedisDocuments, RedisUnavailable
from packyard.documents.stored import ABSENT, BLOB, DOCUMENT, INTERNAL, TEMPLATE, StoredDocument, safe_key

if TYPE_CHECKING:
    from packyard.db import Database
    from packyard.documents.serials import SerialBoard

log = logging.getLogger("packyard.documents")

_PENDING = "packyard.documents.pending"
_DEFERRED = "packyard.documents.deferred"
# An aggregate's render: (a read session, the serial it renders at) -> (body, etag, media type).
AggregateRender = Callable[[Session, int], tuple[bytes, str, str]]
MEMO_ENTRIES = 65536


class NeedsIO(Exception):
    """The answer needs a read that may block (Redis, the database): ask again from a worker thread."""


class DocumentStore:
    def __init__(self, db: Database, serials: SerialBoard, files: DocumentFiles | None, redis: RedisDocuments | None,
                 *, private_registry: bool):
        assert files is not None or redis is not None
        self.db = db
        self.serials = serials
        self.files = files
        self.redis = redis
        self.private_registry = private_registry
        self.memo: Memo[StoredDocument] = Memo(MEMO_ENTRIES)
        self._redis_backlog: dict[tuple[str, str], StoredDocument] = {}
        # Redis outages this process has repaired after, and per ecosystem the last serial it read
        # while Redis answered: documents changed since then may be stale there (`_repair_redis`).
        self._repaired_recoveries = redis.redis.recoveries if redis is not None else 0
        self._healthy_serial: dict[str, int] = {}
        self._repair_lock = threading.Lock()
        if redis is not None:
            serials.gap_repairs.append(self._repair_since)
        self.filled_memo: Memo[tuple[bytes, str]] = Memo(MEMO_ENTRIES)

    # -- write side (inside the write transaction) -----------------------------------------------

    def put(self, session: Session, ecosystem: str, key: str, body: bytes, *, serial: int, now: datetime,
            etag: str = "", media_type: str = "", kind: str = DOCUMENT, public: bool = False) -> None:
        assert kind in (DOCUMENT, TEMPLATE, INTERNAL, BLOB) and safe_key(key), key
        row = session.get(Document, (ecosystem, key))
        if row is None:
            row = Document(ecosystem=ecosystem, key=key, body=body, updated_at=now)
        row.body, row.etag, row.media_type, row.kind, row.public, row.serial, row.updated_at = (
            body, etag, media_type, kind, public, serial, now)
        session.add(row)
        self._pending(session)[(ecosystem, key)] = rows.to_stored(row)

    def put_blob(self, session: Session, ecosystem: str, key: str, sha256: str, size: int, *, serial: int, now: datetime,
                 etag: str, media_type: str, public: bool) -> None:
        """A file download: the document names the stored blob; served (and linked for nginx) from storage."""
        self.put(session, ecosystem, key, f"{sha256} {size}".encode(), serial=serial, now=now, etag=etag,
                 media_type=media_type, kind=BLOB, public=public)

    def remove(self, session: Session, ecosystem: str, key: str, *, serial: int) -> None:
        row = session.get(Document, (ecosystem, key))
        if row is not None:
            session.delete(row)
        self._pending(session)[(ecosystem, key)] = StoredDocument.tombstone(serial)

    def read_in(self, session: Session, ecosystem: str, key: str) -> StoredDocument | None:
        """The current row, for a writer that builds on it (e.g. an append-only document)."""
        return rows.read(session, ecosystem, key)

    def keys_in(self, session: Session, ecosystem: str, prefix: str = "") -> list[str]:
        if prefix:
            return rows.keys_under(session, ecosystem, prefix)
        return list(session.exec(select(Document.key).where(Document.ecosystem == ecosystem)))

    def defer(self, session: Session, ecosystem: str, key: str, render: AggregateRender) -> None:
        """Render the public aggregate `key` (a listing whose cost grows with the registry) after the
        commit, outside the ecosystem's write lock, labelled with the serial it was rendered at.

        Consistent for readers: the render reads the ecosystem's latest serial first, then the rows
        in one read session, so it shows at least every change up to that serial; it is stored
        set-if-newer by serial (row, files, Redis), so a slower render of an older serial never
        replaces a newer one, and a burst of changes costs fewer renders than changes (a render
        already at the latest serial is skipped). It runs before the change's serial is published,
        so a client that saw its change acknowledged sees it in the aggregate."""
        deferred = session.info.get(_DEFERRED)
        if deferred is None:
            deferred = session.info[_DEFERRED] = {}
            after_commit(session, lambda: self._render_deferred(session.info.pop(_DEFERRED, {})))
        deferred[(ecosystem, key)] = render

    def _render_deferred(self, deferred: dict[tuple[str, str], AggregateRender]) -> None:
        for (ecosystem, key), render in sorted(deferred.items(), key=lambda item: item[0]):
            try:
                self.render_aggregate(ecosystem, key, render)
            except Exception:  # the change is committed: the aggregate catches up with the next one
                log.exception("could not render %s/%s after the commit", ecosystem, key)

    def render_aggregate(self, ecosystem: str, key: str, render: AggregateRender, *, now: datetime | None = None) -> bool:
        """Render and store one aggregate now (see `defer`); False when it was already current."""
        with self.db.read() as session:
            serial = int(session.exec(select(func.max(JournalEntry.id)).where(JournalEntry.ecosystem == ecosystem)).one() or 0)
            stored = session.get(Document, (ecosystem, key))
            if stored is not None and stored.serial >= serial:
                return False
            body, etag, media_type = render(session, serial)
        with self.db.write(lock=ecosystem) as session:  # a short transaction: one row
            row = session.get(Document, (ecosystem, key))
            if row is not None and row.serial >= serial:
                return False
            self.put(session, ecosystem, key, body, serial=serial, now=now or _utcnow(), etag=etag, media_type=media_type, public=True)
        return True

    def _pending(self, session: Session) -> dict[tuple[str, str], StoredDocument]:
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = {}
            after_commit(session, lambda: self.write_through(session.info.pop(_PENDING, {})))
        return pending

    # -- write-through (after the commit) --------------------------------------------------------

    def materializable(self, doc: StoredDocument) -> bool:
        return doc.public and not self.private_registry and doc.kind in (DOCUMENT, BLOB)

    def write_through(self, pending: dict[tuple[str, str], StoredDocument]) -> None:
        """Copies never fail a committed change: a copy that could not be written is refilled from
        the database by the next read that misses it, or by the start-up sync."""
        for ecosystem in {eco for eco, _ in pending}:  # named in the change's serial notification
            self.serials.changed(ecosystem, {key: doc.serial for (eco, key), doc in pending.items() if eco == ecosystem})
        if self.files is not None:
            for ecosystem in sorted({eco for eco, _ in pending}):
                try:
                    with self.files.locked(ecosystem):
                        for (eco, key), doc in pending.items():
                            if eco == ecosystem:
                                self.files.write(eco, key, doc, materialize=self.materializable(doc))
                except OSError:
                    log.exception("could not write documents of %s through to files", ecosystem)
        if self.redis is not None:
            self._redis_backlog.update(pending)
            self._flush_redis_backlog()

    def _repair_redis(self) -> None:
        """Redis is back after an outage: documents that changed meanwhile (in any process; their
        write-through failed) are written again from the rows, before this process reads Redis."""
        assert self.redis is not None
        with self._repair_lock:
            recoveries = self.redis.redis.recoveries
            if recoveries == self._repaired_recoveries:
                return
            with self.db.read() as session:
                changed = [(eco, key, doc) for eco in rows.ecosystems(session)
                           for key, doc in rows.changed_since(session, eco, self._healthy_serial.get(eco, 0))]
            try:
                for start in range(0, len(changed), 500):
                    self.redis.write_many(changed[start:start + 500])
            except RedisUnavailable:
                return  # down again: the next recovery repairs
            self._repaired_recoveries = recoveries

    def _repair_since(self, since: dict[str, int]) -> None:
        """The serial feed is back after a gap: write every row changed since the serials known
        then to Redis again (their write-through may have failed in any process), before this
        process trusts its memo again. Raises RedisUnavailable when Redis fails meanwhile."""
        assert self.redis is not None
        with self._repair_lock:
            recoveries = self.redis.redis.recoveries
            with self.db.read() as session:
                changed = [(eco, key, doc) for eco in rows.ecosystems(session)
                           for key, doc in rows.changed_since(session, eco, since.get(eco, 0))]
            for start in range(0, len(changed), 500):
                self.redis.write_many(changed[start:start + 500])
            self._repaired_recoveries = recoveries
        self._flush_redis_backlog()

    def _flush_redis_backlog(self) -> None:
        """Documents whose write-through to Redis failed are written again once it answers
        (before this process publishes a newer serial there, see `RedisSerialBoard`)."""
        assert self.redis is not None
        items = dict(self._redis_backlog)
        try:
            self.redis.write_many([(eco, key, doc) for (eco, key), doc in items.items()])
        except RedisUnavailable:  # readers fall back to the database until it returns
            return
        for item_key, doc in items.items():
            if self._redis_backlog.get(item_key) is doc:
                del self._redis_backlog[item_key]

    # -- read side -------------------------------------------------------------------------------

    def get(self, ecosystem: str, key: str, io: bool = True) -> StoredDocument | None:
        """The document, or None when there is none. With `io=False` only answers that need no
        blocking read (a memo hit; a local file) and raises NeedsIO otherwise. The memo only ever
        holds keys that passed `safe_key`, so a hit needs no check."""
        doc = self._get_from_redis(ecosystem, key, io) if self.redis is not None else self._get_from_files(ecosystem, key, io)
        return None if doc is None or doc.absent else doc

    def _get_from_files(self, ecosystem: str, key: str, io: bool) -> StoredDocument | None:
        assert self.files is not None
        stamp = self.files.stamp(ecosystem, key)
        if stamp is not None:
            doc = self.memo.get((ecosystem, key), stamp)
            if doc is not None:
                return doc
        if not safe_key(key):
            return None
        if stamp is not None:
            found = self.files.read(ecosystem, key)
            if found is not None:
                return self.memo.put((ecosystem, key), found[0], found[1])
        serial = self.serials.current(ecosystem)
        negative = self.memo.get(("absent", ecosystem, key), serial)
        if negative is not None:
            return None
        if not io:
            raise NeedsIO()
        doc = self._refill(ecosystem, key)
        if doc is None:
            self.memo.put(("absent", ecosystem, key), serial, StoredDocument.tombstone(serial))
        return doc

    def _get_from_redis(self, ecosystem: str, key: str, io: bool) -> StoredDocument | None:
        assert self.redis is not None
        if io and self.redis.redis.recoveries != self._repaired_recoveries:
            self._repair_redis()
        if self._redis_backlog and io:
            self._flush_redis_backlog()
        validity = self.serials.validity(ecosystem)
        if validity is not None:  # every change reaches this process with its keys: a hit costs no I/O
            doc = self.memo.get((ecosystem, key), ("feed", validity))
            if doc is not None and doc.serial >= self.serials.changed_at(ecosystem, key):
                return doc
            stamp: object = ("feed", validity)  # never equal to a serial stamp below
            serial = self.serials.current(ecosystem)
            if self.redis.redis.available:
                self._healthy_serial[ecosystem] = serial
        else:
            healthy = self.redis.redis.available
            serial = self.serials.current(ecosystem)
            if healthy and self.redis.redis.available:
                self._healthy_serial[ecosystem] = serial
            doc = self.memo.get((ecosystem, key), serial)
            if doc is not None:
                return doc
            stamp = serial
        if not safe_key(key):
            return None
        if not io:
            raise NeedsIO()
        try:
            doc = self.redis.read(ecosystem, key)
        except RedisUnavailable:  # read the row instead (and keep the answer until the serial moves)
            doc = None
        if doc is None:
            doc = self._refill(ecosystem, key) or StoredDocument.tombstone(serial)
        return self.memo.put((ecosystem, key), stamp, doc)

    def _refill(self, ecosystem: str, key: str) -> StoredDocument | None:
        """The copy is missing: read the row, and put the copy back (never a render)."""
        with self.db.read() as session:
            doc = rows.read(session, ecosystem, key)
        if doc is None:
            return None
        if self.files is not None:
            try:
                with self.files.locked(ecosystem):
                    self.files.write(ecosystem, key, doc, materialize=self.materializable(doc), lazy=True)
            except OSError:
                log.warning("could not refill the file copy of %s/%s", ecosystem, key, exc_info=True)
        if self.redis is not None:
            try:
                self.redis.write(ecosystem, key, doc, same_serial=True)
            except RedisUnavailable:
                pass
        return doc

    def filled(self, doc: StoredDocument, base: str) -> tuple[bytes, str]:
        """A `template` document's body for one base URL and its ETag, memoized per (document, base)."""
        from packyard.http.serve import strong_etag

        key = (doc.etag, doc.serial, base)
        hit = self.filled_memo.get(key, doc.etag)
        if hit is not None:
            return hit
        body = doc.fill_base(base)
        return self.filled_memo.put(key, doc.etag, (body, strong_etag(body)))


def _utcnow() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)
