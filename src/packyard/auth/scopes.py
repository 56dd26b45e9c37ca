"""Scope grammar: `admin`, or `<ecosystem>:<noun>:<name|*>:<read|write|yank>`.

e.g. `pypi:package:requests:write`, `rubygems:gem:*:yank`. Names are normalized the ecosystem's way
when a token is created, so a check compares normalized names only. write and yank imply read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

ACTIONS = ("read", "write", "yank")
ADMIN = "admin"


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    ecosystem: str
    noun: str
    name: str  # normalized, or "*"
    action: str

    def __str__(self) -> str:
        return f"{self.ecosystem}:{self.noun}:{self.name}:{self.action}"

    def grants(self, ecosystem: str, name: str, action: str) -> bool:
        if self.ecosystem != ecosystem or (self.name != "*" and self.name != name):
            return False
        return self.action == action or action == "read"


@dataclass(frozen=True)
class ScopeRules:
    """What an ecosystem's scopes look like: its noun and how it normalizes names."""

    noun: str
    normalize: Callable[[str], str]


def parse_scope(text: str, rules: Mapping[str, ScopeRules]) -> Scope | str:
    """Parse and normalize one scope string; returns `ADMIN` or a Scope. Raises ScopeError with advice."""
    text = text.strip()
    if text == ADMIN:
        return ADMIN
    parts = text.split(":")
    examples = ", ".join(f"'{eco}:{r.noun}:<name|*>:<read|write|yank>'" for eco, r in rules.items())
    if len(parts) != 4:
        raise ScopeError(f"invalid scope '{text}': use 'admin' or {examples}")
    ecosystem, noun, name, action = parts
    if ecosystem not in rules:
        raise ScopeError(f"invalid scope '{text}': unknown ecosystem '{ecosystem}' (known: {', '.join(rules)})")
    if noun != rules[ecosystem].noun:
        raise ScopeError(f"invalid scope '{text}': {ecosystem} scopes name a '{rules[ecosystem].noun}', e.g. {examples}")
    if action not in ACTIONS:
        raise ScopeError(f"invalid scope '{text}': the action must be one of {', '.join(ACTIONS)}")
    if not name:
        raise ScopeError(f"invalid scope '{text}': name a package or use '*'")
    if name != "*":
        name = rules[ecosystem].normalize(name)
    return Scope(ecosystem, noun, name, action)


def scope_covers(held: list[Scope | str], wanted: Scope | str) -> bool:
    """True when the held scopes include everything `wanted` grants (used when minting tokens)."""
    if ADMIN in held:
        return True
    if wanted == ADMIN:
        return False
    for scope in held:
        if not isinstance(scope, Scope) or scope.ecosystem != wanted.ecosystem:
            continue
        if scope.name not in ("*", wanted.name):
            continue
        if scope.action == wanted.action or (wanted.action == "read" and scope.action in ("write", "yank")):
            return True
    return False
