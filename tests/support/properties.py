"""Shared settings of the property-based tests (hypothesis).

Derandomized (the examples follow from each test's source) and without an example database, so a
run on CI sees exactly the examples a run here saw. Example counts keep every property module well
inside a minute per pass.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

PARSER_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A parser given a few kilobytes may use a few megabytes, never more (no decompression bombs).
MEMORY_CEILING = 32 * 1024 * 1024


def outcome(parse: Callable[[], Any], declared: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    """Run ``parse``: its result, or the declared error it raised. Any other exception fails the
    example, and so does a traced memory peak above ``MEMORY_CEILING``."""
    tracemalloc.start()
    try:
        return parse()
    except declared as exc:
        return exc
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY_CEILING, f"the parser used {peak} bytes"
