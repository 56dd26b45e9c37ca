"""Upstream documents (index pages), cached: a row per document with the upstream's ETag and the
time it was fetched and last confirmed, plus a per-process memo of the adapter's renders of it.

A page younger than `PACKYARD_UPSTREAM_CACHE_SECONDS` is served without asking the upstream; an
older one is revalidated (`If-None-Match`). When the upstream is unreachable, answers 5xx or
refuses us (401/403/429), the last copy is served, marked stale, and the upstream is asked again
only after another cache lifetime; a document never fetched then raises `UpstreamUnavailable`
(502, naming the upstream). A 404/410 from the upstream removes the copy.

Ages are wall-clock times (every process and replica compares the same `checked_at`); the renders
an adapter derives from a page (`CachedPage.derived`) are made once per fetched body per process.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from packyard.errors import InsufficientStorage, ServiceUnavailable
from packyard.models import UpstreamPage
from packyard.upstream.client import UpstreamClient, UpstreamUnavailable, redacted

if TYPE_CHECKING:
    from packyard.db import Database

log = logging.getLogger("packyard.upstream")
T = TypeVar("T")

_MEMO_ENTRIES = 2048
_GONE = (404, 410)
_REFUSED = (401, 403, 407, 429)


@dataclass(eq=False)
class CachedPage:
    """An upstream document as last fetched; `stale` when the upstream could not confirm it just now."""

    key: str
    url: str
    body: bytes
    etag: str | None
    media_type: str
    fetched_at: datetime
    checked_at: datetime
    stale: bool = False
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def render(self, name: str, make: Callable[[bytes], T]) -> T:
        """`make(body)`, computed once per fetched body in this process (re-used until the upstream
        sends new bytes): an adapter's rendering of the page, e.g. per negotiated format."""
        try:
            return self.derived[name]
        except KeyError:
            value = self.derived[name] = make(self.body)
            return value


def _now() -> datetime:
    return datetime.now(timezone.utc)


