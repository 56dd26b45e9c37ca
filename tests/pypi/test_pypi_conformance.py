"""Wire conformance of the simple API, downloads and the JSON API against a real server."""

from __future__ import annotations

import hashlib
import json
import zipfile
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest

from tests.pypi.pypi_clients import api, http_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel, core_metadata

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"
UV_ACCEPT = f"{JSON_V1}, {HTML_V1};q=0.2, text/html;q=0.01"


@pytest.fixture(scope="module")
def env(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("dists")
    token = server.mint_token("admin", user="root")
    wheel = build_wheel(out, "Esc.Demo", "1.0", requires_python=">=3.8,<4")
    sdist = build_sdist(out, "Esc.Demo", "1.0", requires_python=">=3.8,<4")
    old = build_wheel(out, "Esc.Demo", "0.9")
    for path, version in ((wheel, "1.0"), (sdist, "1.0"), (old, "0.9")):
        response = http_upload(server.url, token, path, "Esc.Demo", version)
        assert response.status_code == 200, response.text
    response = api(server.url, token, "POST", "/packages/pypi/esc-demo/versions/0.9/yank", json={"reason": 'bad "quote" <b>'})
    assert response.status_code == 200, response.text
    return {"token": token, "wheel": wheel, "sdist": sdist, "old": old, "out": out}


def get(server, path, **headers):
    return httpx.get(f"{server.url}{path}", headers=headers, follow_redirects=False)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors = []
        self.meta = {}

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "meta":
            attrs = dict(attrs)
            self.meta[attrs["name"]] = attrs["content"]


def links(body: str) -> Links:
    parser = Links()
    parser.feed(body)
    return parser


# -- content negotiation -------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/pypi/simple/", "/pypi/simple/esc-demo/"])
@pytest.mark.parametrize(
    ("accept", "fmt", "expected"),
    [
        (None, None, "text/html"),
        ("*/*", None, "text/html"),
        ("text/html", None, "text/html"),
        (JSON_V1, None, JSON_V1),
        (HTML_V1, None, HTML_V1),
        (PIP_ACCEPT, None, JSON_V1),
        (UV_ACCEPT, None, JSON_V1),
        ("application/vnd.pypi.simple.latest+json", None, JSON_V1),
        ("application/vnd.pypi.simple.latest+html", None, HTML_V1),
        (f"text/html;q=0.2, {JSON_V1};q=0.9", None, JSON_V1),
        (None, JSON_V1, JSON_V1),
        (JSON_V1, "text/html", "text/html"),
        ("image/png", HTML_V1, HTML_V1),
        (PIP_ACCEPT, "application/vnd.pypi.simple.latest+json", JSON_V1),
    ],
)
def test_negotiation_matrix(server, env, page, accept, fmt, expected):
    headers = {"Accept": accept} if accept is not None else {}
    response = httpx.get(f"{server.url}{page}", headers=headers, params={"format": fmt} if fmt else None)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.headers["vary"] == "Accept, Accept-Encoding"
    if expected == JSON_V1:
        assert response.json()["meta"]["api-version"] == "1.4"
    else:
        assert links(response.text).meta["pypi:repository-version"] == "1.4"


@pytest.mark.parametrize(("accept", "fmt"), [("image/png", None), ("application/json", None), (None, "application/json")])
def test_not_acceptable(server, env, accept, fmt):
    headers = {"Accept": accept} if accept else {}
    response = httpx.get(f"{server.url}/pypi/simple/esc-demo/", headers=headers, params={"format": fmt} if fmt else None)
    assert response.status_code == 406
    assert JSON_V1 in response.text


# -- redirects and unknown names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/pypi/simple/Esc.Demo/", "/pypi/simple/esc-demo/"),
        ("/pypi/simple/ESC_demo/", "/pypi/simple/esc-demo/"),
        ("/pypi/simple/esc-demo", "/pypi/simple/esc-demo/"),
        ("/pypi/simple/Esc.Demo", "/pypi/simple/esc-demo/"),
        ("/pypi/simple", "/pypi/simple/"),
        ("/pypi/pypi/Esc.Demo/json", "/pypi/pypi/esc-demo/json"),
        ("/pypi/pypi/Esc.Demo/1.0/json", "/pypi/pypi/esc-demo/1.0/json"),
    ],
)
def test_redirects(server, env, path, location):
    response = get(server, path)
    assert response.status_code == 301
    assert response.headers["location"] == location


