"""/api/v1/packages: list and inspect packages; yank, owners, visibility and status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from packyard.models import limits
from packyard.api.deps import IdentityDep, RegistryDep, RemoteAddrDep, public_base_url
from packyard.auth import Identity
from packyard.errors import NotFound
from packyard.models.limits import StorableStr
from packyard.models import Package
from packyard.registry import Registry
from packyard.services import catalog, ownership, yanking
from packyard.services.package_view import load_package_view
from packyard.services.packages import count_packages, get_package, list_packages, owners

router = APIRouter(prefix="/api/v1/packages", tags=["packages"])

Page = Annotated[int, Query(ge=1, le=limits.MAX_PAGE, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=500)]


class YankBody(BaseModel):
    reason: StorableStr | None = Field(default=None, max_length=limits.REASON_LENGTH)
    platform: StorableStr | None = Field(default=None, max_length=limits.PLATFORM_LENGTH, description="RubyGems: yank only this platform's gem")


class OwnerBody(BaseModel):
    user: StorableStr = Field(min_length=1, max_length=limits.USER_NAME_LENGTH)


class SettingsBody(BaseModel):
    visibility: Literal["public", "private"] | None = None
    status: Literal["active", "archived", "quarantined", "deprecated"] | None = None
    status_reason: StorableStr | None = Field(default=None, max_length=limits.REASON_LENGTH)


def _optional_identity(request: Request, registry: Registry) -> Identity | None:
    return registry.authenticate(request.headers.get("authorization"))


def _readable_package(registry: Registry, session: Session, request: Request, ecosystem: str, name: str) -> Package:
    adapter = registry.adapter(ecosystem)
    package = get_package(session, ecosystem, adapter.normalize_name(name))
    if package is None:
        raise NotFound(f"No {adapter.scope_noun} named '{name}' in {ecosystem}.")
    registry.read_access(_optional_identity(request, registry), ecosystem, package)
    return package


def _summary(package: Package) -> dict[str, Any]:
    return {
        "ecosystem": package.ecosystem,
        "name": package.name,
        "normalized_name": package.normalized_name,
        "visibility": package.visibility,
        "status": package.status,
        "status_reason": package.status_reason,
        "created_at": package.created_at,
        "last_serial": package.last_serial,
    }


def _detail(registry: Registry, session: Session, package: Package, base_url: str) -> dict[str, Any]:
    """What the package page shows (`services.package_view`: a fixed number of queries); summary,
    description and dependencies are the latest version's."""
    view = load_package_view(registry, session, package)
    details = view.details
    return {
        **_summary(package),
        "summary": details.summary,
        "latest_version": view.latest.version if view.latest else None,
        "description": details.description,
        "description_content_type": details.description_content_type if details.description is not None else None,
        "dependencies": list(details.dependencies),
        "install": [{"tool": line.label, "text": line.text} for line in registry.adapter(package.ecosystem).install_lines(base_url, package.name)],
        "owners": view.owners,
        "versions": [
            {
                "version": v.version,
                "created_at": v.created_at,
                "yanked": v.yanked,
                "yank_reason": v.yank_reason,
                "artifacts": [
                    {
                        "filename": f.filename,
                        "platform": f.platform,
                        "size": f.size,
                        "sha256": f.sha256,
                        "md5": f.md5,
                        "blake2b_256": f.blake2b_256,
                        "uploaded_at": f.uploaded_at,
                        "uploader": f.uploader,
                        "yanked": f.yanked,
                        "yank_reason": f.yank_reason,
                    }
                    for f in v.files
                ],
            }
            for v in view.versions
        ],
    }


def _page(registry: Registry, identity: Identity | None, ecosystem: str | None, page: int, per_page: int) -> dict[str, Any]:
    registry.read_access(identity, ecosystem or "", None)
    readable = registry.readable_packages(identity)
    with registry.db.read() as session:
        total = count_packages(session, ecosystem, where=readable)
        rows = list_packages(session, ecosystem, offset=(page - 1) * per_page, limit=per_page, where=readable)
    return {"items": [_summary(p) for p in rows], "page": page, "per_page": per_page, "total": total}


