"""Compact index bodies, byte for byte.

The expected MD5s below are the values rubygems' gem_server_conformance suite
expects from a server (it derives them from rubygems.org's compact_index
format), so matching them proves our bytes are identical.
"""

import base64
import datetime as dt
import hashlib

import pytest

from packyard_rubygems.index.compact_index import (
    InfoEntry,
    etag,
    format_created_at,
    info_body,
    info_checksum,
    info_line,
    legacy_digest,
    names_body,
    repr_digest,
    versions_body,
    versions_header,
    versions_line,
    yank_line,
)

SHA_A100 = "9bc2cb93a200173fcd556c6c674bb4cdbce9b284e5dea0be9c21ee801f38b821"
SHA_A001 = "a2bee9c1c6b2ab54a19c4d4644663eda25c2326bebe0eb9f9c097a2a11fd6203"
SHA_B = "4096fbca288dcf4b4cea8bbebdea5d10d6b3f4fd2ff3c13124852854d5d7d24b"
SHA_A020 = "6f2d3eb31a402d2be7c7d51d52e22ba9c86ca7b0641a3debfb3deadedc19301f"
SHA_A020_MINGW = "d2bb53926789434de893cf0a7a872bd887440f6e4edfec15626961d5431aad8a"
SHA_A020_JAVA = "63ed6f9d68ebfea869389a9227c8c041b9ed7a0ea68dbe37ee12aaa17406c524"
SHA_A030 = "896df5352ce069a200e283d04bf2cbadcc5f779de5a0bb31074a406b3642a8a3"
UTC = dt.timezone.utc


def test_line_with_and_without_dependencies():
    assert info_line(InfoEntry("1.0.0", SHA_A100)) == f"1.0.0 |checksum:{SHA_A100}"
    entry = InfoEntry("1.0.0.pre", SHA_B, dependencies=[("a", "< 1.0.0, >= 0.1.0")],
                      required_ruby_version=">= 2.0", required_rubygems_version=">= 2.0")
    assert info_line(entry) == f"1.0.0.pre a:< 1.0.0&>= 0.1.0|checksum:{SHA_B},ruby:>= 2.0,rubygems:>= 2.0"
    multi = InfoEntry("2.0.0", SHA_A100, platform="x86_64-linux",
                      dependencies=[("dep-a", ">= 0.1, < 2"), ("dep-b", ">= 0")],
                      required_ruby_version=">= 3.0, < 3.4.dev", required_rubygems_version="> 1.3.1")
    assert info_line(multi) == (f"2.0.0-x86_64-linux dep-a:< 2&>= 0.1,dep-b:>= 0|checksum:{SHA_A100},"
                                "ruby:< 3.4.dev&>= 3.0,rubygems:> 1.3.1")


def test_conformance_sequence_of_info_bodies_and_md5s():
    """Push a-1.0.0, yank it, push a-0.0.1 and b-1.0.0.pre, then three a-0.2.0 platforms,
    a-0.3.0, yank a-0.2.0: each /info body hashes to the value on the /versions line."""
    a = [InfoEntry("1.0.0", SHA_A100)]
    assert info_body(a) == f"---\n1.0.0 |checksum:{SHA_A100}\n".encode()
    assert info_checksum(info_body(a)) == "443730449deef440bd299e19554793f0"
    a = []
    assert info_body(a) == b"---\n"
    assert info_checksum(info_body(a)) == "6105347ebb9825ac754615ca55ff3b0c"
    a = [InfoEntry("0.0.1", SHA_A001)]
    assert info_checksum(info_body(a)) == "8ffe0a0dda27362c6f916d3941a5726e"
    b = [InfoEntry("1.0.0.pre", SHA_B, dependencies=[("a", "< 1.0.0, >= 0.1.0")],
                   required_ruby_version=">= 2.0", required_rubygems_version=">= 2.0")]
    assert info_checksum(info_body(b)) == "f0d229a9323895e2e1c85f496b5f10b5"
    a.append(InfoEntry("0.2.0", SHA_A020))
    assert info_checksum(info_body(a)) == "66fab29417d3142772e0f2467b92d684"
    a.append(InfoEntry("0.2.0", SHA_A020_MINGW, platform="x86-mingw32"))
    assert info_checksum(info_body(a)) == "fd6d38ccbc3556b4426c65fceed9c717"
    a.append(InfoEntry("0.2.0", SHA_A020_JAVA, platform="java"))
    assert info_checksum(info_body(a)) == "704774b40118bdb16676deee38a99030"
    a.append(InfoEntry("0.3.0", SHA_A030))
    assert info_checksum(info_body(a)) == "6d832e39a3fcc2e49f17db8023b3db31"
    a = [e for e in a if not (e.version == "0.2.0" and e.platform == "ruby")]
    assert info_checksum(info_body(a)) == "474751e9d427e559781d7e222b368085"


def test_versions_file_lines_and_rebuild():
    start = dt.datetime(1990, 1, 1, tzinfo=UTC)
    assert versions_header(start) == b"created_at: 1990-01-01T00:00:00Z\n---\n"
    assert versions_body(start, []) == b"created_at: 1990-01-01T00:00:00Z\n---\n"
    assert versions_line("a", ["1.0.0"], "443730449deef440bd299e19554793f0") == \
        b"a 1.0.0 443730449deef440bd299e19554793f0\n"
    assert yank_line("a", "1.0.0", "ruby", "6105347ebb9825ac754615ca55ff3b0c") == \
        b"a -1.0.0 6105347ebb9825ac754615ca55ff3b0c\n"
    assert yank_line("a", "0.2.0", "java", "x" * 32) == b"a -0.2.0-java " + b"x" * 32 + b"\n"
    rebuilt = versions_body(
        dt.datetime(1990, 1, 1, 1, 8, tzinfo=UTC),
        [("b", ["1.0.0.pre"], "f0d229a9323895e2e1c85f496b5f10b5"),
         ("a", ["0.0.1", "0.2.0", "0.2.0-x86-mingw32", "0.2.0-java"], "704774b40118bdb16676deee38a99030"),
         ("gone", [], "6105347ebb9825ac754615ca55ff3b0c")],
    )
    assert rebuilt == (
        b"created_at: 1990-01-01T01:08:00Z\n---\n"
        b"a 0.0.1,0.2.0,0.2.0-x86-mingw32,0.2.0-java 704774b40118bdb16676deee38a99030\n"
        b"b 1.0.0.pre f0d229a9323895e2e1c85f496b5f10b5\n"
    )
    with pytest.raises(ValueError):
        versions_line("a", [], "0" * 32)


def test_created_at_format_is_ruby_iso8601():
    assert format_created_at(dt.datetime(2024, 4, 1, 0, 0, 5, 123456, tzinfo=UTC)) == "2024-04-01T00:00:05Z"
    plus_one = dt.timezone(dt.timedelta(hours=1))
    assert format_created_at(dt.datetime(2024, 4, 1, 1, 0, 5, tzinfo=plus_one)) == "2024-04-01T01:00:05+01:00"
    with pytest.raises(ValueError):
        format_created_at(dt.datetime(2024, 4, 1))


def test_names_body():
    assert names_body([]) == b"---\n\n"
    assert names_body(["b", "a", "b", "Z"]) == b"---\nZ\na\nb\n"


def test_header_digests():
    body = b"---\na\n"
    assert etag(body) == '"' + hashlib.md5(body).hexdigest() + '"'
    b64 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert repr_digest(body) == f"sha-256=:{b64}:"
    assert legacy_digest(body) == f"sha-256={b64}"