class UpstreamPages:
    def __init__(self, db: Database, ecosystem: str, client: UpstreamClient, cache_seconds: float):
        self.db = db
        self.ecosystem = ecosystem
        self.client = client
        self.lifetime = timedelta(seconds=cache_seconds)
        self._memo: OrderedDict[str, CachedPage] = OrderedDict()
        self._missing: dict[str, datetime] = {}  # keys the upstream answered 404 for, and when
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()  # gone when unused

    def _fresh(self, checked_at: datetime) -> bool:
        return _now() - checked_at < self.lifetime

    def _remember(self, page: CachedPage) -> CachedPage:
        self._memo[page.key] = page
        self._memo.move_to_end(page.key)
        while len(self._memo) > _MEMO_ENTRIES:
            self._memo.popitem(last=False)
        self._missing.pop(page.key, None)
        return page

    async def get(self, key: str, url: str, headers: dict[str, str] | None = None) -> CachedPage | None:
        """The document stored under `key`, fetched from `url` (a path below the upstream's base,
        or a full URL) when it is not cached or older than the cache lifetime. None: the upstream
        has no such document. Raises UpstreamUnavailable when it cannot be fetched and no copy is kept."""
        page = self._memo.get(key)
        if page is not None and self._fresh(page.checked_at):
            return page
        missing = self._missing.get(key)
        if page is None and missing is not None and self._fresh(missing):
            return None
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:  # one revalidation per key at a time in this process
            return await self._refresh(key, self.client.url(url), headers or {})

    async def _refresh(self, key: str, url: str, headers: dict[str, str]) -> CachedPage | None:
        page = self._memo.get(key)
        if page is not None and self._fresh(page.checked_at):
            return page  # refreshed while we waited for the lock
        row = await run_in_threadpool(self._load, key)
        if row is not None and (page is None or row.fetched_at != page.fetched_at or row.checked_at != page.checked_at):
            page = self._from_row(row, page)
            if self._fresh(page.checked_at):  # another process refreshed it
                return self._remember(page)
        if page is not None and page.etag:
            headers = {**headers, "if-none-match": page.etag}
        try:
            response = await self.client.get(url, headers)
        except UpstreamUnavailable as exc:
            return self._serve_stale(page, key, exc.detail)
        now = _now()
        if response.status_code == 304 and page is not None:
            page.checked_at, page.stale = now, False
            await self._store(page, touch_only=True)
            return self._remember(page)
        if response.status_code == 200:
            fresh = CachedPage(key=key, url=redacted(url), body=response.content, etag=response.headers.get("etag"),
                               media_type=response.headers.get("content-type", ""), fetched_at=now, checked_at=now)
            await self._store(fresh, touch_only=False)
            return self._remember(fresh)
        if response.status_code in _GONE:
            self._memo.pop(key, None)
            self._missing[key] = now
            if page is not None:
                await run_in_threadpool(self._delete, key)
            return None
        reason = f"The upstream {self.client.describe()} answered {response.status_code} for {redacted(url)}."
        if response.status_code >= 500 or response.status_code in _REFUSED:
            return self._serve_stale(page, key, reason)
        raise UpstreamUnavailable(reason)

    def _serve_stale(self, page: CachedPage | None, key: str, reason: str) -> CachedPage:
        if page is None:
            raise UpstreamUnavailable(f"{reason} No copy of this page is cached yet; try again when the upstream is back.")
        log.warning("serving a stale copy of %s %s: %s", self.ecosystem, key, reason)
        page.stale = True
        page.checked_at = _now()  # ask again after another cache lifetime, not on every read
        return self._remember(page)

    @staticmethod
    def _from_row(row: UpstreamPage, previous: CachedPage | None) -> CachedPage:
        page = CachedPage(key=row.key, url=row.url, body=row.body, etag=row.etag, media_type=row.media_type,
                          fetched_at=row.fetched_at, checked_at=row.checked_at)
        if previous is not None and previous.fetched_at == row.fetched_at and previous.etag == row.etag:
            page.derived = previous.derived  # same bytes: keep the renders
        return page

    def _load(self, key: str) -> UpstreamPage | None:
        try:
            with self.db.read() as session:
                return session.exec(select(UpstreamPage).where(UpstreamPage.ecosystem == self.ecosystem, UpstreamPage.key == key)).first()
        except ServiceUnavailable:
            return None  # the database is away: the memo (or the upstream) still answers

    async def _store(self, page: CachedPage, *, touch_only: bool) -> None:
        try:
            await run_in_threadpool(self._write, page, touch_only)
        except (ServiceUnavailable, InsufficientStorage) as exc:
            log.warning("could not keep the upstream page %s %s: %s", self.ecosystem, page.key, exc.detail)

    def _write(self, page: CachedPage, touch_only: bool) -> None:
        for _attempt in range(2):  # a concurrent insert of the same key by another process: update it then
            try:
                with self.db.write() as session:
                    row = session.exec(select(UpstreamPage).where(UpstreamPage.ecosystem == self.ecosystem, UpstreamPage.key == page.key)).first()
                    if row is None:
                        row = UpstreamPage(ecosystem=self.ecosystem, key=page.key, url=page.url, body=page.body, etag=page.etag,
                                           media_type=page.media_type, fetched_at=page.fetched_at, checked_at=page.checked_at)
                    elif touch_only:
                        row.checked_at = page.checked_at
                    else:
                        row.url, row.body, row.etag, row.media_type = page.url, page.body, page.etag, page.media_type
                        row.fetched_at, row.checked_at = page.fetched_at, page.checked_at
                    session.add(row)
                return
            except IntegrityError:
                continue

    def _delete(self, key: str) -> None:
        with self.db.write() as session:
            row = session.exec(select(UpstreamPage).where(UpstreamPage.ecosystem == self.ecosystem, UpstreamPage.key == key)).first()
            if row is not None:
                session.delete(row)
