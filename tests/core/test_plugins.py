"""Adapters are found through the `packyard.protocols` entry points; the core never imports one."""

from __future__ import annotations

import re
from pathlib import Path

from packyard.plugins import ProtocolAdapter, load_adapters

CORE = Path(__file__).resolve().parents[2] / "src" / "packyard"


def test_both_adapters_load_through_entry_points():
    adapters = load_adapters()
    assert set(adapters) >= {"pypi", "rubygems"}
    for ecosystem, adapter in adapters.items():
        assert isinstance(adapter, ProtocolAdapter) and adapter.ecosystem == ecosystem
    assert adapters["pypi"].normalize_name("Foo.Bar_baz") == "foo-bar-baz"
    assert adapters["pypi"].scope_noun == "package" and adapters["rubygems"].scope_noun == "gem"


def test_the_core_imports_no_adapter():
    pattern = re.compile(r"^\s*(from|import)\s+(packyard_\w+|protocols)\b", re.M)
    offenders = [str(p) for p in CORE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
