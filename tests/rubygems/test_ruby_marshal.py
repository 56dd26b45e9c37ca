"""The Marshal 4.8 writer: Ruby must load our bytes and, dumping what it loaded, write
the very same bytes back."""

import datetime as dt
import json
import shutil
import subprocess

import pytest

from packyard_rubygems.formats.ruby_marshal import (
    RubyObject,
    RubyString,
    RubyTime,
    Symbol,
    UserDefined,
    UserMarshal,
    dumps,
    gem_version,
)

REDUMP = """
out = JSON.parse($stdin.read).map do |hex|
  obj = Marshal.load([hex].pack("H*"))
  [Marshal.dump(obj).unpack1("H*"), obj.inspect]
end
puts JSON.dump(out)
"""


def ruby_redump(blobs):
    exe = shutil.which("ruby")
    if exe is None:
        pytest.fail("ruby is required for the RubyGems format tests (apt-get install ruby)")
    out = subprocess.run([exe, "-rjson", "-rrubygems", "-e", REDUMP], input=json.dumps([b.hex() for b in blobs]),
                         capture_output=True, text=True, check=True).stdout
    return [(bytes.fromhex(h), inspect) for h, inspect in json.loads(out)]


INTS = [0, 1, -1, 4, 5, 122, 123, -123, -124, 255, 256, -255, -256, -257, 65535, 65536, 2**24, -(2**24),
        2**30 - 1, -(2**30), 2**30, -(2**30) - 1, 2**31, 2**62, -(2**64), 2**100 + 7]


def test_values_round_trip_byte_for_byte():
    shared = RubyString("shared")
    version = gem_version("1.0.0")
    cases = [
        None, True, False, *INTS,
        "", "abc", "ünïcode ✓", b"\x00\xffbinary", RubyString("ascii", "US-ASCII"),
        RubyString("latin", "ISO-8859-1"),
        Symbol("runtime"), [Symbol("a"), Symbol("b"), Symbol("a"), Symbol("ü")],
        [1, [2, [3, []]], {"k": [None]}],
        {"a": 1, "b": "two", Symbol("c"): [True, False]},
        ["abc", version, version, "abc"],  # the same Gem::Version twice: a link, not a copy
        [shared, "shared", shared],
        RubyObject("Gem::Platform", {"@cpu": "x86_64", "@os": "linux", "@version": None}),
        UserMarshal("Gem::Requirement", [[[">=", gem_version("0")], ["<", gem_version("2")]]]),
        RubyTime(dt.datetime(2024, 7, 9, tzinfo=dt.timezone.utc)),
        RubyTime(dt.datetime(2001, 12, 31, 23, 59, 58, 123456, tzinfo=dt.timezone.utc)),
        ["x" * 300, list(range(130))],
    ]
    blobs = [dumps(c) for c in cases]
    for case, blob, (redumped, inspect) in zip(cases, blobs, ruby_redump(blobs)):
        assert redumped == blob, (case, inspect)


def test_loaded_values_are_what_we_meant():
    version = gem_version("2.0.0.pre")
    blobs = [dumps(["abc", version, version]), dumps(2**100 + 7), dumps("ünï"),
             dumps(RubyString("a", "US-ASCII")), dumps(b"\xff")]
    inspects = [i for _, i in ruby_redump(blobs)]
    assert inspects[0] == '["abc", #<Gem::Version "2.0.0.pre">, #<Gem::Version "2.0.0.pre">]'
    assert inspects[1] == str(2**100 + 7)
    assert inspects[2] == '"ünï"'
    assert inspects[3] == '"a"'
    assert inspects[4] == '"\\xFF"'


def test_gem_version_bytes_are_rubys():
    assert dumps(gem_version("1.0.0")) == bytes.fromhex(
        "0408553a1147656d3a3a56657273696f6e5b0649220a312e302e30063a064554")


def test_user_defined_wraps_payload():
    payload = dumps([1])
    assert dumps(UserDefined("Foo", payload)) == b"\x04\x08u:\x08Foo" + bytes([len(payload) + 5]) + payload


def test_refuses_unknown_types():
    with pytest.raises(TypeError):
        dumps(1.5)
    with pytest.raises(TypeError):
        dumps(object())
