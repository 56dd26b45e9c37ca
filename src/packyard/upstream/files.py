"""Verified fetches of upstream files: streamed to the client while written to staging and hashed;
kept as a blob (and recorded) only when the sha256 equals the one the upstream's index announced.

The last chunk is held back until the whole file is hashed: when the bytes differ from the
announced digest the client never receives a complete file (the response is cut short, so pip,
uv and gem fail the download) and nothing is kept.

One fetch per file at a time: within a process, a second request for a file in flight waits for the
first (asyncio); across worker processes and replicas, the fetching process holds a row of
`upstream_claim` (inserted: the primary key makes it exclusive), refreshed while the bytes flow,
and the others poll (every 0.2 s) until the blob exists, then serve it from storage. A claim left
by a process that died is taken over once it has not been refreshed for `_CLAIM_STALE`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from packyard.errors import PackyardError
from packyard.models import Blob, UpstreamClaim, UpstreamFetch
from packyard.upstream.client import UpstreamClient, UpstreamUnavailable, redacted
from packyard.upstream.staging_writer import StagingWriter

if TYPE_CHECKING:
    from packyard.registry import Registry

log = logging.getLogger("packyard.upstream")

CHUNK = 1024 * 1024
_WRITER_DEPTH = 16  # chunks the staging writer may lag behind the client (bounds the memory a download holds)
_CLAIM_REFRESH = timedelta(seconds=5)
_CLAIM_STALE = timedelta(seconds=30)
_POLL_SECONDS = 0.2


class UpstreamFileMismatch(PackyardError):
    """The upstream's bytes are not the ones its index announced (sha256 or size)."""

    status_code = 502


@dataclass(frozen=True)
class ProxiedFile:
    """A file an upstream index announced: where to fetch it and what its bytes must hash to."""

    package: str  # normalized name
    filename: str
    url: str  # absolute, or relative to the upstream's base URL
    sha256: str
    size: int | None = None
    version: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Download:
    """A first download in progress: iterate `chunks()` to the end (it keeps the blob and records
    the fetch before the last chunk), or `close()` it when not sending; `size` is the announced
    size when known."""

    def __init__(self, owner: UpstreamFiles, file: ProxiedFile, url: str, stream, response):
        self._owner = owner
        self.file = file
        self.url = url
        self._stream = stream  # the client's stream context, closed when done
        self._response = response
        self.size = file.size if file.size is not None else _content_length(response)
        self._closed = False

    async def close(self) -> None:
        """Let go of the upstream connection and the fetch claim (idempotent)."""
        if not self._closed:
            self._closed = True
            try:
                await self._stream.__aexit__(None, None, None)
            finally:
                await self._owner._release(self.file.sha256)

    def _mismatch(self, what: str) -> UpstreamFileMismatch:
        file = self.file
        log.error("refused %s from %s: %s; its index announced sha256 %s (%s bytes)", file.filename, self.url, what, file.sha256, file.size)
        return UpstreamFileMismatch(f"The upstream {self._owner.client.describe()} sent bytes for {file.filename} that do not "
                                    f"match the sha256 its index announced; nothing was kept.")

    async def chunks(self) -> AsyncIterator[bytes]:
        owner, file = self._owner, self.file
        writer: StagingWriter | None = StagingWriter(owner.registry.storage.staging.open_part(None, sha256_only=True), _WRITER_DEPTH)
        held: bytes | None = None
        refreshed = _now()
        received = 0
        try:
            async for chunk in _coalesced(self._response):
                received += len(chunk)
                if file.size is not None and received > file.size:
                    raise self._mismatch(f"more than the {file.size} bytes its index announced")
                await writer.write(chunk)  # written and hashed on the writer's thread, overlapping the network
                if held is not None:
                    yield held
                held = chunk
                if _now() - refreshed > _CLAIM_REFRESH:
                    refreshed = _now()
                    await run_in_threadpool(owner._refresh_claim, file.sha256)
            staged = await writer.finish()
            writer = None
            if staged.sha256 != file.sha256 or (file.size is not None and staged.size != file.size):
                owner.registry.storage.discard(staged)
                raise self._mismatch(f"sha256 {staged.sha256}, {staged.size} bytes")
            await run_in_threadpool(owner._keep, staged, file, self.url)
            if held is not None:
                yield held
        finally:
            if writer is not None:
                writer.abort()
            await self.close()


async def _coalesced(response) -> AsyncIterator[bytes]:
    """The body in chunks of about CHUNK bytes: the socket's reads joined (one copy), so each
    hand-over to the staging writer and each send carries a useful amount."""
    if response.headers.get("content-encoding", "identity") != "identity":
        async for chunk in response.aiter_bytes(CHUNK):
            yield chunk
        return
    pieces: list[bytes] = []
    size = 0
    async for piece in response.aiter_raw():
        pieces.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield b"".join(pieces)
            pieces, size = [], 0
    if pieces:
        yield b"".join(pieces)


