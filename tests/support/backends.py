"""Which backend a test run uses: the embedded default, or PostgreSQL + Redis from
`PACKYARD_TEST_DATABASE_URL` / `PACKYARD_TEST_REDIS_URL`. Each server gets a fresh database."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("PACKYARD_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("PACKYARD_TEST_REDIS_URL") or None


@dataclass
class Backend:
    database_url: str | None  # None: SQLite in the data dir
    redis_url: str | None
    _dbname: str | None = None

    def env(self) -> dict[str, str]:
        env = {}
        if self.database_url:
            env["PACKYARD_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["PACKYARD_REDIS_URL"] = self.redis_url
        return env

    def drop(self) -> None:
        if self._dbname:
            _drop_database(self._dbname)


def _admin_conninfo() -> str:
    url = make_url(TEST_DATABASE_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_backend() -> Backend:
    """A fresh, empty backend for one server."""
    if not TEST_DATABASE_URL:
        return Backend(None, TEST_REDIS_URL)
    name = f"pky_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    return Backend(url, TEST_REDIS_URL, name)
