"""Upstream's `/versions` lines, appended to packyard's own as upstream appends them.

The first sync GETs upstream's whole body; each later one asks only for what follows the last line
read (`Range: bytes=<offset of that line>-`, `If-None-Match: <upstream's ETag>`), so an unchanged
upstream costs a 304 and a release costs a 206 of its new lines. The answer must start with the
last line read, or upstream's body was replaced (its monthly compaction): packyard then reads the
new body whole and compacts its own `/versions` with it.

The new lines, minus those of names that resolve locally (`local_names`), are appended to
packyard's `/versions` in the ecosystem's serialized write transaction, together with the position
read so far (an internal document), so two workers that fetched the same tail append it once.
A sync runs when `/versions` is read and the last one (in this process) is older than the cache
lifetime, and on that schedule in the background; a failed one leaves `/versions` as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import anyio.to_thread

from packyard.errors import PackyardError
from packyard.models import ChangeAction
from packyard.services.journal import record_ecosystem_event

from packyard_rubygems.index import documents, versions_index
from packyard_rubygems.upstream import local_names, versions_feed
from packyard_rubygems.upstream.versions_feed import NotAVersionsFile, Position

if TYPE_CHECKING:
    from packyard.registry import Registry
    from packyard.upstream.client import UpstreamClient

log = logging.getLogger(__name__)
ECOSYSTEM = documents.ECOSYSTEM
POSITION_KEY = documents.UPSTREAM_VERSIONS_POSITION


def stored_position(registry: Registry, session=None) -> Position | None:
    """How far upstream's body has been read (None: never); from the row inside a write transaction."""
    doc = (registry.documents.read_in(session, ECOSYSTEM, POSITION_KEY) if session is not None
           else registry.documents.get(ECOSYSTEM, POSITION_KEY))
    return None if doc is None else Position.from_json(json.loads(doc.body))


class VersionsSync:
    def __init__(self, registry: Registry, client: UpstreamClient, url: str, lifetime: float):
        self.registry = registry
        self.client = client
        self.url = url
        self.lifetime = lifetime
        self._checked: float | None = None
        self._lock: asyncio.Lock | None = None
        self._schedule: asyncio.Task | None = None

    def _due(self) -> bool:
        return self._checked is None or time.monotonic() - self._checked >= self.lifetime

    async def refresh_if_due(self) -> None:
        """Sync unless this process did within the cache lifetime; never raises (stale is fine)."""
        self.start_schedule()
        if not self._due():
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._due():
                return
            try:
                await self.refresh()
            except (PackyardError, NotAVersionsFile) as exc:
                log.warning("upstream /versions not synced: %s", getattr(exc, "detail", exc))
            finally:
                self._checked = time.monotonic()
            try:
                await anyio.to_thread.run_sync(self.drop_reserved)
            except PackyardError as exc:
                log.warning("reserved names not checked against /versions: %s", exc.detail)

    def start_schedule(self) -> None:
        """Sync every cache lifetime in the background (started by the first request this process serves)."""
        if self._schedule is None or self._schedule.done():
            self._schedule = asyncio.get_running_loop().create_task(self._scheduled())

    async def _scheduled(self) -> None:
        while True:
            await asyncio.sleep(max(self.lifetime, 1.0))
            await self.refresh_if_due()

    async def refresh(self) -> None:
        """One sync: fetch what upstream appended and append it here."""
        position = await anyio.to_thread.run_sync(stored_position, self.registry)
        url = self.url
        if position is not None:
            headers = {"Range": f"bytes={position.tail_start()}-"}
            if position.etag:
                headers["If-None-Match"] = position.etag
            response = await self.client.get(url, headers)
            if response.status_code == 304:
                return
            if response.status_code == 206:
                read = versions_feed.read_tail(position, response.content, response.headers.get("etag", ""))
                if read is not None:
                    new_position, lines = read
                    await anyio.to_thread.run_sync(self._append, position, new_position, lines, False)
                    return
            elif response.status_code == 200 and versions_feed.continues(position, response.content):
                read = versions_feed.read_tail(position, response.content[position.tail_start():], response.headers.get("etag", ""))
                assert read is not None
                await anyio.to_thread.run_sync(self._append, position, *read, False)
                return
            elif response.status_code not in (200, 416):
                raise UnexpectedAnswer(self.client.describe(), response.status_code)
            if response.status_code != 200:  # replaced, or upstream ignores the overlap: read it whole
                response = await self.client.get(url)
        else:
            response = await self.client.get(url)
        if response.status_code != 200:
            raise UnexpectedAnswer(self.client.describe(), response.status_code)
        new_position, lines = versions_feed.read_full(response.content, response.headers.get("etag", ""))
        await anyio.to_thread.run_sync(self._append, position, new_position, lines, position is not None)

    def drop_reserved(self) -> None:
        """Names reserved since the last look whose upstream lines are in `/versions` already: a
        compaction drops them (a reservation is the core's; it does not reach the adapter's writer)."""
        registry = self.registry
        with registry.db.read() as session:
            position = stored_position(registry, session)
            newest = local_names.newest_reservation(session)
        if position is None or newest is None or not _after(newest, position.reserved_seen):
            return
        with registry.db.write(lock=ECOSYSTEM) as session:
            position = stored_position(registry, session)
            if position is None or not _after(newest, position.reserved_seen):
                return
            since = datetime.fromisoformat(position.reserved_seen) if position.reserved_seen else None
            body = versions_index.current(registry.documents, session) or b""
            now = registry.clock.now()
            serial = record_ecosystem_event(registry, session, ECOSYSTEM, ChangeAction.REINDEX)
            if any(versions_index.mentions(body, name) for name in local_names.reserved_since(session, since)):
                versions_index.rebuild(registry.documents, session, serial, now, local=local_names.matcher(session))
            self._put_position(session, replace(position, reserved_seen=newest.isoformat()), serial, now)
        registry.publish_serial(ECOSYSTEM, serial)

    def _put_position(self, session, position: Position, serial: int, now) -> None:
        self.registry.documents.put(session, ECOSYSTEM, POSITION_KEY, json.dumps(position.to_json()).encode(), serial=serial,
                                    now=now, kind="internal")

    def _append(self, expected: Position | None, position: Position, lines: list[bytes], replaced: bool) -> None:
        """Append `lines` (a whole new upstream body when `replaced`: compact with it instead), unless
        another process moved the position meanwhile (it appended the same lines)."""
        if expected is not None and position == expected:
            return
        registry = self.registry
        store = registry.documents
        with registry.db.write(lock=ECOSYSTEM) as session:
            if stored_position(registry, session) != expected:
                return
            now = registry.clock.now()
            serial = record_ecosystem_event(registry, session, ECOSYSTEM, ChangeAction.REINDEX)
            local = local_names.matcher(session)
            if replaced:
                versions_index.rebuild(store, session, serial, now, upstream_lines=lines, local=local)
            else:
                kept = versions_feed.keep_lines(lines, local)
                if kept:
                    versions_index.append(store, session, serial, kept, now)
            self._put_position(session, replace(position, reserved_seen=expected.reserved_seen if expected else ""), serial, now)
        registry.publish_serial(ECOSYSTEM, serial)


def _after(moment: datetime, seen: str) -> bool:
    return not seen or moment > datetime.fromisoformat(seen)


class UnexpectedAnswer(PackyardError):
    status_code = 502

    def __init__(self, upstream: str, status: int):
        super().__init__(f"The upstream {upstream} answered /versions with HTTP {status}.")
