"""Start-up: re-render what an adapter's new document format needs, then bring the copies (files,
Redis) in step with the database (a process may have died between a commit and its write-through)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING


from packyard.models import StoredSetting

from packyard.documents import rows
from packyard.documents.redis_copies import RedisUnavailable

if TYPE_CHECKING:
    from packyard.registry import Registry

log = logging.getLogger("packyard.documents")

_BATCH = 500


def _format_key(ecosystem: str) -> str:
    return f"documents_format:{ecosystem}"


def render_outdated(registry: Registry) -> None:
    """Every adapter whose `documents_format` differs from the one its stored documents were
    rendered with re-renders them all (an upgrade; never on a read path)."""
    for ecosystem, adapter in registry.adapters.items():
        wanted = str(adapter.documents_format)
        with registry.db.read() as session:
            stored = session.get(StoredSetting, _format_key(ecosystem))
        if stored is not None and stored.value == wanted:
            continue
        log.info("rendering every %s document (document format %s)", ecosystem, wanted)
        adapter.render_all_documents(registry)
        with registry.db.write() as session:
            row = session.get(StoredSetting, _format_key(ecosystem)) or StoredSetting(key=_format_key(ecosystem), value=wanted)
            row.value = wanted
            session.add(row)


def sync_copies(registry: Registry) -> int:
    """Write every row through (set-if-newer; files left alone when they say the same), and drop
    copies and public files that no row backs. Returns the number of documents."""
    store = registry.documents
    known: dict[str, set[str]] = {ecosystem: set() for ecosystem in registry.adapters}
    batch: list[tuple[str, str, object]] = []
    count = 0

    def flush() -> None:
        if store.files is not None:
            for ecosystem in sorted({eco for eco, _, _ in batch}):
                with store.files.locked(ecosystem):
                    for eco, key, doc in batch:
                        if eco == ecosystem:
                            store.files.write(eco, key, doc, materialize=store.materializable(doc), lazy=True)
        if store.redis is not None:
            store.redis.write_many(batch)
        batch.clear()

    with registry.db.read() as session:
        for ecosystem, key, doc in rows.iterate(session):
            known.setdefault(ecosystem, set()).add(key)
            batch.append((ecosystem, key, doc))
            count += 1
            if len(batch) >= _BATCH:
                flush()
    flush()
    for ecosystem, keys in known.items():
        if store.files is not None:
            with store.files.locked(ecosystem):
                for key in set(store.files.copy_keys(ecosystem)) - keys:
                    store.files.discard(ecosystem, key)
                for key in set(store.files.public_keys(ecosystem)) - keys:
                    store.files.materialize(ecosystem, key, None)
        if store.redis is not None:
            for key in set(store.redis.keys(ecosystem)) - keys:
                store.redis.delete(ecosystem, key)
    return count


def prepare(registry: Registry) -> None:
    render_outdated(registry)
    try:
        sync_copies(registry)
    except RedisUnavailable:  # serve anyway: reads fall back to the database, copies refill themselves
        log.warning("Redis unreachable at start: document copies there not synced")
