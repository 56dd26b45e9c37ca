"""PEP 691 content negotiation: the Accept x ?format= matrix."""

import pytest

from packyard_pypi.simple.negotiation import HTML_V1, JSON_V1, TEXT_HTML, NotAcceptable, select_media_type

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
UV_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TEXT_HTML),
        ("", TEXT_HTML),
        ("*/*", TEXT_HTML),
        ("text/html", TEXT_HTML),
        ("text/*", TEXT_HTML),
        (JSON_V1, JSON_V1),
        (HTML_V1, HTML_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
        ("application/vnd.pypi.simple.latest+html", HTML_V1),
        (PIP_ACCEPT, JSON_V1),
        (UV_ACCEPT, JSON_V1),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6", JSON_V1),
        ("text/html ; q=0.9 , application/vnd.pypi.simple.v1+json ; q=0.3", TEXT_HTML),
        ("application/vnd.pypi.simple.v1+json;q=0, */*", TEXT_HTML),
        ("application/*", HTML_V1),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", JSON_V1),
        ("image/png, */*;q=0.1", TEXT_HTML),
        ("text/html;q=bogus, application/vnd.pypi.simple.v1+json", JSON_V1),
    ],
)
def test_accept_header(accept, expected):
    assert select_media_type(accept) == expected


@pytest.mark.parametrize(
    "accept",
    ["image/png", "application/json", "text/html;q=0", "application/vnd.pypi.simple.v2+json", "text/plain, image/*"],
)
def test_nothing_acceptable(accept):
    with pytest.raises(NotAcceptable) as info:
        select_media_type(accept)
    assert "application/vnd.pypi.simple.v1+json" in str(info.value)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (JSON_V1, JSON_V1),
        (HTML_V1, HTML_V1),
        ("text/html", TEXT_HTML),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
    ],
)
@pytest.mark.parametrize("accept", [None, "text/html", PIP_ACCEPT, "image/png"])
def test_format_overrides_accept(fmt, expected, accept):
    assert select_media_type(accept, fmt) == expected


def test_unknown_format_is_not_acceptable():
    with pytest.raises(NotAcceptable, match="Unsupported format 'application/json'"):
        select_media_type(JSON_V1, "application/json")
