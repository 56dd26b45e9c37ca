"""The database under pressure, for real: a write lock not granted within the wait limit is a 503
(busy) — SQLite's, and in the PostgreSQL pass the advisory lock — and a full disk under SQLite a
507; each leaves the database usable."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from packyard.db import Database
from packyard.errors import InsufficientStorage, ServiceUnavailable
from tests.faults.faultkit import fill, small_disk


def test_a_write_lock_held_too_long_is_a_503_busy_and_then_granted(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db = Database(url, wait_seconds=0.3)
    with db.write() as session:
        session.execute(text("CREATE TABLE item (name TEXT)"))
    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceUnavailable, match="busy") as caught, db.write() as session:
            session.execute(text("INSERT INTO item VALUES ('waits')"))
        assert caught.value.status_code == 503 and ("retry-after", "5") in caught.value.headers
    finally:
        holder.rollback()
        holder.close()
    with db.write() as session:
        session.execute(text("INSERT INTO item VALUES ('granted')"))
    with db.read() as session:
        assert session.execute(text("SELECT name FROM item")).scalars().all() == ["granted"]
    db.dispose()


def test_a_full_disk_under_sqlite_is_a_507_and_writes_resume_when_space_is_freed(tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        db = Database(f"sqlite:///{disk / 'full.db'}", wait_seconds=1)
        with db.write() as session:
            session.execute(text("CREATE TABLE item (body TEXT)"))
        filler = fill(disk)
        with pytest.raises(InsufficientStorage, match="Insufficient storage") as caught, db.write() as session:
            session.execute(text("INSERT INTO item VALUES (:body)"), {"body": "x" * 200_000})
        assert caught.value.status_code == 507
        filler.unlink()
        with db.write() as session:
            session.execute(text("INSERT INTO item VALUES (:body)"), {"body": "stored"})
        with db.read() as session:
            assert session.execute(text("SELECT body FROM item")).scalars().all() == ["stored"]
        db.dispose()


def test_postgres_write_lock_held_too_long_is_a_503_busy_and_then_granted(postgres_backend):
    backend = postgres_backend
    db = Database(backend.database_url, wait_seconds=0.5)
    holder = Database(backend.database_url)
    try:
        with holder.write(lock="pypi") as held:
            held.execute(text("SELECT 1"))
            with pytest.raises(ServiceUnavailable, match="busy"), db.write(lock="pypi") as session:
                session.execute(text("SELECT 1"))
            with db.write(lock="rubygems") as session:  # other ecosystems do not wait
                assert session.execute(text("SELECT 1")).scalar() == 1
        with db.write(lock="pypi") as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()
        holder.dispose()
