"""The dependency-confusion rule, shared by every adapter's proxy: a name that exists locally (in
any visibility) or is reserved never resolves upstream, and so is never sent there.

Answers are kept per process until the ecosystem's serial moves (a publish creating the name, a
reservation), so a warm proxied read asks the database nothing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from packyard.models import Package, ReservedName
from packyard.services.reserved_names import name_key

if TYPE_CHECKING:
    from packyard.registry import Registry

_MAX_ANSWERS = 65536


class UpstreamGate:
    def __init__(self, registry: Registry, ecosystem: str):
        self.registry = registry
        self.ecosystem = ecosystem
        self._serial = -1
        self._answers: dict[str, bool] = {}
        self._lock = threading.Lock()

    async def allows(self, name: str) -> bool:
        """`resolvable`, on the event loop when the answer is known, else from a thread."""
        answer, _key, _serial = self._known(name)
        if answer is not None:
            return answer
        return await run_in_threadpool(self.resolvable, name)

    def _known(self, name: str) -> tuple[bool | None, str, int]:
        key = name_key(self.registry.adapter(self.ecosystem), name)
        serial = self.registry.serial(self.ecosystem)
        with self._lock:
            if serial != self._serial:
                self._serial, self._answers = serial, {}
            return self._answers.get(key), key, serial

    def resolvable(self, name: str) -> bool:
        """True when `name` may be looked up upstream: no local package has it (compared the
        adapter's way) and it is not reserved. Reads the database once per name and serial."""
        answer, key, serial = self._known(name)
        if answer is None:
            answer = not self._local_or_reserved(key)
            with self._lock:
                if serial == self._serial and len(self._answers) < _MAX_ANSWERS:
                    self._answers[key] = answer
        return answer

    def _local_or_reserved(self, key: str) -> bool:
        adapter = self.registry.adapter(self.ecosystem)
        column = func.lower(Package.normalized_name) if adapter.names_differing_in_case_collide else Package.normalized_name
        with self.registry.db.read() as session:
            if session.get(ReservedName, (self.ecosystem, key)) is not None:
                return True
            local = session.exec(select(Package.id).where(Package.ecosystem == self.ecosystem, column == key).limit(1)).first()
        return local is not None
