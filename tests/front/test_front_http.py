"""The nginx front answers public reads from disk exactly as the app would, header by header, and
sends everything else to the app."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel
from tests.rubygems.conftest import push
from tests.rubygems.gemtools import craft_gem

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
UV_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
COMPARED = ("content-type", "content-encoding", "etag", "cache-control", "vary", "accept-ranges", "content-range", "content-length",
            "digest", "repr-digest")
WHEEL = "front_demo-1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def published(front, tmp_path_factory):
    """A public project (wheel + sdist), one whose pages have gzip variants (36 wheels), and a public gem."""
    out = tmp_path_factory.mktemp("dists")
    token = front.app.mint_token("pypi:package:*:write", "rubygems:gem:*:write", user="frontier")
    for path in (build_wheel(out, "front-demo", "1.0"), build_sdist(out, "front-demo", "1.0")):
        assert http_upload(front.app.url, token, path, "front-demo", "1.0").status_code == 200
    for version in [f"1.{i}" for i in range(36)]:
        assert http_upload(front.app.url, token, build_wheel(out, "front-many", version), "front-many", version).status_code == 200
    assert push(front.app.url, token, craft_gem("frontgem", "1.0.0")).status_code == 200
    return token


def both(front, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """The same request to the app and through nginx."""
    direct = httpx.request(method, front.app.url + path, headers=headers or {})
    proxied = httpx.request(method, front.url + path, headers=headers or {})
    return direct, proxied


def assert_same_answer(direct: httpx.Response, proxied: httpx.Response) -> None:
    assert proxied.status_code == direct.status_code, (proxied.status_code, direct.status_code, proxied.text)
    for name in COMPARED:
        if direct.status_code == 304 and name in ("content-type", "content-encoding", "content-length"):
            continue
        assert proxied.headers.get(name) == direct.headers.get(name), (name, dict(proxied.headers), dict(direct.headers))
    assert proxied.content == direct.content


def served_by_nginx(front, method: str, path: str) -> bool:
    answered = front.nginx.answered_itself(method, path)
    assert answered, f"nginx did not log {method} {path}"
    return answered[-1]


# httpx sends `Accept-Encoding: gzip, deflate`: the root listings and front-many's pages come gzipped
PUBLIC_READS = [
    ("/pypi/simple/", {"Accept": PIP_ACCEPT}),
    ("/pypi/simple/", {"Accept": BROWSER_ACCEPT}),
    ("/pypi/simple/", {"Accept": PIP_ACCEPT, "Accept-Encoding": "identity"}),
    ("/pypi/simple/front-many/", {"Accept": PIP_ACCEPT}),
    ("/pypi/simple/front-many/", {"Accept": BROWSER_ACCEPT}),
    ("/pypi/simple/front-many/", {"Accept": PIP_ACCEPT, "Accept-Encoding": "br;q=1.0, gzip;q=0.8, *;q=0.1"}),
    ("/pypi/simple/front-many/", {"Accept": PIP_ACCEPT, "Accept-Encoding": "identity"}),
    ("/pypi/simple/front-many/", {"Accept": PIP_ACCEPT, "Accept-Encoding": "gzip;q=0"}),
    ("/pypi/simple/front-demo/", {"Accept": PIP_ACCEPT}),
    ("/pypi/simple/front-demo/", {"Accept": UV_ACCEPT}),
    ("/pypi/simple/front-demo/", {"Accept": "application/vnd.pypi.simple.v1+json"}),
    ("/pypi/simple/front-demo/", {"Accept": BROWSER_ACCEPT}),
    ("/pypi/simple/front-demo/", {"Accept": "*/*"}),
    ("/pypi/simple/front-demo/", {}),
    (f"/pypi/files/front-demo/{WHEEL}", {}),
    (f"/pypi/files/front-demo/{WHEEL}", {"Range": "bytes=10-99"}),
    ("/pypi/files/front-demo/front_demo-1.0.tar.gz", {}),
    (f"/pypi/files/front-demo/{WHEEL}.metadata", {}),
    ("/rubygems/versions", {}),
    ("/rubygems/versions", {"Range": "bytes=20-"}),
    ("/rubygems/names", {}),
    ("/rubygems/info/frontgem", {}),
    ("/rubygems/specs.4.8.gz", {}),
    ("/rubygems/latest_specs.4.8.gz", {}),
    ("/rubygems/prerelease_specs.4.8.gz", {}),
    ("/rubygems/quick/Marshal.4.8/frontgem-1.0.0.gemspec.rz", {}),
    ("/rubygems/gems/frontgem-1.0.0.gem", {}),
    ("/rubygems/gems/frontgem-1.0.0.gem", {"Range": "bytes=0-511"}),
]


@pytest.mark.parametrize(("path", "headers"), PUBLIC_READS, ids=[f"{p} {h}" for p, h in PUBLIC_READS])
def test_public_reads_come_from_disk_with_the_apps_headers(front, published, path, headers) -> None:
    direct, proxied = both(front, path, headers)
    assert direct.status_code in (200, 206)
    assert_same_answer(direct, proxied)
    assert served_by_nginx(front, "GET", path)
    takes_gzip = headers.get("Accept-Encoding", "gzip, deflate") not in ("identity", "gzip;q=0")  # httpx's default
    gzipped = takes_gzip and path in ("/pypi/simple/", "/pypi/simple/front-many/")
    assert proxied.headers.get("content-encoding") == ("gzip" if gzipped else None)
    head_direct, head_proxied = both(front, path, headers, method="HEAD")
    assert_same_answer(head_direct, head_proxied)


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/pypi/simple/front-demo/", PIP_ACCEPT),
        ("/pypi/simple/front-demo/", "text/html"),
        ("/pypi/simple/front-many/", PIP_ACCEPT),
        ("/pypi/simple/", PIP_ACCEPT),
        (f"/pypi/files/front-demo/{WHEEL}", None),
        (f"/pypi/files/front-demo/{WHEEL}.metadata", None),
        ("/rubygems/versions", None),
        ("/rubygems/info/frontgem", None),
        ("/rubygems/gems/frontgem-1.0.0.gem", None),
    ],
)
def test_revalidation_answers_304_with_the_apps_etag(front, published, path, accept) -> None:
    accept_header = {"Accept": accept} if accept else {}
    etag = httpx.get(front.app.url + path, headers=accept_header).headers["etag"]
    for validator in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        direct, proxied = both(front, path, {**accept_header, "If-None-Match": validator})
        assert direct.status_code == 304
        assert_same_answer(direct, proxied)
        assert served_by_nginx(front, "GET", path)
    stale = httpx.get(front.url + path, headers={**accept_header, "If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag


def test_nginx_never_sends_its_own_etag_or_last_modified(front, published) -> None:
    versions = httpx.get(front.url + "/rubygems/versions")
    assert versions.headers["etag"] == '"' + hashlib.md5(versions.content).hexdigest() + '"'  # bundler 2.3 checks it
    assert "last-modified" not in versions.headers


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/pypi/simple/front-demo/?format=application/vnd.pypi.simple.v1+json", {}),
        ("/pypi/simple/front-demo/", {"Accept": "application/vnd.pypi.simple.v1+html"}),
        ("/pypi/simple/front-demo/", {"Accept": "application/json"}),  # 406, with the app's message
        ("/pypi/simple/front-demo/", {"Accept": "application/vnd.pypi.simple.v1+json, text/html"}),  # a tie: HTML
        ("/pypi/simple/Front_Demo/", {}),  # not normalized: the app redirects
        ("/pypi/simple/front-demo", {}),
        ("/rubygems/versions", {"Range": "bytes=100000-"}),  # past the end: the full body with 200
        ("/rubygems/versions", {"Range": "bytes=0-"}),  # the whole body: 200
        ("/rubygems/versions", {"Range": "bytes=-5"}),
        ("/pypi/simple/front-demo/", {"Accept": PIP_ACCEPT, "Range": "bytes=5-20"}),  # no client asks: the app
        (f"/pypi/files/front-demo/{WHEEL}", {"Range": "bytes=100000-"}),  # PyPI: 416
        (f"/pypi/files/front-demo/{WHEEL}", {"Range": "bytes=0-10, 20-30"}),  # several ranges: the whole file
        ("/pypi/simple/front-demo/", {"Accept": PIP_ACCEPT, "Authorization": "Bearer not-a-token"}),
        ("/rubygems/info/frontgem", {"Authorization": "not-a-token"}),
        ("/pypi/simple/nothing-here/", {"Accept": PIP_ACCEPT}),
        ("/rubygems/info/nothing-here", {}),
        # the front's prefix locations: what is not a document's own URL has no file there
        ("/pypi/simple/front-demo/index.json", {"Accept": PIP_ACCEPT}),
        ("/pypi/simple/front-demo/index.html", {}),
        (f"/pypi/files/front-demo/extra/{WHEEL}", {}),
        ("/rubygems/info/frontgem/extra", {}),
    ],
)
def test_the_app_answers_what_nginx_cannot(front, published, path, headers) -> None:
    direct, proxied = both(front, path, headers)
    assert_same_answer(direct, proxied)
    assert front.nginx.answered_itself("GET", path)[-1] is False


def test_the_app_builds_its_links_for_the_front(front, published) -> None:
    """nginx passes the client's Host on, so absolute URLs the app writes point at the front."""
    document = httpx.get(front.url + "/pypi/pypi/front-demo/json").json()
    assert document["urls"] and all(url["url"].startswith(front.url + "/pypi/files/") for url in document["urls"])
    assert front.nginx.answered_itself("GET", "/pypi/pypi/front-demo/json") == [False]


