"""Which backend a test run uses: the embedded default, or PostgreSQL + Redis from
`PACKYARD_TEST_DATABASE_URL` / `PACKYARD_TEST_REDIS_URL`, with blobs in S3 (moto's server) when
`PACKYARD_TEST_S3=1`. Each server gets a fresh database and, on S3, a fresh bucket."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from tests.support.object_store import ObjectStore

TEST_DATABASE_URL = os.environ.get("PACKYARD_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("PACKYARD_TEST_REDIS_URL") or None
TEST_S3 = os.environ.get("PACKYARD_TEST_S3", "").lower() in ("1", "true", "yes")

# The PostgreSQL + Redis that CI runs (and this machine has); the topology tests use them even
# on the embedded pass.
LOCAL_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Backend:
    database_url: str | None  # None: SQLite in the data dir
    redis_url: str | None
    _dbname: str | None = None
    _admin_url: str | None = None  # the database to connect to when dropping _dbname
    object_store: ObjectStore | None = None  # None: blobs in files under the data dir

    @property
    def storage_url(self) -> str | None:
        return self.object_store.storage_url() if self.object_store else None

    def env(self) -> dict[str, str]:
        env = self.object_store.env() if self.object_store else {}
        if self.database_url:
            env["PACKYARD_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["PACKYARD_REDIS_URL"] = self.redis_url
        if self.storage_url:
            env["PACKYARD_STORAGE_URL"] = self.storage_url
        return env

    def drop(self) -> None:
        if self._dbname:
            _drop_database(self._dbname, self._admin_url)


def _admin_conninfo(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_database(name: str, database_url: str) -> None:
    with psycopg.connect(_admin_conninfo(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_postgres_database(admin_url: str) -> tuple[str, str]:
    """A fresh database beside `admin_url`'s: (its name, its URL)."""
    name = f"pky_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _with_object_store(backend: Backend) -> Backend:
    from tests.support.object_store import new_bucket, shared_endpoint

    backend.object_store = new_bucket(shared_endpoint())
    return backend


def new_backend(*, local_blobs: bool = False) -> Backend:
    """A fresh, empty backend for one server; `local_blobs` keeps blobs in files even on the S3 pass
    (the nginx front serves public blobs from the data directory, so it needs them there)."""
    if not TEST_DATABASE_URL:
        backend = Backend(None, TEST_REDIS_URL)
    else:
        name, url = new_postgres_database(TEST_DATABASE_URL)
        backend = Backend(url, TEST_REDIS_URL, name, TEST_DATABASE_URL)
    return _with_object_store(backend) if TEST_S3 and not local_blobs else backend


def new_postgres_backend() -> Backend:
    """A fresh PostgreSQL database (the configured one, or the local one at 127.0.0.1) with this
    pass's Redis and blob storage: for tests of PostgreSQL itself, which run on either pass."""
    if TEST_DATABASE_URL:
        return new_backend()
    name, url = new_postgres_database(LOCAL_DATABASE_URL)
    backend = Backend(url, TEST_REDIS_URL, name, LOCAL_DATABASE_URL)
    return _with_object_store(backend) if TEST_S3 else backend


def new_production_backend() -> Backend:
    """PostgreSQL + Redis + a fresh S3 bucket, whatever pass this is (the configured services, or
    the local ones at 127.0.0.1): the topology of several replicas needs all three."""
    admin_url = TEST_DATABASE_URL or LOCAL_DATABASE_URL
    name, url = new_postgres_database(admin_url)
    return _with_object_store(Backend(url, TEST_REDIS_URL or LOCAL_REDIS_URL, name, admin_url))


def production_services_reachable() -> str | None:
    """None when PostgreSQL and Redis answer; otherwise why not."""
    import redis

    try:
        with psycopg.connect(_admin_conninfo(TEST_DATABASE_URL or LOCAL_DATABASE_URL), connect_timeout=3):
            pass
        redis.Redis.from_url(TEST_REDIS_URL or LOCAL_REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", reported as is
        return f"PostgreSQL + Redis are not reachable: {exc}"
    return None
