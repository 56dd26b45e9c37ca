"""The tables. Import from here: `from packyard.models import Package, Artifact`."""

from packyard.models.audit import AuditEvent
from packyard.models.blob import Blob
from packyard.models.document import Document, DocumentSegment
from packyard.models.journal import ChangeAction, JournalEntry
from packyard.models.package import Artifact, Package, PackageOwner, Version
from packyard.models.rendered_description import RenderedDescription
from packyard.models.setting import StoredSetting
from packyard.models.token import Token
from packyard.models.upstream import ReservedName, UpstreamClaim, UpstreamFetch, UpstreamPage
from packyard.models.user import User
from packyard.models.web_session import WebSession

__all__ = [
    "Artifact",
    "AuditEvent",
    "Blob",
    "ChangeAction",
    "Document",
    "DocumentSegment",
    "JournalEntry",
    "Package",
    "PackageOwner",
    "RenderedDescription",
    "ReservedName",
    "StoredSetting",
    "Token",
    "UpstreamClaim",
    "UpstreamFetch",
    "UpstreamPage",
    "User",
    "Version",
    "WebSession",
]
