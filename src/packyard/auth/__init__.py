"""Tokens, scopes and credentials."""

from packyard.auth.credentials import Credentials, MalformedCredentials, parse_authorization
from packyard.auth.identity import Identity
from packyard.auth.scopes import ADMIN, Scope, ScopeError, ScopeRules, parse_scope

__all__ = [
    "ADMIN",
    "Credentials",
    "Identity",
    "MalformedCredentials",
    "Scope",
    "ScopeError",
    "ScopeRules",
    "parse_authorization",
    "parse_scope",
]
