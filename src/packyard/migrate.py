"""Apply the Alembic migrations shipped in `packyard.migrations` (the repo's `migrations/` folder).

Several replicas may start at the same moment on one PostgreSQL database: the upgrade runs under
a session-level advisory lock, so one replica migrates while the others wait, then find the
schema at head and do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text

from packyard.db import advisory_lock_key


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("packyard.migrations")))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@contextmanager
def _migration_lock(database_url: str) -> Iterator[None]:
    """Held for the whole upgrade on PostgreSQL; SQLite serializes its own writers."""
    if database_url.startswith("sqlite"):
        yield
        return
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            key = {"key": advisory_lock_key("migrations")}
            conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                conn.commit()
    finally:
        engine.dispose()


def upgrade(database_url: str) -> None:
    with _migration_lock(database_url):
        command.upgrade(alembic_config(database_url), "head")


def check(database_url: str) -> None:
    """Raise when the models and the migrations disagree."""
    command.check(alembic_config(database_url))
