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
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func

from sqlmodel import Session, delete, select

from packyard.db import after_commit
from packyard.errors import InsufficientStorage, ServiceUnavailable
from packyard.models import Document, DocumentSegment, JournalEntry

from packyard.documents import rows
from packyard.documents.background import BackgroundRenders
from packyard.documents.files import DocumentFiles
from packyard.documents.memo import Memo
from packyard.documents.redis_copies import RedisDocuments, RedisUnavailable
from packyard.documents.resumable_md5 import ResumableMD5
from packyard.documents.stored import BLOB, DOCUMENT, INTERNAL, TEMPLATE, StoredDocument, safe_key

if TYPE_CHECKING:
    from packyard.db import Database
    from packyard.documents.serials import SerialBoard

log = logging.getLogger("packyard.documents")

_PENDING = "packyard.documents.pending"
_LATER = "packyard.documents.later"
# An aggregate's render: (a read session, the serial it renders at) -> (body, etag, media type).
AggregateRender = Callable[[Session, int], tuple[bytes, str, str]]
MEMO_ENTRIES = 65536
HOT_BATCH = 500  # documents per Redis round trip in `load_hot`
REPAIR_RETRY_SECONDS = 1.0  # between tries of a Redis repair the database's absence stopped
STALE_PREFIX = "stale/"  # `stale/<key>`: an internal marker, the serial of the last change an aggregate misses


def stale_key(key: str) -> str:
    return STALE_PREFIX + key


