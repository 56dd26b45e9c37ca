"""Blob storage in an S3-compatible object store: the storage contract, and a server running on it."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from packyard.storage import open_storage
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.support.object_store import CREDENTIALS, object_store


@pytest.fixture(scope="module")
def store():
    with object_store() as running:
        yield running


def test_stage_keep_open_seek_and_delete(store, tmp_path):
    storage = open_storage(store.storage_url("unit"), tmp_path / "incoming")
    data = bytes(range(256)) * 5000
    staged = storage.stage_sync([data[:1000], data[1000:]], max_bytes=None)
    assert staged.sha256 == hashlib.sha256(data).hexdigest() and staged.size == len(data)
    assert storage.keep(staged) is True
    assert not staged.path.exists()
    key = f"unit/{staged.sha256[:2]}/{staged.sha256[2:4]}/{staged.sha256}"
    assert key in store.keys()
    with storage.open(staged.sha256) as handle:
        assert handle.read() == data
        handle.seek(1_000_000)
        assert handle.read(10) == data[1_000_000:1_000_010]
    again = storage.stage_sync([data], max_bytes=None)
    assert storage.keep(again) is True and not again.path.exists()  # a small blob is written again: one request
    assert store.keys().count(key) == 1
    storage.check()
    storage.delete(staged.sha256)
    assert not storage.exists(staged.sha256)
    with pytest.raises(FileNotFoundError):
        storage.open(staged.sha256)


def test_a_server_on_object_storage_uploads_and_serves_ranges(store, server_factory, tmp_path):
    server = server_factory(extra_env={**CREDENTIALS, "PACKYARD_STORAGE_URL": store.storage_url("e2e")})
    token = server.mint_token("pypi:package:*:write")
    wheel = build_wheel(tmp_path, "on-s3", "1.0")
    payload = wheel.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    response = httpx.post(
        server.url + "/pypi/legacy/",
        auth=("__token__", token),
        data={":action": "file_upload", "protocol_version": "1", "name": "on-s3", "version": "1.0",
              "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1", "sha256_digest": digest},
        files={"content": (wheel.name, payload, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    assert any(key.endswith(digest) for key in store.keys())
    url = f"{server.url}/pypi/files/on-s3/{wheel.name}"
    assert httpx.get(url).content == payload
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == payload[10:20]
    assert not list((server.data_dir / "incoming").glob("*.part"))


def test_blobs_are_listed_with_size_and_age_and_a_kept_again_blob_is_young(store, tmp_path):
    storage = open_storage(store.storage_url("listing"), tmp_path / "incoming")
    first = storage.stage_sync([b"first blob"], max_bytes=None)
    second = storage.stage_sync([b"second blob, longer"], max_bytes=None)
    assert storage.keep(first) and storage.keep(second)
    store.client().put_object(Bucket=store.bucket, Key="listing/not-a-blob.txt", Body=b"x")  # ignored
    listed = {b.sha256: b for b in storage.iter_blobs()}
    assert set(listed) == {first.sha256, second.sha256}
    assert listed[second.sha256].size == second.size
    assert abs(listed[first.sha256].modified - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert storage.stat(first.sha256) == listed[first.sha256] and storage.stat("0" * 64) is None

    store.backdate(f"listing/{first.sha256[:2]}/{first.sha256[2:4]}/{first.sha256}", timedelta(hours=2))
    assert datetime.now(timezone.utc) - storage.stat(first.sha256).modified > timedelta(hours=1)
    assert storage.keep(storage.stage_sync([b"first blob"], max_bytes=None))  # written again: young again
    assert datetime.now(timezone.utc) - storage.stat(first.sha256).modified < timedelta(minutes=5)


def test_check_and_gc_on_object_storage(store, server_factory, tmp_path):
    server = server_factory(extra_env={**CREDENTIALS, "PACKYARD_STORAGE_URL": store.storage_url("gc")})
    token = server.mint_token("pypi:package:*:write")
    wheels = [build_wheel(tmp_path, "gc-on-s3", version) for version in ("1.0", "1.1")]
    for wheel, version in zip(wheels, ("1.0", "1.1")):
        assert http_upload(server.url, token, wheel, "gc-on-s3", version).status_code == 200
    assert server.cli("check").returncode == 0

    storage = open_storage(store.storage_url("gc"), tmp_path / "incoming")
    old, young = (storage.stage_sync([text], max_bytes=None) for text in (b"crash leftover", b"in flight"))
    assert storage.keep(old) and storage.keep(young)
    key = lambda sha: f"gc/{sha[:2]}/{sha[2:4]}/{sha}"  # noqa: E731
    referenced = [hashlib.sha256(w.read_bytes()).hexdigest() for w in wheels]
    for sha in (old.sha256, *referenced):
        store.backdate(key(sha), timedelta(hours=2))

    listed = server.cli("gc")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [old.sha256]
    assert server.cli("gc", "--delete").stdout.rstrip().endswith("removed")
    assert {k for k in store.keys() if k.startswith("gc/")} == {key(sha) for sha in (young.sha256, *referenced)}
    assert server.cli("check").returncode == 0

    store.client().put_object(Bucket=store.bucket, Key=key(referenced[0]), Body=b"overwritten")
    store.client().delete_object(Bucket=store.bucket, Key=key(referenced[1]))
    bad = server.cli("check", check=False)
    assert bad.returncode == 1
    assert f"blob {referenced[0]}" in bad.stdout and "bytes in storage" in bad.stdout
    assert f"blob {referenced[1]} (file pypi:{wheels[1].name}) is missing from storage" in bad.stdout


def test_a_big_blob_is_put_from_a_child_process_with_the_same_answers(store, tmp_path, monkeypatch):
    """Big PUTs run in `python -m packyard.storage.s3_put` (so their transfer threads never hold a
    worker's GIL): stored, refused (507 with the store's reason) and unreachable (503) as in process."""
    from packyard.errors import InsufficientStorage, ServiceUnavailable
    from packyard.storage import s3

    monkeypatch.setattr(s3, "PUT_IN_CHILD_BYTES", 1000)
    children = []
    real_run = s3.subprocess.run
    monkeypatch.setattr(s3.subprocess, "run", lambda args, **kw: children.append(args) or real_run(args, **kw))
    storage = open_storage(store.storage_url("child"), tmp_path / "incoming")
    data = bytes(range(256)) * 40
    staged = storage.stage_sync([data], max_bytes=None)
    assert storage.keep(staged) is True and not staged.path.exists()
    assert len(children) == 1 and children[0][1:3] == ["-m", "packyard.storage.s3_put"]
    with storage.open(staged.sha256) as handle:
        assert handle.read() == data
    assert storage.keep(storage.stage_sync([data], max_bytes=None)) is False and len(children) == 1  # a big one is asked about first

    elsewhere = open_storage(store.storage_url("child").replace(store.bucket, store.bucket + "-missing"), tmp_path / "incoming")
    with pytest.raises(InsufficientStorage, match="NoSuchBucket"):
        elsewhere.keep(elsewhere.stage_sync([data + b"refused"], max_bytes=None))

    unreachable = open_storage(store.storage_url("child").replace(store.endpoint, "http://127.0.0.1:9"), tmp_path / "incoming")
    with pytest.raises(ServiceUnavailable, match="object store is unreachable"):
        unreachable._put_in_child(unreachable.stage_sync([data + b"unreachable"], max_bytes=None))
    assert len(children) == 3


def test_a_big_puts_parts_in_flight_come_from_the_storage_url(tmp_path):
    """`?put_concurrency=N` bounds the parts of a big PUT sent at once (1 unless set, so the store keeps
    room for other publishes' small PUTs); a value that is not 1-32 stops the server at start-up."""
    from packyard.storage.s3 import PUT_CONCURRENCY, put_concurrency

    assert put_concurrency("s3://bucket/blobs?endpoint_url=http://127.0.0.1:9") == PUT_CONCURRENCY == 1
    assert put_concurrency("s3://bucket/blobs?put_concurrency=8&region=us-east-1") == 8
    for wrong in ("0", "33", "two", "-1"):
        with pytest.raises(ValueError, match="put_concurrency must be a whole number from 1 to 32"):
            open_storage(f"s3://bucket/blobs?put_concurrency={wrong}", tmp_path / "incoming")
