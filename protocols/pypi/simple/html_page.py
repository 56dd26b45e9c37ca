"""HTML serialization of the simple API (PEP 503 + 592, 629, 658/714, 792).

Every attribute carries a value (pip reads a bare ``data-yanked`` as "not yanked") and every
value is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from packyard_pypi.simple.page_data import API_VERSION, FileLink, IndexPage, ProjectPage


def _head(title: str, extra_meta: list[tuple[str, str]]) -> list[str]:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
    ]
    for name, content in extra_meta:
        lines.append(f'    <meta name="{escape(name)}" content="{escape(content)}">')
    lines += [f"    <title>{escape(title)}</title>", "  </head>", "  <body>"]
    return lines


def render_index(page: IndexPage) -> bytes:
    lines = _head("Simple index", [])
    lines.append("    <h1>Simple index</h1>")
    for project in page.projects:
        href = escape(f"{project.normalized_name}/")
        lines.append(f'    <a href="{href}">{escape(project.name)}</a><br />')
    lines += ["  </body>", "</html>", f"<!--SERIAL {page.last_serial}-->", ""]
    return "\n".join(lines).encode("utf-8")


def _file_anchor(link: FileLink) -> str:
    attrs = [("href", f"{link.url}#sha256={link.sha256}")]
    if link.requires_python:
        attrs.append(("data-requires-python", link.requires_python))
    if link.core_metadata_sha256:
        value = f"sha256={link.core_metadata_sha256}"
        attrs.append(("data-dist-info-metadata", value))
        attrs.append(("data-core-metadata", value))
    if link.yanked:
        attrs.append(("data-yanked", link.yanked_reason or ""))
    rendered = " ".join(f'{name}="{escape(value, quote=True)}"' for name, value in attrs)
    return f"    <a {rendered}>{escape(link.filename)}</a><br />"


def render_project(page: ProjectPage) -> bytes:
    meta = [("pypi:project-status", page.status)]
    if page.status_reason:
        meta.append(("pypi:project-status-reason", page.status_reason))
    title = f"Links for {page.name}"
    lines = _head(title, meta)
    lines.append(f"    <h1>{escape(title)}</h1>")
    lines += [_file_anchor(link) for link in page.files]
    lines += ["  </body>", "</html>", f"<!--SERIAL {page.last_serial}-->", ""]
    return "\n".join(lines).encode("utf-8")