def test_redirect_keeps_the_format_query(server, env):
    response = httpx.get(f"{server.url}/pypi/simple/Esc.Demo/", params={"format": JSON_V1})
    assert response.status_code == 301
    assert response.headers["location"].endswith("/pypi/simple/esc-demo/?format=application%2Fvnd.pypi.simple.v1%2Bjson")


def test_unknown_project_is_404(server, env):
    assert get(server, "/pypi/simple/no-such-project/").status_code == 404
    response = get(server, "/pypi/pypi/no-such-project/json")
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}
    assert get(server, "/pypi/pypi/esc-demo/7.7/json").status_code == 404


# -- page contents --------------------------------------------------------------------------


def test_html_page_escaping_hashes_and_metadata(server, env):
    response = get(server, "/pypi/simple/esc-demo/")
    body = response.text
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in body
    assert 'data-yanked="bad &quot;quote&quot; &lt;b&gt;"' in body
    parsed = links(body)
    anchors = {a["href"].split("#")[0].rsplit("/", 1)[1]: a for a in parsed.anchors}
    wheel = anchors[env["wheel"].name]
    digest = hashlib.sha256(env["wheel"].read_bytes()).hexdigest()
    assert wheel["href"].endswith(f"#sha256={digest}")
    metadata = core_metadata("Esc.Demo", "1.0", requires_python=">=3.8,<4")
    expected = "sha256=" + hashlib.sha256(metadata).hexdigest()
    assert wheel["data-core-metadata"] == wheel["data-dist-info-metadata"] == expected
    assert "data-yanked" not in wheel
    assert anchors[env["old"].name]["data-yanked"] == 'bad "quote" <b>'
    assert "data-core-metadata" not in anchors[env["sdist"].name]
    assert parsed.meta["pypi:project-status"] == "active"
    assert f"<!--SERIAL {response.headers['x-pypi-last-serial']}-->" in body


def test_every_link_serves_the_bytes_its_hash_names(server, env):
    page_url = f"{server.url}/pypi/simple/esc-demo/"
    page = httpx.get(page_url, headers={"Accept": JSON_V1}).json()
    assert len(page["files"]) == 3
    for item in page["files"]:
        url = urljoin(page_url, item["url"])
        download = httpx.get(url)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == item["hashes"]["sha256"] == url.split("#sha256=")[1]
        assert len(download.content) == item["size"]
    for anchor in links(httpx.get(page_url).text).anchors:
        download = httpx.get(urljoin(page_url, anchor["href"]))
        assert hashlib.sha256(download.content).hexdigest() == anchor["href"].split("#sha256=")[1]


def test_json_page_fields(server, env):
    page = get(server, "/pypi/simple/esc-demo/", Accept=JSON_V1).json()
    assert page["meta"]["api-version"] == "1.4"
    assert isinstance(page["meta"]["_last-serial"], int)
    assert page["name"] == "esc-demo"
    assert sorted(page["versions"]) == ["0.9", "1.0"]
    files = {f["filename"]: f for f in page["files"]}
    wheel = files[env["wheel"].name]
    assert wheel["requires-python"] == ">=3.8,<4"
    assert wheel["yanked"] is False
    assert wheel["size"] == env["wheel"].stat().st_size
    assert len(wheel["upload-time"]) == len("2024-01-01T00:00:00.000000Z") and wheel["upload-time"].endswith("Z")
    assert set(wheel["core-metadata"]) == {"sha256"}
    assert files[env["old"].name]["yanked"] == 'bad "quote" <b>'
    assert files[env["sdist"].name]["core-metadata"] is False
    assert "dist-info-metadata" not in json.dumps(page)


