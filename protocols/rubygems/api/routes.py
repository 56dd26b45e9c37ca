"""The gem API under the source root: push, yank/unyank, JSON reads, `gem signin`, `gem owner`.

Answers are plain text worded like rubygems.org's (see `messages`), because `gem` prints the body.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import anyio.to_thread
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from packyard.auth import Identity
from packyard.errors import FileConflict, Forbidden, NameCollision, NotFound, PackyardError, PayloadTooLarge, Unauthorized
from packyard.services import ownership, publishing, yanking
from packyard.services.packages import find_artifact, get_package, owners
from packyard.services.tokens import mint

from packyard_rubygems.index import documents
from packyard_rubygems.api import gem_json, messages
from packyard_rubygems.formats.gem_package import InvalidGem, read_gem
from packyard_rubygems.index.legacy_specs import quick_spec_meta
from packyard_rubygems.formats.spec_meta import spec_to_meta

if TYPE_CHECKING:
    from packyard.registry import Registry

ECOSYSTEM = documents.ECOSYSTEM
# `gem signin` asks for these; each becomes a packyard scope on the new token.
SIGNIN_SCOPES = {
    "index_rubygems": "rubygems:gem:*:read",
    "push_rubygem": "rubygems:gem:*:write",
    "yank_rubygem": "rubygems:gem:*:yank",
    "add_owner": "rubygems:gem:*:write",
    "remove_owner": "rubygems:gem:*:write",
    "show_dashboard": "rubygems:gem:*:read",
}


def text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status, headers=headers)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def form_params(request: Request) -> dict[str, str]:
    """Form fields from the body (gem sends them form-encoded, even on DELETE) and the query string."""
    params = dict(request.query_params)
    body = await request.body()
    if body:
        try:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            pass
    return params


class GemApi:
    def __init__(self, registry: Registry):
        self.registry = registry

    # -- credentials ----------------------------------------------------------------------------

    async def identify(self, request: Request) -> Identity:
        """The caller of a write: 401 (with the server's reason) unless a valid key was sent."""
        authorization = request.headers.get("authorization")
        if not authorization:
            raise Unauthorized(messages.access_denied("No API key was sent."))
        try:
            identity = await anyio.to_thread.run_sync(self.registry.authenticate, authorization)
        except Unauthorized as exc:
            raise Unauthorized(messages.access_denied(exc.detail)) from None
        if identity is None:
            raise Unauthorized(messages.access_denied("No API key was sent."))
        return identity

    # -- push -----------------------------------------------------------------------------------

    async def push(self, request: Request) -> Response:
        identity = await self.identify(request)
        limit = self.registry.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The gem is {declared} bytes; this registry accepts at most {limit} bytes.")
        staged = await self.registry.storage.stage(request.stream(), limit)
        try:
            spec = await anyio.to_thread.run_sync(read_gem, str(staged.path))
        except InvalidGem as exc:
            self.registry.storage.discard(staged)
            return text(messages.cannot_process(str(exc)), 422)
        except BaseException:
            self.registry.storage.discard(staged)
            raise
        if not identity.allows(ECOSYSTEM, spec.name, "write"):
            self.registry.storage.discard(staged)
            return text(messages.key_scope_forbidden(f"rubygems:gem:{spec.name}:write"), 403)
        filename = f"{spec.full_name}.gem"
        return await anyio.to_thread.run_sync(self._publish, spec, filename, staged, identity, client_address(request))

    def _publish(self, spec, filename, staged, identity: Identity, remote_addr: str | None) -> Response:
        with self.registry.db.read() as session:
            existing = find_artifact(session, ECOSYSTEM, filename)
        if existing is not None and existing.yanked:
            self.registry.storage.discard(staged)
            return text(messages.yanked_exists(spec.full_name), 409)
        request = publishing.PublishRequest(
            ecosystem=ECOSYSTEM,
            name=spec.name,
            version=spec.version,
            filename=filename,
            staged=staged,
            artifact_meta={**spec_to_meta(spec), **quick_spec_meta(spec)},
            platform=spec.platform,
        )
        try:
            result = publishing.publish(self.registry, request, identity, remote_addr)
        except FileConflict:
            return text(messages.REPUSH_CONFLICT, 409)
        except NameCollision as exc:  # as rubygems.org answers a push of `Foo_Bar` next to `foo_bar`
            if not exc.caller_owns_it:
                return text(messages.push_not_owner(exc.existing_name), 403)
            return text(messages.case_change_refused(exc.existing_name), 409)
        except Forbidden as exc:
            return text(f"{messages.push_not_owner(spec.name)}\n{exc.detail}", 403)
        if not result.created:
            return text(messages.already_pushed(spec.name, spec.version, spec.platform))
        return text(messages.pushed(spec.name, spec.version, spec.platform))

    # -- yank / unyank --------------------------------------------------------------------------

    async def yank(self, request: Request) -> Response:
        return await self._set_yanked(request, True)

    async def unyank(self, request: Request) -> Response:
        return await self._set_yanked(request, False)

    async def _set_yanked(self, request: Request, yanked: bool) -> Response:
        identity = await self.identify(request)
        params = await form_params(request)
        name = params.get("gem_name", "").strip()
        number = params.get("version", "").strip()
        platform = params.get("platform", "").strip() or "ruby"
        if not name or not number:
            return text("Send gem_name and version (and platform for a platform gem).", 400)
        return await anyio.to_thread.run_sync(self._yank_sync, identity, name, number, platform, yanked,
                                              client_address(request))

    def _yank_sync(self, identity: Identity, name: str, number: str, platform: str, yanked: bool,
                   remote_addr: str | None) -> Response:
        with self.registry.db.read() as session:
            package = get_package(session, ECOSYSTEM, name)
        if package is None:
            return text(messages.GEM_NOT_FOUND, 404)
        if not identity.allows(ECOSYSTEM, name, "yank"):
            return text(messages.key_scope_forbidden(f"rubygems:gem:{name}:yank"), 403)
        try:
            result = yanking.set_yanked(self.registry, ECOSYSTEM, name, number, yanked, identity,
                                        platform=platform, remote_addr=remote_addr)
        except NotFound:
            return text(messages.version_not_found(number, platform), 404)
        except Forbidden as exc:
            return text(f"{messages.YANK_NOT_OWNER}\n{exc.detail}", 403)
        if not result.changed:
            if yanked:
                return text(messages.already_yanked(name, number), 422)
            return text(messages.not_yanked(name, number), 422)
        if yanked:
            return text(messages.yanked(name, number, platform))
        return text(messages.unyanked(name, number, platform))

    # -- JSON reads -----------------------------------------------------------------------------

    async def _reader(self, request: Request) -> Identity | None:
        authorization = request.headers.get("authorization")
        identity = None
        if authorization:
            identity = await anyio.to_thread.run_sync(self.registry.authenticate, authorization)
        self.registry.read_access(identity, ECOSYSTEM, None)
        return identity

    def _readable_package(self, session, identity: Identity | None, name: str):
        package = get_package(session, ECOSYSTEM, name)
        if package is None:
            raise NotFound(messages.RUBYGEM_NOT_FOUND)
        self.registry.read_access(identity, ECOSYSTEM, package)
        return package

    async def gem_info(self, request: Request) -> Response:
        name, fmt = _split_format(request.path_params["name"])
        identity = await self._reader(request)

        def build():
            with self.registry.db.read() as session:
                package = self._readable_package(session, identity, name)
                return gem_json.gem_payload(session, package, self.base_url(request))

        payload = await anyio.to_thread.run_sync(build)
        if payload is None:
            raise NotFound(messages.RUBYGEM_NOT_FOUND)
        return _formatted(payload, fmt)

    async def versions(self, request: Request) -> Response:
        name, fmt = _split_format(request.path_params["name"])
        identity = await self._reader(request)

        def build():
            with self.registry.db.read() as session:
                package = self._readable_package(session, identity, name)
                return gem_json.versions_payload(session, package)

        payload = await anyio.to_thread.run_sync(build)
        if not payload:
            raise NotFound(messages.RUBYGEM_NOT_FOUND)
        return _formatted(payload, fmt)

    def base_url(self, request: Request) -> str:
        configured = self.registry.settings.base_url
        if configured:
            return configured.rstrip("/") + "/rubygems"
        return str(request.base_url).rstrip("/") + request.scope.get("root_path", "")

    # -- gem signin -----------------------------------------------------------------------------

    async def api_key(self, request: Request) -> Response:
        user_name, password = _basic_credentials(request.headers.get("authorization"))
        if user_name is None:
            raise Unauthorized("Sign in with your packyard user name and password (HTTP Basic).")
        params = await form_params(request)
        flags = [flag for flag in SIGNIN_SCOPES if params.get(flag, "").lower() == "true"]
        scopes = sorted({SIGNIN_SCOPES[flag] for flag in flags}) or [
            "rubygems:gem:*:read", "rubygems:gem:*:write", "rubygems:gem:*:yank"]
        key_name = params.get("name") or "gem signin"

        def create() -> str:
            user = self.registry.authenticate_password(user_name, password)
            with self.registry.db.write() as session:
                return mint(self.registry, session, user, key_name, scopes, remote_addr=client_address(request)).secret

        try:
            secret = await anyio.to_thread.run_sync(create)
        except Unauthorized:
            raise Unauthorized("Invalid user name or password.") from None
        return text(secret)

    # -- gem owner ------------------------------------------------------------------------------

    async def owners(self, request: Request) -> Response:
        name, fmt = _split_format(request.path_params["name"])
        if request.method == "GET":
            identity = await self._reader(request)

            def listing():
                with self.registry.db.read() as session:
                    package = self._readable_package(session, identity, name)
                    return [{"id": u.id, "handle": u.name} for u in owners(session, package)]

            return _formatted(await anyio.to_thread.run_sync(listing), fmt or "json")
        identity = await self.identify(request)
        params = await form_params(request)
        user = (params.get("email") or params.get("handle") or "").strip()
        if not user:
            return text("Send the owner to add or remove as the form field email=<user name>.", 400)
        change = ownership.add_owner if request.method == "POST" else ownership.remove_owner
        try:
            await anyio.to_thread.run_sync(change, self.registry, ECOSYSTEM, name, user, identity, client_address(request))
        except NotFound as exc:
            return text(exc.detail, 404)
        if request.method == "POST":
            return text("Owner added successfully.")
        return text("Owner removed successfully.")

    # -- app ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/gems", self.push, methods=["POST"]),
            Route("/api/v1/gems/yank", self.yank, methods=["DELETE"]),
            Route("/api/v1/gems/unyank", self.unyank, methods=["PUT"]),
            Route("/api/v1/gems/{name}/owners", self.owners, methods=["GET", "POST", "DELETE"]),
            Route("/api/v1/gems/{name}/owners.{fmt}", self._owners_with_format, methods=["GET"]),
            Route("/api/v1/gems/{name}", self.gem_info, methods=["GET"]),
            Route("/api/v1/versions/{name}", self.versions, methods=["GET"]),
            Route("/api/v1/api_key", self.api_key, methods=["GET", "POST"]),
        ]

    async def _owners_with_format(self, request: Request) -> Response:
        request.path_params["name"] = f"{request.path_params['name']}.{request.path_params['fmt']}"
        return await self.owners(request)


def _split_format(raw: str) -> tuple[str, str | None]:
    for fmt in ("json", "yaml"):
        if raw.endswith(f".{fmt}"):
            return raw[: -len(fmt) - 1], fmt
    return raw, None


def _formatted(payload, fmt: str | None) -> Response:
    if fmt == "yaml":
        return Response(yaml.safe_dump(payload, sort_keys=False), media_type="text/yaml")
    return Response(json.dumps(payload), media_type="application/json")


def _basic_credentials(authorization: str | None) -> tuple[str | None, str]:
    if not authorization or not authorization.lower().startswith("basic "):
        return None, ""
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else (None, "")


def plain_text_errors(app: Starlette) -> None:
    """Core errors become rubygems-style plain text (401 also names the auth scheme)."""

    async def handle(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PackyardError)
        headers = dict(exc.headers)
        return text(exc.detail, exc.status_code, headers or None)

    app.add_exception_handler(PackyardError, handle)
