"""The home page (search, recent versions, counts) and the package pages; public pages carry an ETag."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from packyard.errors import Forbidden, NotFound, Unauthorized
from packyard.models import Package
from packyard.services import catalog
from packyard.services.package_view import load_package_view
from packyard.services.packages import get_package
from packyard.web.context import Visitor, VisitorDep
from packyard.services.descriptions import description_html
from packyard.web.pages import cacheable, render
from packyard.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def home(request: Request, visitor: VisitorDep, q: str = "") -> Response:
    registry = visitor.registry
    if registry.settings.private and not visitor.signed_in:
        return render(request, visitor, "home.html", q=q, private_registry=True)
    readable = registry.readable_packages(visitor.identity)

    def build() -> Response:
        with registry.db.read() as session:
            results = catalog.search(session, q, readable) if q.strip() else None
            recent = catalog.recent_versions(session, readable)
            counts = catalog.counts(session, readable)
        return render(request, visitor, "home.html", q=q, results=results, recent=recent, counts=counts, ecosystems=list(registry.adapters))

    return cacheable(request, visitor, [registry.serial(eco) for eco in registry.adapters] + [q], build)


def readable_package(visitor: Visitor, ecosystem: str, name: str, session) -> Package:
    """The package, or 404 alike for an unknown name and a private package this visitor may not read."""
    registry = visitor.registry
    adapter = registry.adapter(ecosystem)
    package = get_package(session, ecosystem, adapter.normalize_name(name))
    if package is not None:
        try:
            registry.read_access(visitor.identity, ecosystem, package)
            return package
        except (Unauthorized, Forbidden):
            pass
    hint = "" if visitor.signed_in else " If it is private, sign in to see it."
    raise NotFound(f"No {adapter.scope_noun} named '{name}' in {ecosystem}.{hint}")


@router.get("/packages/{ecosystem}/{name}")
def package_page(ecosystem: str, name: str, request: Request, visitor: VisitorDep) -> Response:
    registry = visitor.registry
    adapter = registry.adapter(ecosystem)
    with registry.db.read() as session:
        package = readable_package(visitor, ecosystem, name, session)

        def build() -> Response:
            view = load_package_view(registry, session, package)
            details = view.details
            description = description_html(session, details)
            user = visitor.signed_in.user if visitor.signed_in else None
            manages = user is not None and (user.is_admin or user.name in view.owners)
            return render(
                request, visitor, "package.html",
                view=view, package=package, latest=view.latest, description=description, adapter=adapter,
                install_lines=adapter.install_lines(visitor.base_url, package.name), manages=manages,
            )

        return cacheable(request, visitor, [ecosystem, package.id, package.last_serial], build)
