"""An S3-compatible object store on 127.0.0.1 for tests (moto's server), with fresh buckets."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import boto3
import httpx
from moto.server import ThreadedMotoServer

from tests.support.server import reserve_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "packyard-test", "AWS_SECRET_ACCESS_KEY": "packyard-test", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class ObjectStore:
    endpoint: str
    bucket: str

    def storage_url(self, prefix: str = "blobs") -> str:
        return f"s3://{self.bucket}/{prefix}?endpoint_url={self.endpoint}&region=us-east-1"

    def env(self) -> dict[str, str]:
        """What a server process needs to reach this store."""
        return dict(CREDENTIALS)

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(item["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for item in page.get("Contents", []))

    def backdate(self, key: str, by: timedelta) -> None:
        """Make an object's LastModified older. S3 offers no way; moto's server runs in this
        process, so the test reaches into its store (the stand-in for waiting `by`)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_bucket(self.bucket).keys[key].last_modified -= by


def new_bucket(endpoint: str) -> ObjectStore:
    os.environ.update(CREDENTIALS)  # this process's own boto3 clients (in-process registries, listings)
    store = ObjectStore(endpoint, f"packyard-{uuid.uuid4().hex[:12]}")
    store.client().create_bucket(Bucket=store.bucket)
    return store


@contextmanager
def object_store() -> Iterator[ObjectStore]:
    """A private moto server in this process, with one bucket."""
    os.environ.update(CREDENTIALS)
    with reserve_port() as reservation:  # until moto listens on the port
        port = reservation.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        yield new_bucket(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


_shared_endpoint: str | None = None


def shared_endpoint() -> str:
    """One moto server process for the whole test session, started on first use (a bucket per server)."""
    global _shared_endpoint
    if _shared_endpoint is None:
        reservation = reserve_port()  # until moto listens on the port
        port = reservation.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        atexit.register(_stop, process)
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        with reservation:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"moto_server exited with {process.returncode}")
                try:
                    httpx.get(endpoint + "/moto-api/", timeout=2)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("moto_server did not start") from None
                    time.sleep(0.1)
        _shared_endpoint = endpoint
    return _shared_endpoint


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
