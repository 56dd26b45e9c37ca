"""A pushed gem's specification as the JSON kept on its Artifact row (`Artifact.meta`).

Everything an index, the quick gemspec or the JSON API needs later comes from here, so no read
ever opens the `.gem` again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from packyard_rubygems.formats.gem_package import GemSpec

_FIELDS = [f.name for f in dataclasses.fields(GemSpec) if f.name != "raw"]


def spec_to_meta(spec: GemSpec) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(spec, name)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, list):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        meta[name] = value
    return meta

