"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, ...).

`PACKYARD_STORAGE_URL=s3://bucket[/prefix][?endpoint_url=http://minio:9000&region=us-east-1]`;
credentials come from the usual AWS environment (`AWS_ACCESS_KEY_ID`, ...). Uploads are staged in
a local temp file while hashing, then PUT under `<prefix>/ab/cd/<sha256>`: an object store makes
an object visible whole or not at all, so a crash never exposes a partial blob. Reads are ranged
GETs behind a seekable file object, so Range requests fetch only what they serve.

A PUT the store refuses (full, over quota, access denied) is a 507 naming the store's reason; a
store that cannot be reached is a 503 (faults.py's errors, raised here where the S3 errors are known).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlparse

from packyard.errors import InsufficientStorage, ServiceUnavailable
from packyard.resilience.faults import DISK_FULL, RETRY_AFTER_SECONDS
from packyard.storage import s3_put
from packyard.storage.base import BlobStorage, StagedBlob, StoredBlob, blob_key, sha256_of_key
from packyard.storage.staging import StagingArea

READ_BUFFER = 1024 * 1024
PUT_IN_CHILD_BYTES = 64 * 1024 * 1024  # below this a PUT is short: a process start would cost more than it saves
PUT_CONCURRENCY = 1  # parts of a big PUT in flight at once, unless the URL's `put_concurrency` says otherwise


class _RangedObject(io.RawIOBase):
    """A read-only, seekable view of one object; each read is a ranged GET."""

    def __init__(self, client, bucket: str, key: str, size: int):
        self.client, self.bucket, self.key, self.size = client, bucket, key, size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.size or len(buffer) == 0:
            return 0
        end = min(self.position + len(buffer), self.size) - 1
        body = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{end}")["Body"]
        data = body.read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


class S3BlobStorage(BlobStorage):
    def __init__(self, url: str, staging_dir: Path):
        self.url = url
        self.client, self.bucket, self.prefix = s3_client(url)
        self.staging = StagingArea(staging_dir)

    def _key(self, sha256: str) -> str:
        key = blob_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def keep(self, staged: StagedBlob) -> bool:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if staged.size < PUT_IN_CHILD_BYTES:
                # One request, not a HEAD and then a PUT: the key is the bytes' hash, so writing
                # them again changes nothing but the object's age, which `_touch` would reset anyway.
                with open(staged.path, "rb") as body:
                    self.client.put_object(Bucket=self.bucket, Key=self._key(staged.sha256), Body=body)
            elif self.exists(staged.sha256):  # a big one is worth asking about first
                staged.path.unlink(missing_ok=True)
                self._touch(staged.sha256)
                return False
            else:
                self._put_in_child(staged)
        except (S3UploadFailedError, ClientError) as exc:
            raise _refused(" ".join(str(exc).split())[:300]) from exc
        except BotoCoreError as exc:
            raise _unreachable(type(exc).__name__, "nothing was stored") from exc
        staged.path.unlink(missing_ok=True)
        return True

    def _put_in_child(self, staged: StagedBlob) -> None:
        """A big PUT from a process of its own (see s3_put.py), this thread waiting without the GIL."""
        done = subprocess.run([sys.executable, "-m", "packyard.storage.s3_put", str(staged.path), self._key(staged.sha256)],
                              env={**os.environ, s3_put.URL_VARIABLE: self.url},  # not in argv, which `ps` shows
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        reason = " ".join(done.stderr.decode("utf-8", "replace").split())[-300:]
        if done.returncode == s3_put.REFUSED:
            raise _refused(reason)
        if done.returncode != 0:
            raise _unreachable(reason if done.returncode == s3_put.UNREACHABLE else f"the upload process failed: {reason}",
                               "nothing was stored")

    def open(self, sha256: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(sha256)
        try:
            size = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            raise FileNotFoundError(f"blob {sha256} is not in s3://{self.bucket}/{key}") from exc
        except BotoCoreError as exc:
            raise _unreachable(type(exc).__name__, "the file cannot be read") from exc
        return io.BufferedReader(_RangedObject(self.client, self.bucket, key, size), buffer_size=READ_BUFFER)

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError:
            return False
        return True

    def _touch(self, sha256: str) -> None:
        """Reset LastModified (a copy onto itself), so gc's grace period covers the coming commit.
        Only an unreferenced blob is ever kept again, so this is rare."""
        key = self._key(sha256)
        self.client.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key}, MetadataDirective="REPLACE")

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def stat(self, sha256: str) -> StoredBlob | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError:
            return None
        return StoredBlob(sha256, head["ContentLength"], head["LastModified"].astimezone(timezone.utc))

    def iter_blobs(self) -> Iterator[StoredBlob]:
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                sha256 = sha256_of_key(item["Key"][len(start):])
                if sha256 is not None:
                    yield StoredBlob(sha256, item["Size"], item["LastModified"].astimezone(timezone.utc))

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _options(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def put_concurrency(url: str) -> int:
    """How many parts of a big PUT are sent at once (`?put_concurrency=N`, 1-32)."""
    value = _options(url).get("put_concurrency", str(PUT_CONCURRENCY))
    if not value.isdigit() or not 1 <= int(value) <= 32:
        raise ValueError(f"PACKYARD_STORAGE_URL: put_concurrency must be a whole number from 1 to 32, not {value!r}")
    return int(value)


def s3_client(url: str):
    """(boto3 client, bucket, key prefix) for `PACKYARD_STORAGE_URL`."""
    import boto3  # optional dependency: pip install 'packyard[s3]'
    from botocore.config import Config

    parsed = urlparse(url)
    options = _options(url)
    put_concurrency(url)  # refused at start-up, not at the first big upload
    if not parsed.netloc:
        raise ValueError("PACKYARD_STORAGE_URL needs a bucket: s3://bucket[/prefix]")
    # bounded waits: an unreachable store answers 503 within seconds, not after minutes of retries
    config = Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3})
    client = boto3.client("s3", endpoint_url=options.get("endpoint_url"), region_name=options.get("region"), config=config)
    return client, parsed.netloc, parsed.path.strip("/")


def _refused(reason: str) -> InsufficientStorage:
    return InsufficientStorage(DISK_FULL.format(reason=f"the object store refused the write: {reason}"))


def _unreachable(cause: str, consequence: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The registry's object store is unreachable right now ({cause}); {consequence}. "
        "Retry in a few seconds; if this persists, tell the registry's admin.",
        RETRY_AFTER_SECONDS,
    )
