"""Blob storage in an S3-compatible object store: the storage contract, and a server running on it."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from packyard.storage import open_storage
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
    assert storage.keep(again) is False and not again.path.exists()
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