def test_metadata_sidecar_bytes_and_hash(server, env):
    page_url = f"{server.url}/pypi/simple/esc-demo/"
    page = httpx.get(page_url, headers={"Accept": JSON_V1}).json()
    wheel = next(f for f in page["files"] if f["filename"] == env["wheel"].name)
    response = httpx.get(urljoin(page_url, wheel["url"].split("#")[0]) + ".metadata")
    assert response.status_code == 200
    with zipfile.ZipFile(env["wheel"]) as archive:
        inside = archive.read("esc_demo-1.0.dist-info/METADATA")
    assert response.content == inside
    assert hashlib.sha256(response.content).hexdigest() == wheel["core-metadata"]["sha256"]
    sdist = next(f for f in page["files"] if f["filename"] == env["sdist"].name)
    assert httpx.get(urljoin(page_url, sdist["url"].split("#")[0]) + ".metadata").status_code == 404


def test_index_lists_projects(server, env):
    page = get(server, "/pypi/simple/", Accept=JSON_V1).json()
    assert {"name": "Esc.Demo"} .items() <= next(p for p in page["projects"] if p["name"] == "Esc.Demo").items()
    assert page["meta"]["_last-serial"] >= 1
    html = links(get(server, "/pypi/simple/").text)
    assert {"href": "esc-demo/"} in html.anchors


# -- caching, serials, ETags ---------------------------------------------------------------


