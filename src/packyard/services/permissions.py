"""Who may change a package: a scope on the token, then ownership (or admin).

The scope is checked before the package is looked up, so a token without it learns nothing about
which packages exist (403 either way).
"""

from __future__ import annotations

from sqlmodel import Session

from packyard.auth import Identity
from packyard.errors import Forbidden
from packyard.models import Package
from packyard.services.packages import is_owner


def require_scope(identity: Identity, ecosystem: str, normalized_name: str, action: str, noun: str) -> None:
    if not identity.allows(ecosystem, normalized_name, action):
        raise Forbidden(
            f"This token cannot {action} '{normalized_name}': it needs the scope "
            f"'{ecosystem}:{noun}:{normalized_name}:{action}'."
        )


def require_owner(session: Session, identity: Identity, package: Package) -> None:
    if not identity.is_admin and not is_owner(session, package, identity.user):
        raise Forbidden(f"The user '{identity.name}' is not an owner of '{package.name}': ask an owner to add you.")
