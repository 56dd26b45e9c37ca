"""Pure parts of the RubyGems proxy: reading upstream's `/versions` as a feed, compacting merged
lines, and finding a release's checksum in upstream's `/info`."""

from __future__ import annotations

import base64
import hashlib

import pytest

from packyard_rubygems.upstream import info_lines, versions_feed
from packyard_rubygems.upstream.versions_feed import NotAVersionsFile, Position

BODY = (b"created_at: 2024-04-01T00:00:05Z\n---\n"
        b"rack 1.0.0,2.0.0 aaaa\n"
        b"rails 7.1.0 bbbb\n")


def test_full_body_position_ends_at_the_last_whole_line() -> None:
    position, lines = versions_feed.read_full(BODY + b"partial 1.0", '"e1"')
    assert lines == [b"rack 1.0.0,2.0.0 aaaa\n", b"rails 7.1.0 bbbb\n"]
    assert position == Position(b"created_at: 2024-04-01T00:00:05Z", len(BODY), b"rails 7.1.0 bbbb\n", '"e1"')
    assert BODY[position.tail_start():] == b"rails 7.1.0 bbbb\n"


def test_empty_body_keeps_the_separator_as_overlap() -> None:
    position, lines = versions_feed.read_full(b"created_at: 2024-04-01T00:00:05Z\n---\n")
    assert lines == [] and position.last_line == b"---\n"
    grown = b"created_at: 2024-04-01T00:00:05Z\n---\nnew 1.0 cccc\n"
    read = versions_feed.read_tail(position, grown[position.tail_start():])
    assert read is not None and read[1] == [b"new 1.0 cccc\n"]


@pytest.mark.parametrize("body", [b"", b"<html>", b"---\nrack 1.0 a\n", b"created_at: x\nmore\n---\n"])
def test_not_a_versions_file_is_refused(body: bytes) -> None:
    with pytest.raises(NotAVersionsFile):
        versions_feed.read_full(body)


def test_tail_must_start_with_the_last_line_read() -> None:
    position, _ = versions_feed.read_full(BODY)
    grown = BODY + b"rack -1.0.0 dddd\nrails 7.2.0 eeee\n"
    read = versions_feed.read_tail(position, grown[position.tail_start():], '"e2"')
    assert read is not None
    new_position, lines = read
    assert lines == [b"rack -1.0.0 dddd\n", b"rails 7.2.0 eeee\n"]
    assert new_position.size == len(grown) and new_position.last_line == b"rails 7.2.0 eeee\n"
    assert new_position.etag == '"e2"'
    assert versions_feed.read_tail(position, b"rack 1.0.0 zzzz\n") is None  # compacted: another body
    assert versions_feed.continues(position, grown)
    assert not versions_feed.continues(position, b"created_at: 2024-05-01T00:00:00Z\n---\nrack 2.0.0 dddd\n")


def test_keep_lines_drops_local_names_and_malformed_lines() -> None:
    lines = [b"Rack 1.0 aa\n", b"rails 7.1 bb\n", b"broken\n", b"x y z w\n"]
    assert versions_feed.keep_lines(lines, lambda name: name.lower() == "rack") == b"rails 7.1 bb\n"


def test_compacted_replays_like_bundler() -> None:
    lines = [b"rack 1.0,2.0 a1\n", b"mine 1.0 m1\n", b"rack -1.0 a2\n", b"rack 3.0 a3\n", b"gone 1.0 g1\n", b"gone -1.0 g2\n"]
    assert versions_feed.compacted(lines, lambda name: name != "mine") == {"rack": b"rack 2.0,3.0 a3\n"}


def test_candidate_names_split_where_a_version_can_start() -> None:
    assert info_lines.candidate_names("ruby-2fa-1.0.0") == ["ruby-2fa", "ruby"]
    assert info_lines.candidate_names("rack-1.0.0-x86_64-linux") == ["rack"]
    assert info_lines.candidate_names("noversion") == []


def test_find_release_reads_the_checksum_of_the_exact_entry() -> None:
    sha = hashlib.sha256(b"gem").hexdigest()
    b64 = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    body = (f"---\n1.0.0 |checksum:{sha}\n1.0.0-java dep:>= 0|checksum:{b64},ruby:>= 2.7\n"
            f"2.0.0 |checksum:short\n").encode()
    release = info_lines.find_release("g", body, "1.0.0")
    assert release is not None and release.sha256 == sha and release.full_name == "g-1.0.0"
    java = info_lines.find_release("g", body, "1.0.0-java")
    assert java is not None and java.sha256 == hashlib.sha256(b"other").hexdigest()
    assert (java.version, java.full_name) == ("1.0.0", "g-1.0.0-java")
    assert info_lines.find_release("g", body, "2.0.0") is None  # no usable checksum: never served
    assert info_lines.find_release("g", body, "3.0.0") is None
