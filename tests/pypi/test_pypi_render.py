"""Rendering of simple-API pages and the legacy JSON API from plain values."""

import json
from datetime import datetime, timezone
from html.parser import HTMLParser

from packyard_pypi.json_api import render as json_api
from packyard_pypi.simple import html_page as simple_html, json_page as simple_json
from packyard_pypi.simple.page_data import API_VERSION, FileLink, IndexEntry, IndexPage, ProjectPage

WHEN = datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=timezone.utc)
SHA = "a" * 64
META_SHA = "b" * 64


def _page(**overrides):
    files = [
        FileLink(
            filename="demo_pkg-1.0-py3-none-any.whl",
            url="../../files/demo-pkg/demo_pkg-1.0-py3-none-any.whl",
            sha256=SHA,
            size=1234,
            upload_time=WHEN,
            requires_python=">=3.8,<4",
            core_metadata_sha256=META_SHA,
        ),
        FileLink(
            filename="demo_pkg-0.9.tar.gz",
            url="../../files/demo-pkg/demo_pkg-0.9.tar.gz",
            sha256="c" * 64,
            size=99,
            upload_time=WHEN,
            yanked=True,
            yanked_reason='broken "quotes" & <tags>',
        ),
        FileLink(
            filename="demo_pkg-0.8.tar.gz",
            url="../../files/demo-pkg/demo_pkg-0.8.tar.gz",
            sha256="d" * 64,
            size=98,
            upload_time=WHEN,
            yanked=True,
        ),
    ]
    values = dict(
        name="Demo.Pkg", normalized_name="demo-pkg", files=files, versions=["0.8", "0.9", "1.0"], last_serial=42
    )
    values.update(overrides)
    return ProjectPage(**values)


class Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors, self.meta, self.texts = [], {}, []
        self._in_a = False

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))
            self._in_a = True
        if tag == "meta":
            attrs = dict(attrs)
            self.meta[attrs["name"]] = attrs["content"]

    def handle_endtag(self, tag):
        self._in_a = False if tag == "a" else self._in_a

    def handle_data(self, data):
        if self._in_a:
            self.texts.append(data)


def _parse(body: bytes) -> Anchors:
    parser = Anchors()
    parser.feed(body.decode("utf-8"))
    return parser


def test_html_project_page_attributes_are_escaped_and_never_bare():
    body = simple_html.render_project(_page())
    text = body.decode()
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in text
    assert 'data-yanked="broken &quot;quotes&quot; &amp; &lt;tags&gt;"' in text
    assert 'data-yanked=""' in text  # yanked without reason: an empty value, not a bare attribute
    assert "<!--SERIAL 42-->" in text
    parsed = _parse(body)
    assert parsed.meta["pypi:repository-version"] == API_VERSION == "1.4"
    assert parsed.meta["pypi:project-status"] == "active"
    wheel, yanked, yanked_no_reason = parsed.anchors
    assert parsed.texts == [f.filename for f in _page().files]
    assert wheel["href"].endswith(f"#sha256={SHA}")
    assert wheel["data-requires-python"] == ">=3.8,<4"
    assert wheel["data-core-metadata"] == wheel["data-dist-info-metadata"] == f"sha256={META_SHA}"
    assert "data-yanked" not in wheel
    assert yanked["data-yanked"] == 'broken "quotes" & <tags>'
    assert yanked_no_reason["data-yanked"] == ""
    assert "data-core-metadata" not in yanked


def test_html_project_status_reason():
    parsed = _parse(simple_html.render_project(_page(status="archived", status_reason="moved <elsewhere>")))
    assert parsed.meta["pypi:project-status"] == "archived"
    assert parsed.meta["pypi:project-status-reason"] == "moved <elsewhere>"


def test_html_index():
    page = IndexPage(projects=[IndexEntry("Foo<Bar>", "foo-bar", 3), IndexEntry("baz", "baz", 4)], last_serial=9)
    parsed = _parse(simple_html.render_index(page))
    assert [a["href"] for a in parsed.anchors] == ["foo-bar/", "baz/"]
    assert parsed.texts == ["Foo<Bar>", "baz"]
    assert parsed.meta["pypi:repository-version"] == "1.4"


