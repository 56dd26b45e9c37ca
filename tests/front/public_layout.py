"""Write <data_dir>/public/ and public-etags/ from the app's own anonymous answers, following the
materialized-files layout (docs/nginx.md): what the app will write on every change, done here by
the tests after each change until the app writes it itself."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import httpx

from tests.support.server import RunningServer

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


class _Layout:
    def __init__(self, app: RunningServer) -> None:
        self.app = app
        self.public = app.data_dir / "public"
        self.etags = app.data_dir / "public-etags"

    def get(self, url_path: str, accept: str | None = None) -> httpx.Response:
        response = httpx.get(self.app.url + url_path, headers={"Accept": accept} if accept else {}, timeout=60)
        assert response.status_code == 200, (url_path, response.status_code, response.text)
        return response

    def document(self, url_path: str, relative: str | None = None, accept: str | None = None) -> httpx.Response:
        response = self.get(url_path, accept)
        relative = relative or url_path.lstrip("/")
        _write(self.public / relative, response.content)
        _write(self.etags / (relative + ".etag"), response.headers["etag"].encode())
        return response

    def blob(self, url_path: str, *, etag_sidecar: bool) -> None:
        response = self.get(url_path)
        sha256 = hashlib.sha256(response.content).hexdigest()
        blob = self.app.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256
        assert blob.exists(), blob
        link = self.public / url_path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
        if etag_sidecar:
            _write(self.etags / (url_path.lstrip("/") + ".etag"), response.headers["etag"].encode())


def mirror_public(app: RunningServer) -> None:
    """Replace public/ and public-etags/ with every public document and blob the app serves anonymously."""
    layout = _Layout(app)
    shutil.rmtree(layout.public, ignore_errors=True)
    shutil.rmtree(layout.etags, ignore_errors=True)
    for kind, accept in (("json", PIP_ACCEPT), ("html", "text/html")):
        layout.document("/pypi/simple/", f"pypi/simple/index.{kind}", accept)
    for project in layout.get("/pypi/simple/", PIP_ACCEPT).json()["projects"]:
        name = project["name"]
        page = layout.document(f"/pypi/simple/{name}/", f"pypi/simple/{name}/index.json", PIP_ACCEPT)
        layout.document(f"/pypi/simple/{name}/", f"pypi/simple/{name}/index.html", "text/html")
        for file in page.json()["files"]:
            path = f"/pypi/files/{name}/{file['filename']}"
            layout.blob(path, etag_sidecar=False)
            if file.get("core-metadata"):
                layout.document(path + ".metadata")
    for path in ("versions", "names", "specs.4.8.gz", "latest_specs.4.8.gz", "prerelease_specs.4.8.gz"):
        layout.document(f"/rubygems/{path}")
    for gem in layout.get("/rubygems/names").text.split("\n")[1:]:
        if not gem:
            continue
        info = layout.document(f"/rubygems/info/{gem}")
        for line in info.text.split("\n")[1:]:
            if not line:
                continue
            full_name = f"{gem}-{line.split(' ', 1)[0]}"
            layout.document(f"/rubygems/quick/Marshal.4.8/{full_name}.gemspec.rz")
            layout.blob(f"/rubygems/gems/{full_name}.gem", etag_sidecar=True)
