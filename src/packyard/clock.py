"""The one clock every timestamp comes from.

In production it is the system's UTC clock. With `PACKYARD_TEST_HOOKS=true` a test may freeze it at a
given time; the frozen time lives in the database, so every worker process reads the same time.
"""

from __future__ import annotations

from datetime import datetime, timezone

from packyard.db import Database
from packyard.models import StoredSetting

_KEY = "clock.frozen_at"


class Clock:
    def __init__(self, db: Database, settable: bool):
        self.db = db
        self.settable = settable

    def now(self) -> datetime:
        if self.settable:
            with self.db.read() as session:
                row = session.get(StoredSetting, _KEY)
                if row is not None:
                    return datetime.fromisoformat(row.value)
        return datetime.now(timezone.utc)

    def freeze_at(self, moment: datetime) -> None:
        if not self.settable:
            raise RuntimeError("the clock can only be set with PACKYARD_TEST_HOOKS=true")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = moment.astimezone(timezone.utc).isoformat()
        with self.db.write() as session:
            row = session.get(StoredSetting, _KEY)
            if row is None:
                session.add(StoredSetting(key=_KEY, value=value))
            else:
                row.value = value
                session.add(row)
