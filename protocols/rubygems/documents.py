"""The stored bytes the RubyGems read paths serve, kept in the core's `Document` table.

Keys (ecosystem `rubygems`):
- `info/<gem>`: the `/info/<gem>` body (public and private gems; access is checked on read);
- `versions/base`: the `/versions` base document (`created_at: ...`, `---`, one line per gem);
- `versions/log/<serial>`: the lines appended to `/versions` by the change with that serial
  (public gems only), in serial order;
- `names`: the public `/names` body;
- `specs/<kind>`: the public gzipped Marshal indexes (`specs`, `latest_specs`, `prerelease_specs`);
- `quick-alias/<original_name>`: the `.gem` filename, when the gemspec spells its platform differently
  (quick gemspecs themselves are kept on the Artifact row, see `legacy_specs`).

All of them are written inside the serialized write transaction of the change that alters them, so
every worker sees a consistent set the moment the change commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from packyard.models import Document

ECOSYSTEM = "rubygems"
VERSIONS_BASE = "versions/base"
VERSIONS_LOG = "versions/log/"
NAMES = "names"
SPECS_KINDS = ("specs", "latest_specs", "prerelease_specs")


def info_key(name: str) -> str:
    return f"info/{name}"


def quick_alias_key(original_name: str) -> str:
    """Maps a gemspec's original platform name to the stored `.gem` filename (old platform spellings)."""
    return f"quick-alias/{original_name}"


def specs_key(kind: str) -> str:
    return f"specs/{kind}"


def log_key(serial: int) -> str:
    return f"{VERSIONS_LOG}{serial:015d}"


def get(session: Session, key: str) -> bytes | None:
    row = session.get(Document, (ECOSYSTEM, key))
    return None if row is None else row.body


def put(session: Session, key: str, body: bytes, now: datetime) -> None:
    row = session.get(Document, (ECOSYSTEM, key))
    if row is None:
        session.add(Document(ecosystem=ECOSYSTEM, key=key, body=body, updated_at=now))
    else:
        row.body = body
        row.updated_at = now
        session.add(row)


def remove(session: Session, key: str) -> None:
    row = session.get(Document, (ECOSYSTEM, key))
    if row is not None:
        session.delete(row)


def get_many(session: Session, keys: Iterable[str]) -> dict[str, bytes]:
    keys = list(keys)
    if not keys:
        return {}
    rows = session.exec(select(Document).where(Document.ecosystem == ECOSYSTEM, col(Document.key).in_(keys)))
    return {row.key: row.body for row in rows}


def log_bodies(session: Session) -> list[bytes]:
    """The appended `/versions` lines, oldest first: one indexed range scan."""
    upper = VERSIONS_LOG[:-1] + chr(ord(VERSIONS_LOG[-1]) + 1)
    rows = session.exec(
        select(Document.body)
        .where(Document.ecosystem == ECOSYSTEM, Document.key > VERSIONS_LOG, Document.key < upper)
        .order_by(Document.key)
    )
    return list(rows)


def clear_log(session: Session) -> None:
    upper = VERSIONS_LOG[:-1] + chr(ord(VERSIONS_LOG[-1]) + 1)
    session.execute(
        delete(Document).where(Document.ecosystem == ECOSYSTEM, Document.key > VERSIONS_LOG, Document.key < upper)
    )
