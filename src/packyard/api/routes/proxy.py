"""/api/v1/reserved/{ecosystem} (names that never resolve upstream) and /api/v1/proxy/fetches
(every file fetched from an upstream). Both admin only: the list of reserved names says which
private names exist, and the fetch record is the team's dependency inventory."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from packyard.api.deps import AdminDep, RegistryDep, RemoteAddrDep
from packyard.models import ReservedName, limits
from packyard.models.limits import StorableStr
from packyard.services import reserved_names
from packyard.services.upstream_fetches import list_fetches

router = APIRouter(prefix="/api/v1", tags=["upstream proxy"])


class ReserveBody(BaseModel):
    name: StorableStr = Field(min_length=1, max_length=limits.NAME_COLUMN_LENGTH)


def _reserved(row: ReservedName) -> dict[str, Any]:
    return {"ecosystem": row.ecosystem, "name": row.name, "normalized_name": row.normalized_name,
            "reserved_at": row.reserved_at, "reserved_by": row.reserved_by}


@router.get("/reserved/{ecosystem}")
def reserved_list(registry: RegistryDep, _admin: AdminDep, ecosystem: str) -> dict[str, Any]:
    return {"items": [_reserved(row) for row in reserved_names.list_reserved(registry, ecosystem)]}


@router.post("/reserved/{ecosystem}", status_code=201)
def reserve(registry: RegistryDep, admin: AdminDep, remote_addr: RemoteAddrDep, ecosystem: str, body: ReserveBody) -> dict[str, Any]:
    """Reserve a name: it never resolves upstream (409 when reserved already)."""
    return _reserved(reserved_names.reserve(registry, ecosystem, body.name, admin, remote_addr))


@router.delete("/reserved/{ecosystem}/{name}", status_code=204)
def unreserve(registry: RegistryDep, admin: AdminDep, remote_addr: RemoteAddrDep, ecosystem: str, name: str) -> None:
    reserved_names.unreserve(registry, ecosystem, name, admin, remote_addr)


@router.get("/proxy/fetches")
def fetches(
    registry: RegistryDep,
    _admin: AdminDep,
    page: Annotated[int, Query(ge=1, le=limits.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    ecosystem: Annotated[StorableStr | None, Query(max_length=32)] = None,
    package: Annotated[StorableStr | None, Query(max_length=limits.NAME_COLUMN_LENGTH)] = None,
) -> dict[str, Any]:
    """Files fetched from upstreams, newest first: package, file, sha256, size, upstream URL, time."""
    if ecosystem:
        registry.adapter(ecosystem)  # 404 for an unknown one
    rows = list_fetches(registry, ecosystem=ecosystem, package=package, offset=(page - 1) * per_page, limit=per_page)
    return {"items": [row.model_dump() for row in rows], "page": page, "per_page": per_page}
