"""The simple pages' gzip variants: a client that takes gzip gets the root listings, and project
pages from 8 KiB, compressed when they were rendered; pip and uv install from them."""

from __future__ import annotations

import gzip

import httpx
import pytest

from tests.pypi.pypi_clients import Venv, http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.support.access_log import access_lines

JSON = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
MANY = 36  # versions of pky-many, a wheel each: a JSON page of ~14 KB and an HTML page of ~9 KB


@pytest.fixture(scope="module")
def published(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("dists")
    token = server.mint_token("pypi:package:*:write", user="zipper")
    for version in [f"1.{i}" for i in range(MANY)]:
        assert http_upload(server.url, token, build_wheel(out, "pky-many", version), "pky-many", version).status_code == 200
    assert http_upload(server.url, token, build_wheel(out, "pky-few", "1.0"), "pky-few", "1.0").status_code == 200


def raw_get(url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (httpx would decode a gzip body)."""
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("path", ["/pypi/simple/", "/pypi/simple/pky-many/"])
@pytest.mark.parametrize("accept", [PIP_ACCEPT, "text/html"])
def test_a_client_that_takes_gzip_gets_the_same_page_compressed(server, published, path, accept) -> None:
    plain, plain_body = raw_get(server.url + path, {"Accept": accept, "Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    for accept_encoding in ("gzip, deflate", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8, *;q=0.1"):
        zipped, body = raw_get(server.url + path, {"Accept": accept, "Accept-Encoding": accept_encoding})
        assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip", accept_encoding
        assert gzip.decompress(body) == plain_body
        assert int(zipped.headers["content-length"]) == len(body)
        if path != "/pypi/simple/":  # (two projects: a listing gzip hardly shortens)
            assert len(body) < len(plain_body) / 3
        assert zipped.headers["content-type"] == plain.headers["content-type"]
        assert zipped.headers["vary"] == plain.headers["vary"] == "Accept, Accept-Encoding"
        assert zipped.headers["etag"] != plain.headers["etag"]  # another representation
    # revalidation compares the ETag of the variant the request selects
    etag = zipped.headers["etag"]
    again = httpx.get(server.url + path, headers={"Accept": accept, "Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    other = httpx.get(server.url + path, headers={"Accept": accept, "Accept-Encoding": "identity", "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] == plain.headers["etag"]


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip;q=0", "x-gzip", "*", "deflate, br"])
def test_no_gzip_without_a_gzip_weight_above_zero(server, published, accept_encoding) -> None:
    answer, body = raw_get(server.url + "/pypi/simple/pky-many/", {"Accept": JSON, "Accept-Encoding": accept_encoding})
    assert answer.status_code == 200 and "content-encoding" not in answer.headers
    assert body.startswith(b'{"meta":')


def test_a_range_gets_the_plain_page(server, published) -> None:
    plain, plain_body = raw_get(server.url + "/pypi/simple/pky-many/", {"Accept": JSON, "Accept-Encoding": "identity"})
    ranged, body = raw_get(server.url + "/pypi/simple/pky-many/", {"Accept": JSON, "Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert body == plain_body[:100] and ranged.headers["etag"] == plain.headers["etag"]


def test_a_page_under_8_kib_has_no_gzip_variant(server, published) -> None:
    answer, body = raw_get(server.url + "/pypi/simple/pky-few/", {"Accept": JSON, "Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and "content-encoding" not in answer.headers
    assert len(body) < 8192 and answer.headers["vary"] == "Accept, Accept-Encoding"


@pytest.mark.parametrize("client", ["pip", "uv"])
def test_pip_and_uv_install_from_a_compressed_page(server, published, tmp_path, client) -> None:
    compressed = raw_get(server.url + "/pypi/simple/pky-many/", {"Accept": PIP_ACCEPT, "Accept-Encoding": "gzip"})[1]
    since = len(server.log())
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    install = venv.pip_install if client == "pip" else venv.uv_install
    result = install(f"{server.url}/pypi/simple/", f"pky-many==1.{MANY - 1}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("pky_many") == f"1.{MANY - 1}"
    pages = [line for line in access_lines(server, since) if line["path"] == "/pypi/simple/pky-many/"]
    assert pages and all(line["bytes"] == len(compressed) for line in pages), (pages, len(compressed))