@router.get("")
def all_packages(
    request: Request, registry: RegistryDep, page: Page = 1, per_page: PerPage = 100,
    q: Annotated[str | None, Query(max_length=catalog.MAX_QUERY_LENGTH, description="search: names containing this text (case-insensitive), those starting with it first; at most 50")] = None,
) -> dict[str, Any]:
    """Packages of every ecosystem; private ones only for callers with a read scope for them."""
    identity = _optional_identity(request, registry)
    if q is None:
        return _page(registry, identity, None, page, per_page)
    registry.read_access(identity, "", None)
    with registry.db.read() as session:
        found = catalog.search(session, q, registry.readable_packages(identity))
    return {"items": [_summary(p) for p in found], "page": 1, "per_page": len(found), "total": len(found)}


@router.get("/{ecosystem}")
def ecosystem_packages(ecosystem: str, request: Request, registry: RegistryDep, page: Page = 1, per_page: PerPage = 100) -> dict[str, Any]:
    registry.adapter(ecosystem)
    return _page(registry, _optional_identity(request, registry), ecosystem, page, per_page)


@router.get("/{ecosystem}/{name}")
def package_detail(ecosystem: str, name: str, request: Request, registry: RegistryDep) -> dict[str, Any]:
    """A package with its versions (newest first), files and owners."""
    with registry.db.read() as session:
        return _detail(registry, session, _readable_package(registry, session, request, ecosystem, name), public_base_url(request, registry)[0])


@router.patch("/{ecosystem}/{name}")
def update_package(ecosystem: str, name: str, body: SettingsBody, registry: RegistryDep, identity: IdentityDep, addr: RemoteAddrDep) -> dict[str, Any]:
    """Change visibility (`public`/`private`) or, for PyPI, the project status (PEP 792)."""
    package = ownership.update_settings(
        registry, ecosystem, name, identity,
        visibility=body.visibility, status=body.status, status_reason=body.status_reason, remote_addr=addr,
    )
    return _summary(package)


def _yank(registry: Registry, ecosystem: str, name: str, version: str, yanked: bool, body: YankBody | None, identity: Identity, addr: str | None) -> dict[str, Any]:
    result = yanking.set_yanked(
        registry, ecosystem, name, version, yanked, identity,
        reason=body.reason if body else None, platform=body.platform if body else None, remote_addr=addr,
    )
    return {
        "ecosystem": ecosystem,
        "name": result.package.name,
        "version": result.version.version,
        "yanked": yanked,
        "changed": [a.filename for a in result.changed],
    }


@router.post("/{ecosystem}/{name}/versions/{version}/yank")
def yank_version(ecosystem: str, name: str, version: str, registry: RegistryDep, identity: IdentityDep, addr: RemoteAddrDep, body: YankBody | None = None) -> dict[str, Any]:
    """Yank every file of a version (or one platform's): installers skip it unless pinned exactly."""
    return _yank(registry, ecosystem, name, version, True, body, identity, addr)


@router.post("/{ecosystem}/{name}/versions/{version}/unyank")
def unyank_version(ecosystem: str, name: str, version: str, registry: RegistryDep, identity: IdentityDep, addr: RemoteAddrDep, body: YankBody | None = None) -> dict[str, Any]:
    return _yank(registry, ecosystem, name, version, False, body, identity, addr)


@router.get("/{ecosystem}/{name}/owners")
def list_owners(ecosystem: str, name: str, request: Request, registry: RegistryDep) -> list[dict[str, str]]:
    with registry.db.read() as session:
        return [{"user": u.name} for u in owners(session, _readable_package(registry, session, request, ecosystem, name))]


@router.post("/{ecosystem}/{name}/owners", status_code=201)
def add_owner(ecosystem: str, name: str, body: OwnerBody, registry: RegistryDep, identity: IdentityDep, addr: RemoteAddrDep) -> list[dict[str, str]]:
    return [{"user": u.name} for u in ownership.add_owner(registry, ecosystem, name, body.user, identity, addr)]


@router.delete("/{ecosystem}/{name}/owners/{user}")
def remove_owner(ecosystem: str, name: str, user: str, registry: RegistryDep, identity: IdentityDep, addr: RemoteAddrDep) -> list[dict[str, str]]:
    return [{"user": u.name} for u in ownership.remove_owner(registry, ecosystem, name, user, identity, addr)]
