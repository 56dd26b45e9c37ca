"""Waiting for what a server does just after its answer (another worker's flush, a write-through)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 10, *, interval: float = 0.3,
               retry_on: tuple[type[BaseException], ...] = (AssertionError,)) -> T:
    """What `check()` returns once it no longer raises `retry_on`; its last error after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except retry_on:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
