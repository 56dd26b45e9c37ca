"""Alembic: migrations build the models' schema exactly, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

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
