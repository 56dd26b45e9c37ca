"""Users."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from packyard.models import limits
from packyard.auth.secrets import hash_password
from packyard.errors import BadRequest, Conflict
from packyard.models import User

if TYPE_CHECKING:
    from packyard.registry import Registry

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


def validate_user_name(name: str) -> str:
    if not _NAME.match(name):
        raise BadRequest(f"Invalid user name '{name}': use 1-100 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit.")
    return name


def find_user(session: Session, name: str) -> User | None:
    limits.check_text(name, "user name")
    return session.exec(select(User).where(User.name == name)).first()


def create_user(registry: Registry, name: str, password: str | None = None, is_admin: bool = False) -> User:
    validate_user_name(name)
    with registry.db.write() as session:
        if find_user(session, name) is not None:
            raise Conflict(f"User '{name}' exists already.")
        user = User(name=name, password_hash=hash_password(password) if password else None, is_admin=is_admin, created_at=registry.clock.now())
        session.add(user)
    return user


def get_or_create_user(session: Session, registry: Registry, name: str) -> User:
    user = find_user(session, validate_user_name(name))
    if user is None:
        user = User(name=name, created_at=registry.clock.now())
        session.add(user)
        session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.name)))
