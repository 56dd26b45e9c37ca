"""Alembic: migrations build the models' schema exactly, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, inspect

from packyard import migrate
from tests.support.backends import new_backend


def _schema(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    migrate.check(url)  # raises on any drift between models and migrations
    assert {"user", "token", "package", "version", "artifact", "blob", "journal", "audit_event"} <= set(_schema(url))


def test_the_configured_backend_gets_the_same_tables_as_sqlite(tmp_path):
    """On the PostgreSQL pass this compares PostgreSQL with SQLite."""
    sqlite_url = f"sqlite:///{tmp_path / 'reference.db'}"
    migrate.upgrade(sqlite_url)
    backend = new_backend()
    url = backend.database_url or f"sqlite:///{tmp_path / 'backend.db'}"
    try:
        migrate.upgrade(url)
        migrate.check(url)
        assert _schema(url) == _schema(sqlite_url)
    finally:
        backend.drop()


def test_replicas_migrating_one_empty_database_at_once_all_succeed(production_backend, tmp_path):
    """Several replicas start together: one migrates under the lock, the others then find it at head."""
    url = production_backend.database_url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACKYARD_")}
    env.update(PACKYARD_DATABASE_URL=url, PACKYARD_DATA_DIR=str(tmp_path))
    runs = [subprocess.Popen([sys.executable, "-m", "packyard", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [(run.wait(timeout=120), run.stdout.read()) for run in runs]
    assert all(code == 0 for code, _ in outputs), outputs
    migrate.check(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert len(conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()) == 1
    finally:
        engine.dispose()