def test_json_project_page():
    data = json.loads(simple_json.render_project(_page()))
    assert data["meta"] == {"api-version": "1.4", "_last-serial": 42}
    assert data["name"] == "demo-pkg"
    assert data["versions"] == ["0.8", "0.9", "1.0"]
    assert data["project-status"] == {"status": "active"}
    wheel, yanked, yanked_no_reason = data["files"]
    assert wheel == {
        "filename": "demo_pkg-1.0-py3-none-any.whl",
        "url": f"../../files/demo-pkg/demo_pkg-1.0-py3-none-any.whl#sha256={SHA}",
        "hashes": {"sha256": SHA},
        "requires-python": ">=3.8,<4",
        "core-metadata": {"sha256": META_SHA},
        "yanked": False,
        "size": 1234,
        "upload-time": "2024-05-06T07:08:09.120000Z",
    }
    assert "dist-info-metadata" not in json.dumps(data)
    assert yanked["yanked"] == 'broken "quotes" & <tags>'
    assert yanked_no_reason["yanked"] is True
    assert yanked["core-metadata"] is False
    assert "requires-python" not in yanked


def test_json_index():
    page = IndexPage(projects=[IndexEntry("Foo", "foo", 3)], last_serial=9)
    assert json.loads(simple_json.render_index(page)) == {
        "meta": {"api-version": "1.4", "_last-serial": 9},
        "projects": [{"name": "Foo", "_last-serial": 3}],
    }


def _release(version, yanked=False, reason=None, metadata=None):
    item = json_api.ReleaseFile(
        filename=f"demo-{version}.tar.gz",
        url=f"http://h/pypi/files/demo/demo-{version}.tar.gz",
        packagetype="sdist",
        python_version="source",
        md5="1" * 32,
        sha256="2" * 64,
        blake2b_256="3" * 64,
        size=10,
        upload_time=WHEN,
        requires_python=">=3.8",
        yanked=yanked,
        yanked_reason=reason,
        core_metadata_sha256=None,
    )
    return json_api.Release(version, [item], metadata or {"summary": f"v{version}"})


def test_latest_release_prefers_final_non_yanked():
    releases = [_release("1.0"), _release("2.0", yanked=True), _release("2.1rc1")]
    assert json_api.choose_latest(releases).version == "1.0"
    assert json_api.choose_latest([_release("2.1rc1"), _release("1.0", yanked=True)]).version == "2.1rc1"
    assert json_api.choose_latest([_release("1.0", yanked=True), _release("0.9", yanked=True)]).version == "1.0"


def test_json_api_project_shape():
    metadata = {
        "summary": "Demo",
        "keywords": ["a", "b"],
        "classifiers": ["Programming Language :: Python :: 3"],
        "project_urls": {"Source": "https://example.invalid/src"},
        "requires_dist": ["other>=1"],
        "requires_python": ">=3.8",
        "platforms": ["any", "linux"],
    }
    releases = [_release("1.0", metadata=metadata), _release("2.0", yanked=True, reason="bad")]
    body = json_api.render_project(
        "Demo", releases, 7, ["bob", "alice"], "http://h/pypi/simple/demo/", lambda v: f"http://h/pypi/pypi/demo/{v}/json"
    )
    data = json.loads(body)
    assert set(data) == {"info", "last_serial", "ownership", "releases", "urls", "vulnerabilities"}
    assert data["last_serial"] == 7 and data["vulnerabilities"] == []
    info = data["info"]
    assert info["name"] == "Demo" and info["version"] == "1.0"
    assert info["keywords"] == "a, b" and info["platform"] == "any"
    assert info["requires_dist"] == ["other>=1"] and info["provides_extra"] is None
    assert info["project_urls"] == {"Source": "https://example.invalid/src"}
    assert info["description"] == "" and info["bugtrack_url"] is None and info["yanked"] is False
    assert info["release_url"] == "http://h/pypi/pypi/demo/1.0/json"
    assert list(data["releases"]) == ["2.0", "1.0"]
    yanked_file = data["releases"]["2.0"][0]
    assert yanked_file["yanked"] is True and yanked_file["yanked_reason"] == "bad"
    (url,) = data["urls"]
    assert url["digests"] == {"md5": "1" * 32, "sha256": "2" * 64, "blake2b_256": "3" * 64}
    assert url["upload_time"] == "2024-05-06T07:08:09"
    assert url["upload_time_iso_8601"] == "2024-05-06T07:08:09.120000Z"
    assert url["packagetype"] == "sdist" and url["python_version"] == "source"
    assert url["requires_python"] == ">=3.8" and url["size"] == 10
    assert data["ownership"]["roles"] == [{"role": "Owner", "user": "alice"}, {"role": "Owner", "user": "bob"}]


def test_json_api_release_has_no_releases_key():
    release = _release("2.0", yanked=True, reason="bad")
    data = json.loads(json_api.render_release("Demo", release, 7, [], "p", "r"))
    assert "releases" not in data
    assert data["info"]["yanked"] is True and data["info"]["yanked_reason"] == "bad"
