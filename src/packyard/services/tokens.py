"""API tokens: minted within the minter's scopes, shown once, stored as a hash.

Who manages which token (list, revoke): an `admin` identity every token; a user signed in with
their password every token of that user; any other token itself and the tokens it minted, and
theirs, transitively (`Token.created_by_id`). Every other token id is "not found", so a token
learns nothing about tokens it does not manage. Revoking a token revokes the tokens it minted. The CLI is the operator's tool: no identity, all rights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from packyard.models import limits
from packyard.auth import ADMIN, Identity, ScopeError, parse_scope
from packyard.auth.scopes import scope_covers
from packyard.auth.secrets import hash_token, new_token_secret
from packyard.errors import BadRequest, Forbidden, NotFound
from packyard.models import Token, User
from packyard.services import audit
from packyard.services.users import get_or_create_user

if TYPE_CHECKING:
    from packyard.registry import Registry


@dataclass
class MintedToken:
    token: Token
    secret: str  # shown once, never stored


def normalize_scopes(registry: Registry, scopes: list[str]) -> list[str]:
    if not scopes:
        raise BadRequest("A token needs at least one scope, e.g. 'pypi:package:*:read' or 'admin'.")
    try:
        parsed = [parse_scope(s, registry.scope_rules) for s in scopes]
    except ScopeError as exc:
        raise BadRequest(str(exc)) from None
    return list(dict.fromkeys(str(s) for s in parsed))


def mint(
    registry: Registry,
    session: Session,
    user: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    minted_by: Identity | None = None,
    remote_addr: str | None = None,
) -> MintedToken:
    """Create a token for `user`. With `minted_by`, the new scopes must be covered by the minter's."""
    limits.check_text(name, "token name", limits.TOKEN_NAME_LENGTH)
    normalized = normalize_scopes(registry, scopes)
    if minted_by is not None:
        for text in normalized:
            wanted = parse_scope(text, registry.scope_rules)
            if not scope_covers(minted_by.scopes, wanted):
                raise Forbidden(f"Your token cannot mint the scope '{text}': a token can only grant scopes it holds itself.")
    now = registry.clock.now()
    if expires_at is not None and expires_at.tzinfo is None:
        raise BadRequest("expires_at needs a time zone, e.g. 2030-01-01T00:00:00Z.")
    if expires_at is not None and expires_at <= now:
        raise BadRequest("expires_at is in the past: give a future time.")
    creator = minted_by.token if minted_by is not None else None
    if creator is not None and creator.expires_at is not None:
        if expires_at is None:
            expires_at = creator.expires_at  # a minted token never outlives its creator
        elif expires_at > creator.expires_at:
            raise Forbidden(
                f"expires_at is later than your token's own expiry ({creator.expires_at.isoformat()}): "
                "a token can only mint tokens that expire no later than itself."
            )
    secret = new_token_secret()
    token = Token(
        user_id=user.id,
        name=name or "token",
        secret_hash=hash_token(secret),
        display_prefix=secret[:8],
        scopes=normalized,
        created_at=now,
        expires_at=expires_at,
        created_by_id=creator.id if creator is not None else None,
    )
    session.add(token)
    session.flush()
    audit.record(session, now, "token.create", minted_by, remote_addr, detail={"token_id": token.id, "user": user.name, "scopes": normalized})
    return MintedToken(token, secret)


def mint_for_user_name(registry: Registry, user_name: str, name: str, scopes: list[str], expires_at: datetime | None = None) -> MintedToken:
    """The CLI path: creates the user if absent; an admin token makes its user an admin."""
    with registry.db.write() as session:
        user = get_or_create_user(session, registry, user_name)
        if ADMIN in scopes and not user.is_admin:
            user.is_admin = True
            session.add(user)
        return mint(registry, session, user, name, scopes, expires_at)


def _lineage(token_id: int) -> ColumnElement[bool]:
    """Token `token_id` and every token it minted, transitively (a recursive CTE)."""
    lineage = select(Token.id).where(Token.id == token_id).cte("lineage", recursive=True)
    lineage = lineage.union_all(select(Token.id).where(Token.created_by_id == lineage.c.id))
    return Token.id.in_(select(lineage.c.id))


def managed_by(identity: Identity | None) -> ColumnElement[bool] | None:
    """The tokens `identity` may list and revoke, as a SQL condition on Token (None: all)."""
    if identity is None or identity.is_admin:
        return None
    if identity.by_password or identity.token is None:
        return Token.user_id == identity.user.id
    return _lineage(identity.token.id)


def list_tokens(registry: Registry, user_name: str | None = None, by: Identity | None = None) -> list[tuple[Token, str]]:
    """Tokens `by` manages (every token for the CLI), optionally only those of one user."""
    with registry.db.read() as session:
        query = select(Token, User.name).join(User, User.id == Token.user_id).order_by(Token.id)
        if user_name is not None:
            query = query.where(User.name == user_name)
        if (condition := managed_by(by)) is not None:
            query = query.where(condition)
        return [(t, n) for t, n in session.exec(query)]


def revoke(registry: Registry, token_id: int, by: Identity | None = None, remote_addr: str | None = None) -> Token:
    with registry.db.write() as session:
        query = select(Token).where(Token.id == token_id)
        if (condition := managed_by(by)) is not None:
            query = query.where(condition)
        token = session.exec(query).first()
        if token is None and by is None:
            raise NotFound(f"No token with id {token_id}: 'packyard token list' shows the ids.")
        if token is None:
            raise NotFound(f"No token with id {token_id} that you manage: a token manages only itself and the tokens it created.")
        # Revoking a token revokes what it minted too: a leaked token's offspring die with it.
        now = registry.clock.now()
        revoked = []
        for live in session.exec(select(Token).where(_lineage(token_id), Token.revoked_at.is_(None)).order_by(Token.id)):
            live.revoked_at = now
            session.add(live)
            revoked.append(live.id)
        if revoked:
            audit.record(session, now, "token.revoke", by, remote_addr, detail={"token_id": token_id, "revoked": revoked})
        return token