@dataclass(frozen=True)
class Appended:
    """An append waiting for its write-through: a copy that holds the document at `after_serial`
    (ETag `after_etag`) becomes `doc` by appending `piece`; any other copy is rewritten whole."""

    after_serial: int
    after_etag: str
    piece: bytes
    doc: StoredDocument  # the whole document's ETag, serial and headers; its body is filled in by `resolve`


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
        self._repair_retry_at = 0.0  # monotonic; set while a repair waits for the database
        if redis is not None:
            serials.gap_repairs.append(self._repair_since)
        self.filled_memo: Memo[tuple[bytes, str]] = Memo(MEMO_ENTRIES)
        self.background: BackgroundRenders[tuple[str, str], AggregateRender] = BackgroundRenders(
            lambda item, render: self.render_aggregate(item[0], item[1], render))
        self._aggregate_locks: dict[tuple[str, str], threading.Lock] = {}

    # -- write side (inside the write transaction) -----------------------------------------------

    def put(self, session: Session, ecosystem: str, key: str, body: bytes, *, serial: int, now: datetime,
            etag: str = "", media_type: str = "", kind: str = DOCUMENT, public: bool = False, appendable: bool = False,
            unless_same: bool = False) -> None:
        """Write the whole document. `appendable`: a base that `append` will grow (its ETag must be
        the quoted MD5 of the body); its earlier segments go, and its MD5 state is kept (O(body),
        in Python: a rewrite of an append-only document is rare, a compaction). `unless_same`: a
        document stored with exactly these bytes and headers is left as it is, at its older serial
        (a re-render of a package whose file documents did not change writes no file copies for them)."""
        assert kind in (DOCUMENT, TEMPLATE, INTERNAL, BLOB) and safe_key(key), key
        row = session.get(Document, (ecosystem, key))
        if unless_same and not appendable and row is not None and (
                row.body, row.etag, row.media_type, row.kind, row.public) == (body, etag, media_type, kind, public):
            return
        if row is None:
            row = Document(ecosystem=ecosystem, key=key, body=body, updated_at=now)
        row.body, row.etag, row.media_type, row.kind, row.public, row.serial, row.updated_at = (
            body, etag, media_type, kind, public, serial, now)
        session.add(row)
        if appendable:
            session.flush()
            session.exec(delete(DocumentSegment).where(DocumentSegment.ecosystem == ecosystem, DocumentSegment.key == key))
            session.add(DocumentSegment(ecosystem=ecosystem, key=key, serial=serial, body=b"", etag=etag,
                                        md5_state=ResumableMD5().update(body).state()))
        self._pending(session)[(ecosystem, key)] = rows.to_stored(row)

    def append(self, session: Session, ecosystem: str, key: str, piece: bytes, *, serial: int) -> StoredDocument:
        """Grow an append-only document (written by `put(..., appendable=True)`) by `piece`: one
        new segment row, O(len(piece)); its ETag (the quoted MD5 of the whole) comes from the MD5
        state kept with the last segment. Returns the document without its body."""
        base = session.exec(select(Document.serial, Document.etag, Document.media_type, Document.kind, Document.public)
                            .where(Document.ecosystem == ecosystem, Document.key == key)).first()
        if base is None:
            raise KeyError(f"{ecosystem}/{key} has no base to append to")
        base_serial, base_etag, media_type, kind, public = base
        last = rows.last_segment(session, ecosystem, key)
        if last is None:  # a base written before segments existed: its MD5 state, once
            state = ResumableMD5().update(session.get(Document, (ecosystem, key)).body).state()
            after_serial, after_etag = base_serial, base_etag
        else:
            state, after_serial, after_etag = last.md5_state, max(base_serial, last.serial), last.etag
        md5 = ResumableMD5(state).update(piece)
        etag = f'"{md5.hexdigest()}"'
        if last is not None and last.serial == serial:  # a second append in the same change
            last.body, last.etag, last.md5_state = last.body + piece, etag, md5.state()
            session.add(last)
        else:
            session.add(DocumentSegment(ecosystem=ecosystem, key=key, serial=serial, body=piece, etag=etag, md5_state=md5.state()))
        doc = StoredDocument(b"", etag, media_type, kind, public, serial)
        pending = self._pending(session)
        earlier = pending.get((ecosystem, key))
        if isinstance(earlier, StoredDocument):  # written whole earlier in this change
            pending[(ecosystem, key)] = replace(doc, body=earlier.body + piece)
        elif isinstance(earlier, Appended):
            pending[(ecosystem, key)] = Appended(earlier.after_serial, earlier.after_etag, earlier.piece + piece, doc)
        else:
            pending[(ecosystem, key)] = Appended(after_serial, after_etag, piece, doc)
        return doc

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

    def load_in(self, session: Session, ecosystem: str, prefix: str) -> list[str]:
        """The keys under `prefix`, their rows read in one query, for a writer about to `put` many of them."""
        return rows.load_under(session, ecosystem, prefix)

    def refresh_later(self, session: Session, ecosystem: str, key: str, render: AggregateRender, *, serial: int,
                      now: datetime) -> None:
        """Keep the public aggregate `key` (a listing whose cost grows with the registry) without the
        change waiting for its render: the change marks it stale at its serial (one small row,
        `stale/<key>`, in the transaction) and a background thread renders it after the commit,
        once for a burst of changes. Readers use `get_aggregate`, which renders a stale aggregate
        before answering, so a client that saw its change acknowledged still sees it listed, and
        every reader gets a whole document (the old one or the new one), never a partial one.

        A render reads the ecosystem's latest serial first, then the rows in one read session, so
        it shows at least every change up to that serial; it is stored set-if-newer by serial
        (row, files, Redis), so a slower render of an older serial never replaces a newer one."""
        self.put(session, ecosystem, stale_key(key), b"", serial=serial, now=now, kind=INTERNAL)
        later = session.info.get(_LATER)
        if later is None:
            later = session.info[_LATER] = {}
            after_commit(session, lambda: self.background.submit(session.info.pop(_LATER, {})))
        later[(ecosystem, key)] = render

    def get_aggregate(self, ecosystem: str, key: str, render: AggregateRender, io: bool = True) -> StoredDocument | None:
        """An aggregate that `refresh_later` keeps: when a change it misses is marked, render it
        first (at most one render per aggregate at a time in this process). With the database
        away the stored (older) aggregate is served."""
        doc = self.get(ecosystem, key, io)
        try:
            marker = self.get(ecosystem, stale_key(key), io)
        except NeedsIO:
            raise
        except Exception:  # the database is away (no copy of the marker to tell): serve what is stored
            log.warning("could not learn whether %s/%s is stale; serving the stored one", ecosystem, key, exc_info=True)
            return doc
        if marker is None or (doc is not None and doc.serial >= marker.serial):
            return doc
        if not io:
            raise NeedsIO()
        lock = self._aggregate_locks.setdefault((ecosystem, key), threading.Lock())
        try:
            with lock:
                self.render_aggregate(ecosystem, key, render)
            with self.db.read() as session:  # the copies and this process's memo may lag behind
                fresh = rows.read(session, ecosystem, key)
        except Exception:
            log.warning("could not bring %s/%s up to date; serving the stored one", ecosystem, key, exc_info=True)
            return doc
        if fresh is not None and self.redis is not None:
            serial = self.serials.current(ecosystem)
            self.memo.put((ecosystem, key), serial, fresh)
            self.memo.put((ecosystem, stale_key(key)), serial, StoredDocument.tombstone(fresh.serial))
        return fresh

    def render_aggregate(self, ecosystem: str, key: str, render: AggregateRender, *, now: datetime | None = None) -> bool:
        """Render and store one aggregate now (see `refresh_later`), and clear its stale marker (see
        `refresh_later`) when the render covers it; False when it was already current."""
        marker = stale_key(key)
        with self.db.read() as session:
            serial = int(session.exec(select(func.max(JournalEntry.id)).where(JournalEntry.ecosystem == ecosystem)).one() or 0)
            stored, stale = _serial_of(session, ecosystem, key), _serial_of(session, ecosystem, marker)
            current = stored is not None and stored >= serial
            if current and stale is None:
                return False
            rendered = None if current else render(session, serial)
        wrote = False
        with self.db.write(lock=ecosystem) as session:  # a short transaction: one or two rows
            stored = _serial_of(session, ecosystem, key)
            if rendered is not None and (stored is None or stored < serial):
                body, etag, media_type = rendered
                self.put(session, ecosystem, key, body, serial=serial, now=now or _utcnow(), etag=etag, media_type=media_type,
                         public=True)
                wrote = True
            stale = _serial_of(session, ecosystem, marker)
            if stale is not None and stale <= serial:
                self.remove(session, ecosystem, marker, serial=serial)
                wrote = True
        if wrote:  # name both to every process: one holding the older aggregate in its memo drops it
            self.serials.publish(ecosystem, serial)
        return rendered is not None

    def _pending(self, session: Session) -> dict[tuple[str, str], StoredDocument]:
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = {}
            after_commit(session, lambda: self.write_through(session.info.pop(_PENDING, {})))
        return pending

    # -- write-through (after the commit) --------------------------------------------------------

    def materializable(self, doc: StoredDocument) -> bool:
        return doc.public and not self.private_registry and doc.kind in (DOCUMENT, BLOB)

    def resolve(self, ecosystem: str, key: str, appended: Appended) -> StoredDocument | None:
        """The whole document after an append: a copy at the serial before it plus the piece, or
        (a copy lagging behind, or ahead: another process wrote meanwhile) the rows assembled."""
        before = None
        if self.files is not None:
            found = self.files.read(ecosystem, key)
            before = found[1] if found is not None else None
        elif self.redis is not None:
            try:
                before = self.redis.read(ecosystem, key)
            except RedisUnavailable:
                before = None
        if before is not None and before.serial == appended.after_serial and before.etag == appended.after_etag:
            return replace(appended.doc, body=before.body + appended.piece)
        with self.db.read() as session:
            return rows.read(session, ecosystem, key)  # None: removed meanwhile (its tombstone is on the way)

    def write_through(self, pending: dict[tuple[str, str], StoredDocument | Appended]) -> None:
        """Copies never fail a committed change: a copy that could not be written is refilled from
        the database by the next read that misses it, or by the start-up sync. An append grows the
        public file for nginx in place when it holds the document just before the append."""
        for ecosystem in {eco for eco, _ in pending}:  # named in the change's serial notification
            self.serials.changed(ecosystem, {
                key: (entry.doc if isinstance(entry, Appended) else entry).serial
                for (eco, key), entry in pending.items() if eco == ecosystem})
        appends = {item: entry for item, entry in pending.items() if isinstance(entry, Appended)}
        whole = {item: entry for item, entry in pending.items() if not isinstance(entry, Appended)}
        for (eco, key), entry in appends.items():
            try:
                doc = self.resolve(eco, key, entry)
            except Exception:  # the database is away: the copy is refilled from the rows later
                log.exception("could not assemble %s/%s for its copies", eco, key)
                continue
            if doc is not None:
                whole[(eco, key)] = doc
        if self.files is not None:
            for ecosystem in sorted({eco for eco, _ in whole}):
                try:
                    with self.files.locked(ecosystem):
                        for (eco, key), doc in whole.items():
                            if eco != ecosystem:
                                continue
                            entry = appends.get((eco, key))
                            grow = (entry.after_etag, entry.piece) if entry is not None and doc.serial == entry.doc.serial else None
                            written = self.files.write(eco, key, doc, materialize=self.materializable(doc), grow=grow)
                            if written and key.startswith(STALE_PREFIX) and not doc.absent:
                                self._withdraw_public(eco, key[len(STALE_PREFIX):], doc.serial)
                except OSError:
                    log.exception("could not write documents of %s through to files", ecosystem)
        if self.redis is not None:
            self._redis_backlog.update(whole)
            if not self.redis.redis.available:
                # Other processes may trust Redis again already: a change must reach it if it answers.
                self.redis.redis.probe()
            self._flush_redis_backlog()

    def _withdraw_public(self, ecosystem: str, key: str, stale_serial: int) -> None:
        """A static front must not serve an aggregate a change has made stale: without its public
        file it asks the app, which renders it first (`get_aggregate`)."""
        assert self.files is not None
        found = self.files.read(ecosystem, key)
        if found is None or found[1].serial < stale_serial:
            self.files.materialize(ecosystem, key, None)

    def _repair_redis(self) -> None:
        """Redis is back after an outage: documents that changed meanwhile (in any process; their
        write-through failed) are written again from the rows, before this process reads Redis.
        With the database away too the repair waits for it (tried again at most once a
        `REPAIR_RETRY_SECONDS`), and reads go on meanwhile from what Redis and the memo hold, as
        they do when the serial feed's repair cannot run (`_repair_gap`): a page that exists is
        served, if older than the change Redis missed, rather than a 503."""
        assert self.redis is not None
        if time.monotonic() < self._repair_retry_at:
            return
        with self._repair_lock:
            recoveries = self.redis.redis.recoveries
            if recoveries == self._repaired_recoveries or time.monotonic() < self._repair_retry_at:
                return
            try:
                with self.db.read() as session:
                    changed = [(eco, key, doc) for eco in rows.ecosystems(session)
                               for key, doc in rows.changed_since(session, eco, self._healthy_serial.get(eco, 0))]
            except (ServiceUnavailable, InsufficientStorage):
                if not self._repair_retry_at:  # once per wait, not once per try
                    log.warning("Redis is back but the database is not: its copies are repaired once the database answers")
                self._repair_retry_at = time.monotonic() + REPAIR_RETRY_SECONDS
                return
            try:
                for start in range(0, len(changed), 500):
                    self.redis.write_many(changed[start:start + 500])
            except RedisUnavailable:
                return  # down again: the next recovery repairs
            self._repaired_recoveries, self._repair_retry_at = recoveries, 0.0

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

    def _repair_gap(self) -> None:
        """This process's serial feed lost Redis and has not resubscribed yet: repair first (see
        `SerialBoard.repair_gap`). While the repair cannot run, reads go on as they would."""
        try:
            self.serials.repair_gap()
        except (RedisUnavailable, ServiceUnavailable, InsufficientStorage):
            log.debug("the Redis copies wait for their repair", exc_info=True)

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
            doc = self._memo_from_file(ecosystem, key)
            if doc is not None:
                return doc
        serial = self.serials.current(ecosystem) if io else self._serial_without_io(ecosystem)
        # known absent at this serial (an aggregate's cleared stale marker, read with every read of it);
        # put only for keys that passed `safe_key`, so a hit needs no check
        if self.memo.get(("absent", ecosystem, key), serial) is not None:
            return None
        if not safe_key(key):
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
        if io and self.serials.gap_since is not None and self.redis.redis.available:
            self._repair_gap()
        if self._redis_backlog and io:
            self._flush_redis_backlog()
        validity = self.serials.validity(ecosystem)
        stamp: object = None
        if validity is not None:  # every change reaches this process with its keys: a hit costs no I/O
            doc = self.memo.get((ecosystem, key), ("feed", validity))
            if doc is not None and doc.serial >= self.serials.changed_at(ecosystem, key):
                return doc
            stamp = ("feed", validity)  # never equal to a serial stamp below
        healthy = self.redis.redis.available
        if not io:
            serial = self._serial_without_io(ecosystem)
        else:
            try:  # with a live feed too: a feed back after a gap asks the journal once
                serial = self.serials.current(ecosystem)
            except (ServiceUnavailable, InsufficientStorage) as exc:
                return self._without_serial(ecosystem, key, exc)
        if healthy and self.redis.redis.available:
            self._healthy_serial[ecosystem] = serial
        if stamp is None:
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

    def _serial_without_io(self, ecosystem: str) -> int:
        """The serial to validate a read on the event loop: NeedsIO when it takes a round trip
        (the journal, or Redis without a live feed), which could hold every request of the
        worker for as long as the database or Redis takes to answer, or to time out."""
        serial = self.serials.known(ecosystem)
        if serial is None:
            raise NeedsIO()
        return serial

    def _without_serial(self, ecosystem: str, key: str, fault: Exception) -> StoredDocument | None:
        """No serial to validate against: the database is away, and Redis too from this process's
        view (or it lost the serial, or this process's feed, back after a gap, asks the journal
        once before it trusts Redis's serial again). Serve the copy this process holds, else the
        file copy, else Redis's, rather than a 503; without any the database's error stands. Kept
        nowhere: the next read asks again."""
        doc = self.memo.held((ecosystem, key))
        if doc is None and safe_key(key):
            if self.files is not None:
                found = self.files.read(ecosystem, key)
                doc = None if found is None else found[1]
            if doc is None and self.redis is not None:
                doc = self._redis_copy_now(ecosystem, key)
        if doc is None:
            raise fault
        return doc

    def _redis_copy_now(self, ecosystem: str, key: str) -> StoredDocument | None:
        """Redis's copy, Redis tried at once even while this process's breaker cools down: with the
        database away it is the last place the page can come from. (Each worker's breaker opens
        while Redis is away, and cools down for up to `max_cooldown` after Redis is back: a worker
        that had not read the page would otherwise answer 503 meanwhile.)"""
        assert self.redis is not None
        if not self.redis.redis.available and not self.redis.redis.probe():
            return None
        try:
            return self.redis.read(ecosystem, key)
        except RedisUnavailable:
            return None

    def load_hot(self, hot: dict[str, tuple[str, ...]], aggregates: dict[str, tuple[str, ...]]) -> int:
        """Load the public documents under each ecosystem's hot key prefixes
        (`ProtocolAdapter.hot_documents`, the pages clients walk) into the memo, before this worker
        serves. Otherwise a fresh worker's first read of each page would read and parse its file,
        or with Redis take a thread hop and a round trip: at 10,000 projects two thirds of the warm
        rate (files) or a sixth of it or less (Redis), for as long as it takes every worker to
        read every page once. At most half the memo; the rest is read on its first request, as
        before. Each entry is stamped as a read stamps it (the file's stat; with Redis, once this
        process follows the serial feed, the serial feed's), so a change made while loading makes
        its entry miss. With them, the stale markers of the `aggregates` among them
        (`get_aggregate` reads one with each read; a marker that is not there is remembered as
        such): without them each worker's first readers of a root listing all went to the database
        (and Redis) at once (its cold p99 on PostgreSQL + Redis: 16-54 ms).
        Returns how many documents."""
        if self.private_registry:
            return 0
        if self.redis is None:
            return self._load_hot_files(hot, aggregates)
        room, loaded = MEMO_ENTRIES // 2, 0
        for ecosystem, prefixes in hot.items():
            validity = self.serials.validity(ecosystem)
            if validity is None:  # not following changes: nothing could tell these entries are stale
                continue
            with self.db.read() as session:
                keys = self._hot_keys(session, ecosystem, prefixes, room)
                markers = {marker: rows.read(session, ecosystem, marker) or StoredDocument.tombstone(0)
                           for marker in (stale_key(key) for key in aggregates.get(ecosystem, ()))}
            for start in range(0, len(keys), HOT_BATCH):
                batch = keys[start:start + HOT_BATCH]
                for key, doc in zip(batch, self.redis.read_many(ecosystem, batch)):
                    if doc is not None and not doc.absent and doc.serial >= self.serials.changed_at(ecosystem, key):
                        self.memo.put((ecosystem, key), ("feed", validity), doc)
                        loaded += 1
            room -= len(keys)
            for key, doc in markers.items():
                if doc.serial >= self.serials.changed_at(ecosystem, key):
                    self.memo.put((ecosystem, key), ("feed", validity), doc)
        return loaded

    def _load_hot_files(self, hot: dict[str, tuple[str, ...]], aggregates: dict[str, tuple[str, ...]]) -> int:
        """`load_hot` on the embedded default: each file read and stamped as `_get_from_files` does;
        a stale marker without a row remembered as absent at the serial read before the rows."""
        assert self.files is not None
        room, loaded = MEMO_ENTRIES // 2, 0
        for ecosystem, prefixes in hot.items():
            serial = self.serials.current(ecosystem)
            with self.db.read() as session:
                keys = self._hot_keys(session, ecosystem, prefixes, room)
                markers = [stale_key(key) for key in aggregates.get(ecosystem, ())]
                absent = [marker for marker in markers if rows.read(session, ecosystem, marker) is None]
            for key in keys:
                loaded += self._memo_from_file(ecosystem, key) is not None
            for marker in markers:
                self._memo_from_file(ecosystem, marker)
            for marker in absent:
                self.memo.put(("absent", ecosystem, marker), serial, StoredDocument.tombstone(serial))
            room -= len(keys)
        return loaded

    def _memo_from_file(self, ecosystem: str, key: str) -> StoredDocument | None:
        """The file copy, put in the memo stamped by the stat it was read under (None: no file)."""
        found = self.files.read(ecosystem, key)
        return None if found is None else self.memo.put((ecosystem, key), found[0], found[1])

    @staticmethod
    def _hot_keys(session: Session, ecosystem: str, prefixes: tuple[str, ...], room: int) -> list[str]:
        keys: list[str] = []
        for prefix in prefixes:
            keys += rows.served_keys_under(session, ecosystem, prefix, room - len(keys))
        return keys

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

    def memo_counts(self):
        """(counter, labels, total) of this process's memo lookups, for the metrics."""
        for name, memo in (("documents", self.memo), ("filled_templates", self.filled_memo)):
            yield "packyard_memo_lookups_total", (name, "hit"), memo.hits
            yield "packyard_memo_lookups_total", (name, "miss"), memo.misses

    def filled(self, doc: StoredDocument, base: str, serial: int | None = None) -> tuple[bytes, str]:
        """A `template` document's body for one base URL (and `serial`, see `StoredDocument.fill`)
        and its ETag, memoized per (document, base, serial)."""
        from packyard.http.serve import strong_etag

        key = (doc.etag, doc.serial, base, serial)
        hit = self.filled_memo.get(key, doc.etag)
        if hit is not None:
            return hit
        body = doc.fill(base, serial)
        return self.filled_memo.put(key, doc.etag, (body, strong_etag(body)))


def _serial_of(session: Session, ecosystem: str, key: str) -> int | None:
    return session.exec(select(Document.serial).where(Document.ecosystem == ecosystem, Document.key == key)).first()


def _utcnow() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)