@pytest.mark.parametrize("accept", [JSON_V1, "text/html"])
@pytest.mark.parametrize("page", ["/pypi/simple/", "/pypi/simple/esc-demo/", "/pypi/pypi/esc-demo/json"])
def test_etag_and_304(server, env, page, accept):
    first = get(server, page, Accept=accept)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = get(server, page, Accept=accept, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert get(server, page, Accept=accept, **{"If-None-Match": '"other"'}).status_code == 200


def test_serials_increase_and_pages_change_on_every_write(server, env, tmp_path):
    def state():
        response = get(server, "/pypi/simple/esc-demo/", Accept=JSON_V1)
        return int(response.headers["x-pypi-last-serial"]), response.headers["etag"], response.json()

    root_serial = int(get(server, "/pypi/simple/").headers["x-pypi-last-serial"])
    serial, etag, _ = state()
    new = build_wheel(tmp_path, "Esc.Demo", "1.1")
    assert http_upload(server.url, env["token"], new, "Esc.Demo", "1.1").status_code == 200
    serial2, etag2, page2 = state()
    assert serial2 > serial and etag2 != etag
    assert new.name in {f["filename"] for f in page2["files"]}
    assert int(get(server, "/pypi/simple/").headers["x-pypi-last-serial"]) > root_serial
    json_api = get(server, "/pypi/pypi/esc-demo/json").json()
    assert json_api["info"]["version"] == "1.1" and json_api["last_serial"] == serial2

    assert api(server.url, env["token"], "POST", "/packages/pypi/esc-demo/versions/1.1/yank", json={}).status_code == 200
    serial3, etag3, page3 = state()
    assert serial3 > serial2 and etag3 != etag2
    assert next(f for f in page3["files"] if f["filename"] == new.name)["yanked"] is True
    assert get(server, "/pypi/pypi/esc-demo/json").json()["info"]["version"] == "1.0"  # latest non-yanked
    assert get(server, "/pypi/pypi/esc-demo/1.1/json").json()["info"]["yanked"] is True

    assert api(server.url, env["token"], "POST", "/packages/pypi/esc-demo/versions/1.1/unyank").status_code == 200
    serial4, _, page4 = state()
    assert serial4 > serial3
    assert next(f for f in page4["files"] if f["filename"] == new.name)["yanked"] is False


# -- downloads --------------------------------------------------------------------------------


def test_a_releases_json_follows_the_projects_serial_without_being_rewritten(server, env, tmp_path):
    """`/pypi/<p>/<v>/json` carries the project's latest serial (as PyPI's does), filled in when read:
    a publish of another version moves it without rewriting that release's stored document."""
    assert http_upload(server.url, env["token"], build_wheel(tmp_path, "serial-follow", "1.0"), "serial-follow", "1.0").status_code == 200
    before = get(server, "/pypi/pypi/serial-follow/1.0/json")
    stored = server.registry().documents.get("pypi", "pypi/serial-follow/1.0/json")
    assert before.json()["last_serial"] == int(before.headers["x-pypi-last-serial"]) == stored.serial

    assert http_upload(server.url, env["token"], build_wheel(tmp_path, "serial-follow", "1.1"), "serial-follow", "1.1").status_code == 200
    project = get(server, "/pypi/pypi/serial-follow/json").json()["last_serial"]
    after = get(server, "/pypi/pypi/serial-follow/1.0/json")
    assert after.json()["last_serial"] == int(after.headers["x-pypi-last-serial"]) == project > stored.serial
    assert after.headers["etag"] != before.headers["etag"]
    assert get(server, "/pypi/pypi/serial-follow/1.0/json", **{"If-None-Match": before.headers["etag"]}).status_code == 200
    assert get(server, "/pypi/pypi/serial-follow/1.0/json", **{"If-None-Match": after.headers["etag"]}).status_code == 304
    assert {k: v for k, v in after.json().items() if k != "last_serial"} == {k: v for k, v in before.json().items() if k != "last_serial"}
    assert server.registry().documents.get("pypi", "pypi/serial-follow/1.0/json").serial == stored.serial  # not rewritten


def _file_url(server, env):
    return f"{server.url}/pypi/files/esc-demo/{env['wheel'].name}"


def test_download_headers_and_head(server, env):
    data = env["wheel"].read_bytes()
    response = httpx.get(_file_url(server, env))
    assert response.content == data
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    head = httpx.head(_file_url(server, env))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert httpx.get(_file_url(server, env), headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    sdist = httpx.get(f"{server.url}/pypi/files/esc-demo/{env['sdist'].name}")
    assert sdist.headers["content-type"] == "application/gzip" and "content-encoding" not in sdist.headers


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=10-", 10, None), ("bytes=-22", -22, None), ("bytes=5-100000000", 5, None)],
)
def test_range_requests(server, env, header, start, end):
    data = env["wheel"].read_bytes()
    response = httpx.get(_file_url(server, env), headers={"Range": header})
    assert response.status_code == 206
    expected = data[start:] if end is None else data[start : end + 1]
    assert response.content == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_unsatisfiable_range(server, env):
    size = env["wheel"].stat().st_size
    response = httpx.get(_file_url(server, env), headers={"Range": f"bytes={size + 10}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_unknown_file_is_404(server, env):
    assert httpx.get(f"{server.url}/pypi/files/esc-demo/esc_demo-9.9.tar.gz").status_code == 404
    assert httpx.get(f"{server.url}/pypi/files/other/{env['wheel'].name}").status_code == 404


# -- legacy JSON API --------------------------------------------------------------------------


def test_json_api_shape(server, env):
    response = get(server, "/pypi/pypi/esc-demo/json")
    assert response.status_code == 200
    assert response.headers["x-pypi-last-serial"]
    data = response.json()
    assert {"info", "last_serial", "releases", "urls", "vulnerabilities"} <= set(data)
    assert data["vulnerabilities"] == []
    assert data["info"]["name"] == "Esc.Demo"
    for items in data["releases"].values():
        for item in items:
            assert {"digests", "size", "packagetype", "python_version", "requires_python", "upload_time",
                    "upload_time_iso_8601", "yanked", "yanked_reason", "url", "filename"} <= set(item)
            assert set(item["digests"]) == {"md5", "sha256", "blake2b_256"}
            download = httpx.get(item["url"])
            assert hashlib.sha256(download.content).hexdigest() == item["digests"]["sha256"]
            assert hashlib.md5(download.content).hexdigest() == item["digests"]["md5"]
    assert data["releases"]["0.9"][0]["yanked"] is True
    assert data["releases"]["0.9"][0]["yanked_reason"] == 'bad "quote" <b>'
    release = get(server, "/pypi/pypi/esc-demo/1.0/json").json()
    assert "releases" not in release and release["info"]["version"] == "1.0"
    assert release["info"]["requires_python"] == ">=3.8,<4"
    assert {u["filename"] for u in release["urls"]} == {env["wheel"].name, env["sdist"].name}


# -- project status (PEP 792) and private packages --------------------------------------------


def test_project_status(server, env, tmp_path):
    token = env["token"]
    wheel = build_wheel(tmp_path, "status-demo", "1.0")
    assert http_upload(server.url, token, wheel, "status-demo", "1.0").status_code == 200
    set_status = lambda status, reason=None: api(  # noqa: E731
        server.url, token, "PATCH", "/packages/pypi/status-demo", json={"status": status, "status_reason": reason}
    )
    assert set_status("archived", "moved to new-demo").status_code == 200
    page = get(server, "/pypi/simple/status-demo/", Accept=JSON_V1).json()
    assert page["project-status"] == {"status": "archived", "reason": "moved to new-demo"}
    assert len(page["files"]) == 1  # archived projects still offer their files
    html = links(get(server, "/pypi/simple/status-demo/").text)
    assert html.meta["pypi:project-status"] == "archived"
    assert html.meta["pypi:project-status-reason"] == "moved to new-demo"
    refused = http_upload(server.url, token, build_wheel(tmp_path, "status-demo", "1.1"), "status-demo", "1.1")
    assert refused.status_code == 403 and "archived" in refused.text

    assert set_status("quarantined", "under review").status_code == 200
    page = get(server, "/pypi/simple/status-demo/", Accept=JSON_V1).json()
    assert page["project-status"]["status"] == "quarantined" and page["files"] == []
    assert httpx.get(f"{server.url}/pypi/files/status-demo/{wheel.name}").status_code == 404
    assert get(server, "/pypi/pypi/status-demo/json").status_code == 404

    assert set_status("active").status_code == 200
    assert len(get(server, "/pypi/simple/status-demo/", Accept=JSON_V1).json()["files"]) == 1


def test_private_project_needs_a_read_scope(server, env, tmp_path):
    token = env["token"]
    wheel = build_wheel(tmp_path, "secret-demo", "1.0")
    assert http_upload(server.url, token, wheel, "secret-demo", "1.0").status_code == 200
    assert api(server.url, token, "PATCH", "/packages/pypi/secret-demo", json={"visibility": "private"}).status_code == 200
    paths = [
        "/pypi/simple/secret-demo/",
        f"/pypi/files/secret-demo/{wheel.name}",
        f"/pypi/files/secret-demo/{wheel.name}.metadata",
        "/pypi/pypi/secret-demo/json",
    ]
    reader = server.mint_token("pypi:package:secret-demo:read", user="reader", name="reader")
    stranger = server.mint_token("pypi:package:other:read", user="reader", name="stranger")
    for path in paths:
        anonymous = get(server, path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"] == 'Basic realm="packyard"'
        assert httpx.get(f"{server.url}{path}", auth=("__token__", "pky_wrong")).status_code == 401
        assert httpx.get(f"{server.url}{path}", auth=("__token__", stranger)).status_code == 403
        assert httpx.get(f"{server.url}{path}", auth=("__token__", reader)).status_code == 200, path
    listing = get(server, "/pypi/simple/", Accept=JSON_V1).json()
    assert "secret-demo" not in {p["name"] for p in listing["projects"]}
    mine = httpx.get(f"{server.url}/pypi/simple/", headers={"Accept": JSON_V1}, auth=("__token__", reader)).json()
    assert "secret-demo" in {p["name"] for p in mine["projects"]}
