"""Range and If-None-Match parsing shared by the adapters."""

from __future__ import annotations

import pytest

from packyard.http.serve import UNSATISFIABLE, etag_matches, parse_byte_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=90-200", (90, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes = 1 - 2", (1, 2)),
        ("bytes=100-", UNSATISFIABLE),
        ("bytes=5-1", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_parse_byte_range(header, expected):
    assert parse_byte_range(header, 100) == expected


def test_etag_matching_is_weak_and_tolerates_lists():
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches('"x", "abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert etag_matches("abc", '"abc"')  # bundler 2.5 sent it unquoted
    assert not etag_matches('"abd"', '"abc"')
    assert not etag_matches(None, '"abc"')
    assert not etag_matches("", '"abc"')
