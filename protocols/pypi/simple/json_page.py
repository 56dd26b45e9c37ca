"""JSON serialization of the simple API (PEP 691 + 700, 714, 792).

Only ``core-metadata`` is emitted for the sidecar, never the old ``dist-info-metadata`` key
(some pip versions crash on it).  ``yanked`` is ``true`` or a non-empty reason: pip reads an
empty string as "not yanked".
"""

from __future__ import annotations

import json

from packyard_pypi.simple.page_data import API_VERSION, FileLink, IndexPage, ProjectPage, format_upload_time


def _dumps(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_index(page: IndexPage) -> bytes:
    return _dumps(
        {
            "meta": {"api-version": API_VERSION, "_last-serial": page.last_serial},
            "projects": [
                {"name": project.name, "_last-serial": project.last_serial}
                for project in page.projects
            ],
        }
    )


def _file(link: FileLink) -> dict:
    data: dict = {
        "filename": link.filename,
        "url": f"{link.url}#sha256={link.sha256}",
        "hashes": {"sha256": link.sha256},
    }
    if link.requires_python:
        data["requires-python"] = link.requires_python
    data["core-metadata"] = (
        {"sha256": link.core_metadata_sha256} if link.core_metadata_sha256 else False
    )
    data["yanked"] = (link.yanked_reason or True) if link.yanked else False
    if link.size is not None:
        data["size"] = link.size
    if link.upload_time is not None:
        data["upload-time"] = format_upload_time(link.upload_time)
    return data


def render_project(page: ProjectPage) -> bytes:
    status: dict = {"status": page.status}
    if page.status_reason:
        status["reason"] = page.status_reason
    return _dumps(
        {
            "meta": {"api-version": API_VERSION, "_last-serial": page.last_serial},
            "name": page.normalized_name,
            "project-status": status,
            "versions": page.versions,
            "files": [_file(link) for link in page.files],
        }
    )
