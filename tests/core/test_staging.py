"""Receiving an upload: the bytes are hashed, written and fsynced off the event loop, so a large
upload arriving does not stall the other requests of its process."""

from __future__ import annotations

import hashlib
import os
import threading

import anyio
import pytest

from packyard.errors import PayloadTooLarge
from packyard.storage import staging
from packyard.storage.staging import STAGE_BATCH, StagingArea


async def _chunks(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_an_upload_is_hashed_written_and_fsynced_off_the_event_loop(tmp_path, monkeypatch):
    data = os.urandom(3 * STAGE_BATCH + 12345)
    threads: dict[str, set[int]] = {"write": set(), "fsync": set()}
    write, fsync = staging.PartFile.write, os.fsync

    def recording_write(part, chunk):
        threads["write"].add(threading.get_ident())
        return write(part, chunk)

    def recording_fsync(fd):
        threads["fsync"].add(threading.get_ident())
        return fsync(fd)

    monkeypatch.setattr(staging.PartFile, "write", recording_write)
    monkeypatch.setattr(staging.os, "fsync", recording_fsync)

    async def receive():
        return threading.get_ident(), await StagingArea(tmp_path).stage(_chunks(data, 65536), max_bytes=None)

    loop_thread, staged = anyio.run(receive)
    assert threads["write"] and threads["fsync"]
    assert loop_thread not in threads["write"] | threads["fsync"]
    assert staged.path.read_bytes() == data and staged.size == len(data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.md5 == hashlib.md5(data).hexdigest()
    assert staged.blake2b_256 == hashlib.blake2b(data, digest_size=32).hexdigest()


def test_an_upload_over_the_limit_is_refused_and_leaves_no_part_file(tmp_path):
    async def receive():
        await StagingArea(tmp_path).stage(_chunks(os.urandom(2 * STAGE_BATCH + 1), 65536), max_bytes=STAGE_BATCH)

    with pytest.raises(PayloadTooLarge):
        anyio.run(receive)
    assert not list(tmp_path.glob("*.part"))
