"""Malformed uploads: each a 4xx with a message a person can act on, and nothing left behind."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile

import httpx
import pytest

from tests.pypi.pypi_clients import api, http_upload, twine_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel, core_metadata

MAX_UPLOAD = 20_000


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    from tests.support.server import start_server

    running = start_server(tmp_path_factory.mktemp("server"), extra_env={"PACKYARD_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)})
    yield running
    running.stop()
    running.backend.drop()


@pytest.fixture(scope="module")
def token(small_server):
    return small_server.mint_token("admin", user="root")


@pytest.fixture(scope="module")
def existing(small_server, token, tmp_path_factory):
    """A project already holding one good file, which no bad upload may disturb."""
    out = tmp_path_factory.mktemp("good")
    wheel = build_wheel(out, "mal-good", "1.0")
    assert http_upload(small_server.url, token, wheel, "mal-good", "1.0").status_code == 200
    return wheel


def snapshot(server, token):
    return (
        server.stored_blobs(),
        api(server.url, token, "GET", "/packages/pypi/mal-good").json(),
        api(server.url, token, "GET", "/packages/pypi").json(),
        httpx.get(f"{server.url}/pypi/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).content,
    )


def _truncated(path):
    data = path.read_bytes()[:-200]
    return data, {"sha256_digest": hashlib.sha256(data).hexdigest(), "blake2_256_digest": None}


def case_truncated_wheel(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    data, fields = _truncated(wheel)
    return dict(path=wheel, name="mal-demo", version="1.0", content=data, **fields), 400, "not a readable zip archive"


def case_truncated_sdist(tmp):
    sdist = build_sdist(tmp, "mal-demo", "1.0")
    data, fields = _truncated(sdist)
    return dict(path=sdist, name="mal-demo", version="1.0", content=data, **fields), 400, "not a readable .tar.gz archive"


def case_wheel_without_metadata(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0", include_metadata=False)
    return dict(path=wheel, name="mal-demo", version="1.0"), 400, "does not contain the required METADATA file"


def case_form_name_differs_from_filename(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-other", version="1.0"), 400, "Start filename for 'mal-other' with 'mal_other'"


def case_metadata_name_differs(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0", metadata=core_metadata("evil-twin", "1.0"))
    return dict(path=wheel, name="mal-demo", version="1.0"), 400, "metadata names project 'evil-twin'"


def case_metadata_version_differs(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0", metadata=core_metadata("mal-demo", "1.5"))
    return dict(path=wheel, name="mal-demo", version="1.0"), 400, "metadata has version '1.5'"


def case_bad_version(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="one.oh!"), 400, "'one.oh!' is an invalid value for Version"


def case_local_version(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="1.0+local"), 400, "local versions"


def case_filename_version_differs(tmp):
    wheel = build_wheel(tmp, "mal-demo", "2.0")
    return dict(path=wheel, name="mal-demo", version="1.0"), 400, "Version in filename should be '1.0' not '2.0'"


def case_wrong_digest(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="1.0", sha256_digest="0" * 64), 400, "digest supplied does not match"


def case_path_traversal_filename(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="1.0", filename="../mal_demo-1.0-py3-none-any.whl"), 400, "'/' or '\\'"


def case_backslash_filename(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="1.0", filename="..\\mal_demo-1.0-py3-none-any.whl"), 400, "'/' or '\\'"


def case_not_a_distribution(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="mal-demo", version="1.0", filename="mal_demo-1.0.zip"), 400, "Invalid file extension"


def case_oversized_file(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0", module_code="DATA = " + repr(bytes(range(256)) * 200) + "\n")
    big = bytes(range(256)) * 100 + wheel.read_bytes()
    assert len(big) > MAX_UPLOAD
    fields = {"sha256_digest": hashlib.sha256(big).hexdigest(), "blake2_256_digest": None}
    return dict(path=wheel, name="mal-demo", version="1.0", content=big, **fields), 413, "File too large"


def case_missing_file_part(tmp):
    return None, 400, "Upload payload does not have a file."


def case_same_filename_other_bytes(tmp):
    other = build_wheel(tmp, "mal-good", "1.0", module_code="CHANGED = True\n")
    return dict(path=other, name="mal-good", version="1.0"), 400, "File already exists ('mal_good-1.0-py3-none-any.whl'"


def _tar_member(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def _hostile_sdist(tmp, *members):
    sdist = build_sdist(tmp, "mal-demo", "1.0", extra_members=members)
    return dict(path=sdist, name="mal-demo", version="1.0")


def case_sdist_symlink_leaving_the_archive(tmp):
    link = _tar_member("mal_demo-1.0/evil", tarfile.SYMTYPE, "../../../home/user/.bashrc")
    return _hostile_sdist(tmp, link), 400, "Archive member 'mal_demo-1.0/evil' is a symbolic link to '../../../home/user/.bashrc'"


def case_sdist_absolute_symlink(tmp):
    link = _tar_member("mal_demo-1.0/evil", tarfile.SYMTYPE, "/etc/passwd")
    return _hostile_sdist(tmp, link), 400, "is a symbolic link to '/etc/passwd', outside the archive"


def case_sdist_hard_link_leaving_the_archive(tmp):
    link = _tar_member("mal_demo-1.0/evil", tarfile.LNKTYPE, "../outside")
    return _hostile_sdist(tmp, link), 400, "is a hard link to '../outside', outside the archive"


def case_sdist_device_file(tmp):
    return _hostile_sdist(tmp, _tar_member("mal_demo-1.0/dev", tarfile.CHRTYPE)), 400, "'mal_demo-1.0/dev' is a device file"


def case_sdist_fifo(tmp):
    return _hostile_sdist(tmp, _tar_member("mal_demo-1.0/pipe", tarfile.FIFOTYPE)), 400, "'mal_demo-1.0/pipe' is a FIFO"


def case_sdist_absolute_member(tmp):
    return _hostile_sdist(tmp, _tar_member("/tmp/evil", tarfile.REGTYPE)), 400, "Archive member '/tmp/evil' has an unsafe path"


def case_sdist_dotdot_member(tmp):
    member = _tar_member("mal_demo-1.0/../../evil", tarfile.REGTYPE)
    return _hostile_sdist(tmp, member), 400, "Archive member 'mal_demo-1.0/../../evil' has an unsafe path"


def case_wheel_symlink_entry(tmp):
    link = zipfile.ZipInfo("mal_demo/evil.py", date_time=(2024, 1, 1, 0, 0, 0))
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    wheel = build_wheel(tmp, "mal-demo", "1.0", extra_entries=((link, b"/etc/passwd"),))
    return dict(path=wheel, name="mal-demo", version="1.0"), 400, "Wheel entry 'mal_demo/evil.py' is a symbolic link"


def case_overlong_name(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    return dict(path=wheel, name="a" * 1000, version="1.0"), 400, "The name is 1000 characters long; the limit is 100."


def case_overlong_version(tmp):
    wheel = build_wheel(tmp, "mal-demo", "1.0")
    version = "1." + "0" * 100
    return dict(path=wheel, name="mal-demo", version=version), 400, "The version is 102 characters long; the limit is 64."


CASES = [value for key, value in sorted(globals().items()) if key.startswith("case_")]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_malformed_upload_is_refused_and_leaves_nothing(small_server, token, existing, tmp_path, case):
    before = snapshot(small_server, token)
    kwargs, status, message = case(tmp_path)
    if kwargs is None:
        response = httpx.post(
            f"{small_server.url}/pypi/legacy/",
            data={":action": "file_upload", "protocol_version": "1", "name": "mal-demo", "version": "1.0",
                  "metadata_version": "2.1", "filetype": "sdist", "pyversion": "source", "sha256_digest": "0" * 64},
            files={"comment": (None, "a multipart body without a file part")},
            auth=("__token__", token),
        )
    else:
        response = http_upload(small_server.url, token, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.text
    assert message[:40] in response.reason_phrase  # twine prints the reason phrase
    assert snapshot(small_server, token) == before
    assert api(small_server.url, token, "GET", "/packages/pypi/mal-demo").status_code == 404
    assert not list(small_server.staging_dir().glob("*.part"))


def test_twine_shows_why_a_hostile_sdist_is_refused(small_server, token, tmp_path):
    link = _tar_member("mal_link-1.0/evil", tarfile.SYMTYPE, "../../etc/passwd")
    sdist = build_sdist(tmp_path, "mal-link", "1.0", extra_members=(link,))
    result = twine_upload(small_server.url, [sdist], tmp_path / "home", "__token__", token)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "400" in output and "is a symbolic link to '../../etc/passwd', outside the archive" in output
    assert api(small_server.url, token, "GET", "/packages/pypi/mal-link").status_code == 404


def test_twine_reports_an_oversized_file(small_server, token, tmp_path):
    wheel = build_wheel(tmp_path, "mal-big", "1.0", module_code="DATA = " + repr(bytes(range(256)) * 400) + "\n")
    assert wheel.stat().st_size > MAX_UPLOAD
    result = twine_upload(small_server.url, [wheel], tmp_path / "home", "__token__", token)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "413" in output and "File too large" in output
    assert api(small_server.url, token, "GET", "/packages/pypi/mal-big").status_code == 404