def _content_length(response) -> int | None:
    if response.headers.get("content-encoding", "identity") != "identity":
        return None
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


class UpstreamFiles:
    def __init__(self, registry: Registry, ecosystem: str, client: UpstreamClient):
        self.registry = registry
        self.ecosystem = ecosystem
        self.client = client
        self._in_flight: dict[str, asyncio.Event] = {}
        self._local: dict[str, int] = {}  # sizes of blobs known to be stored (never removed while referenced)

    async def local_size(self, sha256: str) -> int | None:
        """The stored blob's size, or None when it is not stored (yet)."""
        size = self._local.get(sha256)
        if size is None:
            blob = await run_in_threadpool(self.registry.storage.stat, sha256)
            if blob is None:
                return None
            size = self._local[sha256] = blob.size
        return size

    async def is_local(self, sha256: str) -> bool:
        return await self.local_size(sha256) is not None

    async def fetch(self, file: ProxiedFile) -> Download | None:
        """None when the file is stored (now or all along): serve it from storage. Otherwise a
        Download the caller streams to its client. Raises UpstreamUnavailable (502) when the
        upstream cannot send it."""
        while True:
            if await self.is_local(file.sha256):
                return None
            event = self._in_flight.get(file.sha256)
            if event is not None:
                await event.wait()  # the fetch in flight here ended: stored, or failed (then try ourselves)
                continue
            event = self._in_flight[file.sha256] = asyncio.Event()
            try:
                claimed = await self._claim_or_wait(file.sha256)
            except BaseException:
                self._end(file.sha256)
                raise
            if not claimed:
                self._end(file.sha256)
                continue
            try:
                return await self._open(file)
            except BaseException:
                await self._release(file.sha256)
                raise

    async def _open(self, file: ProxiedFile) -> Download:
        url = self.client.url(file.url)
        stream = self.client.stream(url, {"accept-encoding": "identity"})
        response = await stream.__aenter__()
        if response.status_code != 200:
            await stream.__aexit__(None, None, None)
            raise UpstreamUnavailable(f"The upstream {self.client.describe()} answered {response.status_code} for {redacted(url)}.")
        return Download(self, file, url, stream, response)

    async def _claim_or_wait(self, sha256: str) -> bool:
        """True: this process fetches. False: another one did meanwhile (or gave up): look again."""
        while True:
            if await run_in_threadpool(self._try_claim, sha256):
                return True
            await asyncio.sleep(_POLL_SECONDS)
            if await self.is_local(sha256):
                return False

    def _try_claim(self, sha256: str) -> bool:
        now = _now()
        try:
            with self.registry.db.write() as session:
                claim = session.get(UpstreamClaim, sha256)
                if claim is not None:
                    if now - claim.claimed_at < _CLAIM_STALE:
                        return False
                    claim.claimed_at = now  # its holder died: take it over
                else:
                    claim = UpstreamClaim(sha256=sha256, claimed_at=now)
                session.add(claim)
            return True
        except IntegrityError:
            return False

    def _refresh_claim(self, sha256: str) -> None:
        with self.registry.db.write() as session:
            claim = session.get(UpstreamClaim, sha256)
            if claim is not None:
                claim.claimed_at = _now()
                session.add(claim)

    def _keep(self, staged, file: ProxiedFile, url: str) -> None:
        """Store the verified blob, then its rows: the fetch record and a `blob` row (so `packyard gc`
        keeps it); the claim goes in the same transaction."""
        self.registry.storage.keep(staged)
        with self.registry.db.write() as session:
            if session.get(Blob, staged.sha256) is None:
                session.add(Blob(sha256=staged.sha256, size=staged.size, created_at=self.registry.clock.now()))
            session.add(UpstreamFetch(ecosystem=self.ecosystem, package=file.package, version=file.version, filename=file.filename,
                                      sha256=staged.sha256, size=staged.size, upstream_url=redacted(url), at=self.registry.clock.now()))
            claim = session.get(UpstreamClaim, staged.sha256)
            if claim is not None:
                session.delete(claim)
        self._local[staged.sha256] = staged.size

    async def _release(self, sha256: str) -> None:
        try:
            await run_in_threadpool(self._delete_claim, sha256)
        except PackyardError as exc:  # the database is away: the claim goes stale and is taken over
            log.warning("could not release the fetch claim of %s: %s", sha256, exc.detail)
        finally:
            self._end(sha256)

    def _delete_claim(self, sha256: str) -> None:
        with self.registry.db.write() as session:
            claim = session.get(UpstreamClaim, sha256)
            if claim is not None:
                session.delete(claim)

    def _end(self, sha256: str) -> None:
        event = self._in_flight.pop(sha256, None)
        if event is not None:
            event.set()
