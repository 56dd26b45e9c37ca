"""/api/v1/tokens: mint, list and revoke API tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from packyard.models import limits
from packyard.api.deps import RegistryDep, RemoteAddrDep, TokenManagerDep
from packyard.errors import NotFound
from packyard.models.limits import StorableStr
from packyard.models import Token, User
from packyard.services import tokens as token_service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    name: StorableStr = Field(min_length=1, max_length=limits.TOKEN_NAME_LENGTH)
    scopes: list[StorableStr] = Field(min_length=1)
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    user: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by: int | None = Field(description="Id of the token that minted this one (null: the CLI or a password sign-in)")


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown only in this response.")


def _out(token: Token, user: str) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "user": user,
        "scopes": token.scopes,
        "prefix": token.display_prefix,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "created_by": token.created_by_id,
    }


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_token(body: TokenCreate, registry: RegistryDep, identity: TokenManagerDep, addr: RemoteAddrDep) -> dict:
    """Mint a token for the caller within the caller's own scopes, expiring no later than the caller's token."""
    with registry.db.write() as session:
        user = session.merge(identity.user)
        minted = token_service.mint(registry, session, user, body.name, body.scopes, body.expires_at, minted_by=identity, remote_addr=addr)
    return {**_out(minted.token, identity.name), "token": minted.secret}


@router.get("", response_model=list[TokenOut])
def list_tokens(registry: RegistryDep, identity: TokenManagerDep) -> list[dict]:
    """The tokens the caller manages: itself and the tokens it minted, transitively (all of the
    user's tokens after a password sign-in; every token for an admin)."""
    rows = token_service.list_tokens(registry, by=identity)
    return [_out(token, user) for token, user in rows]


@router.delete("/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, registry: RegistryDep, identity: TokenManagerDep, addr: RemoteAddrDep) -> dict:
    """Revoke a token the caller manages; any other id answers 404."""
    if not 1 <= token_id <= limits.MAX_ROW_ID:  # no row can have it (PostgreSQL would refuse the number)
        raise NotFound(f"No token with id {token_id}.")
    token = token_service.revoke(registry, token_id, by=identity, remote_addr=addr)
    with registry.db.read() as session:
        user = session.get(User, token.user_id)
    return _out(token, user.name if user else "")
