"""The legacy upload endpoint (``POST /legacy/``) as twine and uv use it, after Warehouse's forklift.

Order: credentials (403 as on PyPI), the form, the file streamed into staged blob storage
while it is hashed, digests, filename, the metadata inside the file, then one publishing
transaction.  Whatever fails, the staged bytes are discarded and nothing is written.
Every refusal carries its message in the body (uv prints it) and in the status line's
reason phrase (twine prints only that).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name, canonicalize_version
from packyard.errors import FileConflict, PackyardError, Unauthorized
from packyard.services import packages as package_queries
from packyard.services.publishing import PublishRequest, publish
from starlette.concurrency import run_in_threadpool

from packyard_pypi.distributions import InvalidDistribution, check_filename_characters, parse_filename, read_core_metadata
from packyard_pypi.documents import ECOSYSTEM, encode_core_metadata
from packyard_pypi.upload.multipart import MAX_TOTAL_FIELD_BYTES, MultipartUpload
from packyard_pypi.upload.form import UploadError, UploadForm, check_action, parse_upload_form
from packyard_pypi.wire import Request, Send, respond, respond_text

if TYPE_CHECKING:
    from packyard.auth import Identity
    from packyard.registry import Registry
    from packyard.storage import StagedBlob

INVALID_AUTH = (
    "Invalid or non-existent authentication information. Upload with a packyard token: "
    "user name '__token__', the token as password."
)
_EARLY_FIELDS = {":action", "name", "version", "filetype"}


async def _refuse(send: Send, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> None:
    await respond_text(send, status, message, headers, reason_in_status_line=True)


def _validate_form(fields: dict[str, list[str]]) -> UploadForm:
    check_action(fields)
    return parse_upload_form(fields)


def _check_scope(identity: Identity, form: UploadForm) -> None:
    normalized = canonicalize_name(form.name)
    if not identity.allows(ECOSYSTEM, normalized, "write"):
        raise UploadError(
            403,
            f"The given token isn't allowed to upload to project '{form.name}': it needs the scope "
            f"'pypi:package:{normalized}:write'.",
        )


def _check_digests(form: UploadForm, staged: StagedBlob) -> None:
    sent = {
        form.md5_digest: staged.md5,
        form.sha256_digest: staged.sha256,
        form.blake2_256_digest: staged.blake2b_256,
    }
    for claimed, actual in sent.items():
        if claimed is not None and claimed != actual:
            raise UploadError(
                400, "The digest supplied does not match a digest calculated from the uploaded file."
            )


def _inspect_and_publish(
    registry: Registry, identity: Identity, form: UploadForm, filename: str, staged: StagedBlob, remote_addr: str | None
) -> None:
    """Check the file against the form, then publish it (an identical re-upload changes nothing). Runs in a thread."""
    try:
        dist = parse_filename(filename)
    except InvalidDistribution as exc:
        raise UploadError(400, str(exc)) from None
    expected_type = "bdist_wheel" if filename.endswith(".whl") else "sdist"
    if form.filetype != expected_type:
        raise UploadError(
            400, f"Invalid file extension: Extension of '{filename}' is invalid for filetype {form.filetype}."
        )
    project = canonicalize_name(form.name)
    if dist.name != project:
        raise UploadError(
            400, f"Start filename for '{form.name}' with '{project.replace('-', '_')}' (got '{filename}')."
        )
    if dist.version != form.version:
        raise UploadError(400, f"Version in filename should be '{form.version}' not '{dist.version}'.")
    try:
        core = read_core_metadata(staged.path, dist)
    except InvalidDistribution as exc:
        raise UploadError(400, str(exc)) from None
    if canonicalize_name(core.name) != project:
        raise UploadError(
            400, f"The file's metadata names project '{core.name}', but the upload is for '{form.name}'."
        )
    if core.version != form.version:
        raise UploadError(
            400, f"The file's metadata has version '{core.version}', but the upload is for version '{form.version}'."
        )

    version = str(form.version)
    with registry.db.read() as session:  # PEP 440: '1.0' and '1.0.0' are one release
        package = package_queries.get_package(session, ECOSYSTEM, project)
        if package is not None:
            for existing in package_queries.list_versions(session, package):
                if canonicalize_version(existing.version) == canonicalize_version(version):
                    version = existing.version
                    break

    requires_python = core.fields.get("requires_python") or form.metadata.get("requires_python")
    artifact_meta: dict = {
        "packagetype": dist.packagetype,
        "python_version": form.pyversion,
        "requires_python": requires_python,
        "comment": form.comment,
    }
    if dist.packagetype == "bdist_wheel":
        artifact_meta["core_metadata"] = {
            "sha256": hashlib.sha256(core.raw_bytes).hexdigest(),
            "blake2b_256": hashlib.blake2b(core.raw_bytes, digest_size=32).hexdigest(),
            **encode_core_metadata(core.raw_bytes),
        }
    publish(
        registry,
        PublishRequest(
            ecosystem=ECOSYSTEM,
            name=form.name,
            version=version,
            filename=filename,
            staged=staged,
            artifact_meta=artifact_meta,
            version_meta={"metadata": dict(core.fields)},
        ),
        identity,
        remote_addr,
    )


async def _upload(registry: Registry, request: Request) -> None:
    try:
        identity = await run_in_threadpool(registry.authenticate, request.headers.get("authorization"))
    except Unauthorized as exc:
        raise UploadError(403, f"{INVALID_AUTH} ({exc.detail})") from None
    if identity is None:
        raise UploadError(403, INVALID_AUTH)

    limit = registry.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MAX_TOTAL_FIELD_BYTES:
        raise UploadError(
            413, f"File too large: the limit is {limit} bytes; ask the registry admin to raise PACKYARD_MAX_UPLOAD_BYTES."
        )

    body = MultipartUpload(request.headers.get("content-type"), request.body_chunks())
    has_file = await body.seek_content()
    if _EARLY_FIELDS <= body.fields.keys():  # twine and uv send the form before the file
        _check_scope(identity, _validate_form(body.fields))
    if not has_file:
        await body.finish()
        _validate_form(body.fields)
        raise UploadError(400, "Upload payload does not have a file.")
    filename = body.filename or ""
    try:
        check_filename_characters(filename)
    except InvalidDistribution as exc:
        raise UploadError(400, str(exc)) from None
    if (body.file_content_type or "").startswith("image/"):
        raise UploadError(400, "Invalid distribution file.")

    staged = await registry.storage.stage(body.content(), limit)
    try:
        await body.finish()
        form = _validate_form(body.fields)
        _check_scope(identity, form)
        _check_digests(form, staged)
        await run_in_threadpool(_inspect_and_publish, registry, identity, form, filename, staged, request.client_addr)
    finally:
        registry.storage.discard(staged)  # a no-op once publishing moved the bytes into place


async def upload(registry: Registry, request: Request, send: Send) -> None:
    if request.method != "POST":
        await respond_text(send, 405, "Upload with POST (twine upload / uv publish).", [("allow", "POST")])
        return
    try:
        await _upload(registry, request)
    except (UploadError, PackyardError) as exc:
        headers: list[tuple[str, str]] = []
        if isinstance(exc, UploadError):
            status, message = exc.status, exc.message
        else:  # a FileConflict is 400 "File already exists", which twine and uv recognise
            status, message, headers = (400 if isinstance(exc, FileConflict) else exc.status_code), exc.detail, list(exc.headers)
        await _refuse(send, status, message, headers)
        return
    await respond(send, 200, b"", [("content-type", "text/plain; charset=utf-8")])