def test_writes_go_to_the_app(front, published, tmp_path) -> None:
    wheel = build_wheel(tmp_path, "front-demo", "2.0")
    response = http_upload(front.url, published, wheel, "front-demo", "2.0")
    assert response.status_code == 200, response.text
    assert front.nginx.answered_itself("POST", "/pypi/legacy/") == [False]
    refused = http_upload(front.url, None, wheel, "front-demo", "2.1")
    assert refused.status_code == 403
    assert "Upload with a packyard token" in refused.reason_phrase  # twine shows only the status line


def test_nginx_follows_a_changed_document_with_its_new_etag(front, published) -> None:
    """Each nginx worker keeps the ETags (and body sizes) it read; a push that changes /versions and
    /info must show at once, with the MD5 of the new body, the old ETag must no longer earn a 304,
    and bundler's Range for the appended tail must be answered by nginx from the new size."""
    paths = ("/rubygems/versions", "/rubygems/info/follower")
    assert push(front.app.url, published, craft_gem("follower", "1.0.0")).status_code == 200
    before = {path: httpx.get(front.url + path) for path in paths}
    assert all(answer.status_code == 200 for answer in before.values())
    for path in paths:  # a Range makes nginx keep the body's size
        assert httpx.get(front.url + path, headers={"Range": "bytes=1-"}).status_code == 206
    assert push(front.app.url, published, craft_gem("follower", "1.0.1")).status_code == 200
    for path in paths:
        after = httpx.get(front.url + path)
        assert after.status_code == 200
        assert after.headers["etag"] == f'"{hashlib.md5(after.content).hexdigest()}"'
        assert after.headers["etag"] != before[path].headers["etag"]
        assert b"1.0.1" in after.content
        stale = httpx.get(front.url + path, headers={"If-None-Match": before[path].headers["etag"]})
        assert stale.status_code == 200 and stale.content == after.content
        assert served_by_nginx(front, "GET", path)
        tail = httpx.get(front.url + path, headers={"Range": f"bytes={len(before[path].content)}-"})
        assert tail.status_code == 206 and tail.content == after.content[len(before[path].content):]
        assert tail.headers["etag"] == after.headers["etag"]
        assert served_by_nginx(front, "GET", path)
