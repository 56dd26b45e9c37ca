"""Who is calling, and what their token lets them do."""

from __future__ import annotations

from dataclasses import dataclass, field

from packyard.auth.scopes import ADMIN, Scope
from packyard.models import Token, User


@dataclass
class Identity:
    user: User
    token: Token | None
    scopes: list[Scope | str] = field(default_factory=list)
    # Signed in with the user's password (no token): manages all of that user's tokens.
    by_password: bool = False

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    @property
    def name(self) -> str:
        return self.user.name

    def allows(self, ecosystem: str, name: str, action: str) -> bool:
        """name is the normalized package name."""
        if self.is_admin:
            return True
        return any(isinstance(s, Scope) and s.grants(ecosystem, name, action) for s in self.scopes)

    def may_read_all(self, ecosystem: str) -> bool:
        return self.is_admin or any(isinstance(s, Scope) and s.ecosystem == ecosystem and s.name == "*" for s in self.scopes)

    def readable_names(self, ecosystem: str) -> set[str]:
        """Package names this identity holds a named scope for (for listing private packages)."""
        return {s.name for s in self.scopes if isinstance(s, Scope) and s.ecosystem == ecosystem and s.name != "*"}
