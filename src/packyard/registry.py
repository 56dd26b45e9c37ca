"""The Registry: everything an adapter or route needs, built once per process from the settings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, false, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from packyard.auth import ADMIN, Identity, MalformedCredentials, Scope, ScopeRules, parse_authorization, parse_scope
from packyard.auth.scopes import ACTIONS
from packyard.auth.secrets import hash_token, verify_password
from packyard.cache import Cache, open_cache
from packyard.cache.redis import redis_prefix
from packyard.clock import Clock
from packyard.config import Settings
from packyard.db import Database
from packyard.documents.files import DocumentFiles
from packyard.documents.redis_copies import RedisDocuments
from packyard.documents.store import DocumentStore
from packyard.errors import Forbidden, InsufficientStorage, NotFound, ServiceUnavailable, Unauthorized
from packyard.models.limits import unstorable_reason
from packyard.observability.request_context import note_user
from packyard.models import JournalEntry, Package, Token, User
from packyard.plugins import ProtocolAdapter, load_adapters
from packyard.resilience.redis_guard import GuardedRedis
from packyard.documents.serials import FileSerialBoard, JournalSerialBoard, RedisSerialBoard, SerialBoard
from packyard.storage import BlobStorage, LocalBlobStorage, open_storage
from packyard.upstream import Upstream

# last_used_at is written at most this often per token, so reads stay read-only.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


class Registry:
    def __init__(self, settings: Settings, adapters: dict[str, ProtocolAdapter] | None = None):
        self.settings = settings
        self.db = Database(settings.resolved_database_url, wait_seconds=settings.database_wait_seconds)
        self.storage: BlobStorage = open_storage(settings.resolved_storage_url, settings.data_dir.resolve() / "incoming")
        self.redis: GuardedRedis | None = GuardedRedis(settings.redis_url) if settings.redis_url else None
        self.cache: Cache = open_cache(self.redis, settings.resolved_database_url, settings.cache_entries)
        self.clock = Clock(self.db, settable=settings.test_hooks)
        self.serials = self._serial_board()
        self.documents = self._document_store()
        self.adapters = load_adapters() if adapters is None else adapters
        self.scope_rules = {eco: ScopeRules(a.scope_noun, a.normalize_name) for eco, a in self.adapters.items()}
        self.upstreams = {eco: Upstream(self, eco, url) for eco, url in settings.upstreams.items() if eco in self.adapters}

    def upstream(self, ecosystem: str) -> Upstream | None:
        """The ecosystem's upstream proxy toolkit, or None when no upstream is configured (the default)."""
        return self.upstreams.get(ecosystem)

    def adapter(self, ecosystem: str) -> ProtocolAdapter:
        try:
            return self.adapters[ecosystem]
        except KeyError:
            raise NotFound(f"unknown ecosystem '{ecosystem}' (known: {', '.join(self.adapters)})") from None

    # -- authentication -------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, allow_password: bool = False) -> Identity | None:
        """None when no credentials were sent; raises Unauthorized when they are wrong.

        With `allow_password`, Basic `<user>:<password>` is accepted too (token management only)."""
        try:
            credentials = parse_authorization(authorization)
        except MalformedCredentials as exc:
            raise Unauthorized(f"Invalid credentials: {exc}.") from None
        if credentials is None:
            return None
        now = self.clock.now()
        with self.db.read() as session:
            token = session.exec(select(Token).where(Token.secret_hash == hash_token(credentials.secret))).first()
            user = session.get(User, token.user_id) if token is not None else None
        if token is None and allow_password and credentials.username not in (None, "__token__"):
            return self.password_identity(self.authenticate_password(credentials.username, credentials.secret))
        if token is None or user is None:
            raise Unauthorized("Invalid or unknown token: create one with 'packyard token create' or POST /api/v1/tokens.")
        if credentials.username not in (None, "__token__", user.name):
            raise Unauthorized(f"This token does not belong to user '{credentials.username}': use '__token__' as the user name.")
        if token.revoked_at is not None:
            raise Unauthorized(f"Token '{token.name}' was revoked: create a new one.")
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthorized(f"Token '{token.name}' expired at {token.expires_at.isoformat()}: create a new one.")
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
            self._note_use(token, now)
        scopes = [parse_scope(s, self.scope_rules) for s in token.scopes if _known(s, self.scope_rules)]
        note_user(user.name)
        return Identity(user=user, token=token, scopes=scopes)

    def _note_use(self, token: Token, now) -> None:
        """Best effort: a busy or full database must not fail the request the token was sent with."""
        try:
            with self.db.write() as session:
                fresh = session.get(Token, token.id)
                if fresh is not None:
                    fresh.last_used_at = now
                    session.add(fresh)
        except (ServiceUnavailable, InsufficientStorage):
            pass

    def authenticate_password(self, username: str, password: str) -> User:
        if unstorable_reason(username) is not None:  # no user can be named so; PostgreSQL could not even compare
            raise Unauthorized("Invalid user name or password.")
        with self.db.read() as session:
            user = session.exec(select(User).where(User.name == username)).first()
        if user is None or not verify_password(password, user.password_hash):
            raise Unauthorized("Invalid user name or password.")
        return user

    def password_identity(self, user: User) -> Identity:
        """A user signed in with a password holds every scope a sign-in could grant them
        (`admin` only for an admin user); ownership still limits what they may change."""
        note_user(user.name)
        if user.is_admin:
            scopes: list[Scope | str] = [ADMIN]
        else:
            scopes = [Scope(eco, rules.noun, "*", action) for eco, rules in self.scope_rules.items() for action in ACTIONS]
        return Identity(user=user, token=None, scopes=scopes, by_password=True)

    def read_access(self, identity: Identity | None, ecosystem: str, package: Package | None) -> None:
        """Raise unless `identity` may read `package` (None: a listing or an unknown name)."""
        if package is None:
            self.document_access(identity, ecosystem, None, public=True)
        else:
            self.document_access(identity, ecosystem, package.normalized_name, public=not package.is_private, display_name=package.name)

    def document_access(self, identity: Identity | None, ecosystem: str, normalized_name: str | None, *, public: bool,
                        display_name: str | None = None) -> None:
        """`read_access` for a stored document, which carries its package's visibility (so a read
        needs no database): `normalized_name` None for a listing or an unknown name."""
        if public and not self.settings.private:
            return
        if identity is None:
            raise Unauthorized("Authentication required: this registry needs a token with read access; send it as Basic '__token__:<token>'.")
        if normalized_name is None:
            return
        if not identity.allows(ecosystem, normalized_name, "read"):
            raise Forbidden(f"Your token has no read scope for '{display_name or normalized_name}': ask for '{ecosystem}:{self.adapters[ecosystem].scope_noun}:{normalized_name}:read'.")

    def restricted(self, public: bool = True) -> bool:
        """Whether bytes of this visibility must stay out of shared caches (`Cache-Control: private`)."""
        return self.settings.private or not public

    def readable_packages(self, identity: Identity | None) -> ColumnElement[bool] | None:
        """The read rules of `read_access` as a SQL condition on Package, so listings filter and
        count in the query (None: no restriction)."""
        if identity is not None and identity.is_admin:
            return None
        granted = []
        for ecosystem in self.adapters:
            if identity is not None and identity.may_read_all(ecosystem):
                granted.append(Package.ecosystem == ecosystem)
            elif identity is not None and (names := identity.readable_names(ecosystem)):
                granted.append(and_(Package.ecosystem == ecosystem, Package.normalized_name.in_(sorted(names))))
        if not self.settings.private:
            granted.append(Package.visibility == "public")
        return or_(*granted) if granted else false()

    # -- change serials -------------------------------------------------------------------------

    def serial(self, ecosystem: str) -> int:
        """The ecosystem's latest change serial; cheap enough to call on every read (see serials.py)."""
        return self.serials.current(ecosystem)

    def publish_serial(self, ecosystem: str, serial: int) -> None:
        """Tell every process that `serial` is committed (call after the commit)."""
        self.serials.publish(ecosystem, serial)

    def resync_serials(self, *, announce: bool = False) -> None:
        """Catch the board up with the journal (a process may have died between commit and publish).
        `announce`: tell every process that changes may have gone unannounced, even when the
        serial is caught up (a worker replacing one that died: its last change's publish may be lost)."""
        for ecosystem in self.adapters:
            serial = self._journal_serial(ecosystem)
            if announce:
                self.serials.publish(ecosystem, serial)
            else:
                self.serials.catch_up(ecosystem, serial)

    def _journal_serial(self, ecosystem: str) -> int:
        with self.db.read() as session:
            value = session.exec(select(func.max(JournalEntry.id)).where(JournalEntry.ecosystem == ecosystem)).one()
        return int(value or 0)

    def _serial_board(self) -> SerialBoard:
        if self.redis is not None:
            return RedisSerialBoard(self._journal_serial, self.redis, redis_prefix(self.settings.resolved_database_url),
                                    self.settings.redis_url)
        if self.db.is_sqlite:
            return FileSerialBoard(self._journal_serial, self.settings.data_dir.resolve() / "serials")
        return JournalSerialBoard(self._journal_serial)

    def _document_store(self) -> DocumentStore:
        """Files under the data directory whenever blobs are local or there is no Redis; Redis
        (shared by every host) when configured; both when both apply."""
        local = isinstance(self.storage, LocalBlobStorage)
        redis = RedisDocuments(self.redis, redis_prefix(self.settings.resolved_database_url)) if self.redis is not None else None
        files = None
        if local or redis is None:
            files = DocumentFiles(self.settings.data_dir.resolve(), self.storage.path if local else None)
        return DocumentStore(self.db, self.serials, files, redis, private_registry=self.settings.private)

    def close(self) -> None:
        self.db.dispose()


def _known(scope: str, rules: dict[str, ScopeRules]) -> bool:
    """Scopes of an ecosystem whose adapter is not installed are ignored, not fatal."""
    return scope == "admin" or scope.split(":", 1)[0] in rules
