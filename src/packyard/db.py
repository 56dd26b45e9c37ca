"""Engines and sessions.

Writes that change an ecosystem's data are serialized per ecosystem (SQLite: `BEGIN IMMEDIATE`,
one writer at a time; PostgreSQL: a transaction-scoped advisory lock), so derived data that an
adapter keeps in step with each change (e.g. RubyGems' append-only `/versions`) stays consistent
across worker processes.

No request waits on the database for long: connecting, taking a pooled connection and waiting for
a lock (the ecosystem's write lock, SQLite's busy wait) are each bounded by `wait_seconds`, a
PostgreSQL statement by `statement_seconds`. A session's failures that are the database's state
(down, timed out, locked, full) leave `read()`/`write()` as the core's 503/507 errors (faults.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from packyard.observability.metrics import RECORDER
from packyard.resilience.faults import database_fault


def _sqlite_engine(url: str, *, immediate: bool, wait_seconds: float) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": wait_seconds})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


AFTER_COMMIT = "packyard.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the write transaction of `session` has committed (not on rollback).

    Used to write committed documents through to files or Redis before the new serial is published."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)

def _postgres_engine(url: str, *, wait_seconds: float, statement_seconds: float) -> Engine:
    wait_ms, statement_ms = int(wait_seconds * 1000), int(statement_seconds * 1000)
    connect_args = {
        "connect_timeout": max(2, int(wait_seconds)),  # libpq: whole seconds, at least 2
        # a silently dropped connection (no RST) is noticed within seconds, not after TCP's minutes
        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
        "tcp_user_timeout": wait_ms,
    }
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=wait_seconds, connect_args=connect_args
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # SET rather than a startup `options` parameter, which connection poolers (PgBouncer) refuse
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {wait_ms}")
            cursor.execute(f"SET statement_timeout = {statement_ms}")
        dbapi_conn.commit()

    return engine


class Database:
    def __init__(self, url: str, *, wait_seconds: float = 10, statement_seconds: float = 60):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, immediate=False, wait_seconds=wait_seconds)
            self.write_engine = _sqlite_engine(url, immediate=True, wait_seconds=wait_seconds)
        else:
            self.engine = _postgres_engine(url, wait_seconds=wait_seconds, statement_seconds=statement_seconds)
            self.write_engine = self.engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _faults_as_errors(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self, lock: str | None = None) -> Iterator[Session]:
        """A transaction that commits on success. `lock` serializes writers for that key (an ecosystem)."""
        with _faults_as_errors(), Session(self.write_engine, expire_on_commit=False) as session:
            try:
                if lock is not None and not self.is_sqlite:
                    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_lock_key(lock)})
                yield session
                session.commit()
            except BaseException:
                session.info.pop(AFTER_COMMIT, None)
                session.rollback()
                raise
            for callback in session.info.pop(AFTER_COMMIT, []):
                callback()

    def check(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()


@contextmanager
def _faults_as_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        fault = database_fault(exc)
        if fault is None:
            raise
        RECORDER.count("packyard_database_errors_total", (str(fault.status_code),))
        raise fault from exc


def advisory_lock_key(name: str) -> int:
    """A PostgreSQL advisory-lock key for a name (an ecosystem, or "migrations")."""
    return zlib.crc32(b"packyard:" + name.encode())
