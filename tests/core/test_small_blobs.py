"""The per-process memory of small blobs that lets a download skip its thread hop."""

from __future__ import annotations

import io

import anyio

from packyard.http.small_blobs import SMALL_BLOB, SmallBlobs


class Opener:
    """Openers of in-memory files that record which blobs were actually read."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.read = files, []

    def __call__(self, sha256: str):
        def open_blob():
            self.read.append(sha256)
            return io.BytesIO(self.files[sha256])

        return open_blob


def test_small_blobs_are_read_once_bounded_and_least_recently_used_first_out():
    files = {name: name.encode() * 10 for name in "abc"}
    opener = Opener(files)
    blobs = SmallBlobs(max_bytes=20)

    async def body(name: str) -> bytes | None:
        return await blobs.body(name, len(files[name]), opener(name))

    async def scenario() -> None:
        assert await body("a") == files["a"]
        assert await body("a") == files["a"]
        assert await body("b") == files["b"]
        assert await body("a") == files["a"]  # a is now the most recently used
        assert await body("c") == files["c"]  # 30 bytes > 20: b goes first
        assert await body("a") == files["a"]
        assert await body("b") == files["b"]

    anyio.run(scenario)
    # c pushed out b (least recently used), then b pushed out c
    assert opener.read == ["a", "b", "c", "b"]
    assert blobs._total == 20


def test_a_large_blob_or_one_of_another_size_is_not_kept():
    opener = Opener({"big": b"x" * (SMALL_BLOB + 1), "short": b"abc"})
    blobs = SmallBlobs()

    async def scenario() -> None:
        assert await blobs.body("big", SMALL_BLOB + 1, opener("big")) is None
        assert await blobs.body("short", 5, opener("short")) is None  # the document says 5 bytes: stream it instead

    anyio.run(scenario)
    assert blobs._total == 0
