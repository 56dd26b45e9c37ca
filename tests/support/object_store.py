"""An S3-compatible object store on 127.0.0.1 for tests (moto's server), with one fresh bucket."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import boto3
from moto.server import ThreadedMotoServer

from tests.support.server import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "packyard-test", "AWS_SECRET_ACCESS_KEY": "packyard-test", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class ObjectStore:
    endpoint: str
    bucket: str

    def storage_url(self, prefix: str = "blobs") -> str:
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}&region=us-east-1"

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def backdate(self, key: str, by: timedelta) -> None:
        """Make an object's LastModified older. S3 offers no way; moto's server runs in this
        process, so the test reaches into its store (the stand-in for waiting `by`)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_bucket(self.bucket).keys[key].last_modified -= by


@contextmanager
def object_store() -> Iterator[ObjectStore]:
    os.environ.update(CREDENTIALS)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        store = ObjectStore(f"http://127.0.0.1:{port}", f"packyard-{uuid.uuid4().hex[:8]}")
        store.client().create_bucket(Bucket=store.bucket)
        yield store
    finally:
        server.stop()
