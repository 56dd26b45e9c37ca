"""Legacy indexes and quick gemspecs: our bytes against the bytes Ruby itself writes."""

import gzip
import json
import subprocess
import zlib

import pytest

from packyard_rubygems.formats.gem_package import read_gem
from packyard_rubygems.index.legacy_index import (
    SpecsEntry,
    latest_entries,
    latest_specs_gz,
    prerelease_specs_gz,
    quick_gemspec_rz,
    ruby_gzip,
    sort_entries,
    specs_gz,
    specs_marshal,
)
from tests.rubygems.gemtools import GemSource, RubyEnv, build_gem, ruby_available


@pytest.fixture(scope="module")
def ruby_env(tmp_path_factory):
    if not ruby_available():
        pytest.fail("ruby, gem and bundle are required for the RubyGems tests (apt-get install ruby ruby-bundler)")
    return RubyEnv(tmp_path_factory.mktemp("ruby"))


# Gems written the way the conformance suite and `gem build` write them, with the
# fields that change the Marshal bytes (missing description/email/homepage, platforms,
# dependencies of both kinds, multi-line summaries, metadata, licenses).
BUILD = r"""
require "rubygems/package"
def mk(dir, name, version, platform: nil)
  spec = Gem::Specification.new do |s|
    s.name = name; s.version = version; s.authors = ["Conformance"]; s.summary = "Conformance test"
    s.files = []; s.date = "2024-07-09"; s.platform = platform if platform
  end
  yield spec if block_given?
  Dir.chdir(dir) { Gem::Package.build(spec) }
end
dir = ARGV[0]
mk(dir, "a", "1.0.0")
mk(dir, "a", "0.2.0", platform: "java")
mk(dir, "a", "0.2.0", platform: "x86-mingw32")
mk(dir, "a", "0.2.0", platform: "universal-darwin-20")
mk(dir, "b", "1.0.0.pre") do |s|
  s.add_runtime_dependency "a", "< 1.0.0", ">= 0.1.0"
  s.required_ruby_version = ">= 2.0"; s.required_rubygems_version = ">= 2.0"
end
mk(dir, "c", "2.0") do |s|
  s.email = ["x@example.invalid", "y@example.invalid"]; s.homepage = "https://example.invalid"
  s.description = "d\u00e9scription"; s.metadata = {"k" => "v", "source_code_uri" => "https://example.invalid/src"}
  s.licenses = ["MIT", "Apache-2.0"]; s.add_development_dependency "rake", "~> 13"
  s.add_dependency "a", "= 1.0.0"; s.add_dependency "b"
end
mk(dir, "d", "0.1") { |s| s.summary = "  A multi-\n  line\n\tsummary  "; s.email = "one@example.invalid" }
"""

RUBY_QUICK = """
$stdout.binmode
spec = Gem::Package.new(ARGV[0]).spec
spec.abbreviate
spec.sanitize
print Gem.deflate(Marshal.dump(spec))
"""


def _ruby(env, *args, stdin=None):
    return subprocess.run(["ruby", "-rrubygems/package", "-rjson", *args], input=stdin, capture_output=True,
                          env=env.env(), check=True).stdout


def _built_gems(ruby_env, tmp_path):
    _ruby(ruby_env, "-e", BUILD, str(tmp_path))
    sources = [
        GemSource("with-deps", "2.1.0.pre.1", runtime=[("dep-a", [">= 0.1", "< 2"])],
                  development=[("rake", ["~> 13.0"])], required_ruby_version=">= 2.7"),
        GemSource("native", "0.3", platform="x86_64-linux"),
    ]
    built = [build_gem(src, tmp_path, ruby_env.env()) for src in sources]
    return sorted(tmp_path.glob("*.gem")) + built


def test_quick_gemspec_bytes_equal_rubys(ruby_env, tmp_path):
    gems = _built_gems(ruby_env, tmp_path)
    assert len(gems) >= 9
    for path in gems:
        expected = _ruby(ruby_env, "-e", RUBY_QUICK, str(path))
        ours = quick_gemspec_rz(read_gem(str(path)))
        assert zlib.decompress(ours) == zlib.decompress(expected), path.name
        assert ours == expected, path.name


def test_quick_gemspec_loads_as_the_spec(ruby_env, tmp_path):
    gems = _built_gems(ruby_env, tmp_path)
    script = """
    spec = Marshal.load(Zlib::Inflate.inflate($stdin.binmode.read))
    print JSON.dump([spec.full_name, spec.original_name, spec.runtime_dependencies.map(&:to_s),
                     spec.required_ruby_version.to_s, spec.date.to_s])
    """
    for path in gems:
        spec = read_gem(str(path))
        got = json.loads(_ruby(ruby_env, "-rzlib", "-e", script, stdin=quick_gemspec_rz(spec)))
        assert got[:2] == [spec.full_name, spec.original_name]
        assert got[2] == [f"{n} ({r})" for n, r in spec.runtime_dependencies]
        assert got[3] == spec.required_ruby_version
        assert got[4] == "2024-07-09 00:00:00 UTC" or path.name.startswith(("with-deps", "native"))


ENTRIES = [
    SpecsEntry("b", "1.0.0.pre"),
    SpecsEntry("a", "0.10.0"),
    SpecsEntry("a", "0.2.0", "x86-mingw32"),
    SpecsEntry("a", "0.2.0"),
    SpecsEntry("a", "0.2.0", "java"),
    SpecsEntry("a", "0.9.0"),
    SpecsEntry("a", "1.0.0.rc1"),
    SpecsEntry("a", "0.3.0", "java"),
    SpecsEntry("c", "1.0"),
    SpecsEntry("c", "1.0", "x86_64-linux"),
]

# The rows exactly as Ruby builds them (Gem::Version.new memoizes equal strings, and a
# "ruby" platform is the one Gem::Platform::RUBY string), then Marshal + Zlib.gzip.
RUBY_SPECS = """
rows = JSON.parse($stdin.read).map do |name, number, platform|
  [name.dup, Gem::Version.new(number), platform == "ruby" ? Gem::Platform::RUBY : platform.dup]
end
$stdout.binmode
print Zlib.gzip(Marshal.dump(rows))
"""


def _rows(entries):
    return [[e.name, e.version, e.platform] for e in entries]


def test_ordering_and_selection():
    order = [(e.name, e.version, e.platform) for e in sort_entries(ENTRIES)]
    assert order == [
        ("a", "0.2.0", "x86-mingw32"), ("a", "0.2.0", "ruby"), ("a", "0.2.0", "java"), ("a", "0.3.0", "java"),
        ("a", "0.9.0", "ruby"), ("a", "0.10.0", "ruby"), ("a", "1.0.0.rc1", "ruby"), ("b", "1.0.0.pre", "ruby"),
        ("c", "1.0", "x86_64-linux"), ("c", "1.0", "ruby"),
    ]
    latest = sorted((e.name, e.version, e.platform) for e in latest_entries(ENTRIES))
    assert latest == [("a", "0.10.0", "ruby"), ("a", "0.2.0", "x86-mingw32"), ("a", "0.3.0", "java"),
                      ("c", "1.0", "ruby"), ("c", "1.0", "x86_64-linux")]


def test_specs_files_equal_rubys_bytes(ruby_env):
    releases = [e for e in ENTRIES if not e.prerelease]
    prereleases = [e for e in ENTRIES if e.prerelease]
    for ours, rows in [
        (specs_gz(ENTRIES), sort_entries(releases)),
        (prerelease_specs_gz(ENTRIES), sort_entries(prereleases)),
        (latest_specs_gz(ENTRIES), sort_entries(latest_entries(ENTRIES))),
        (specs_gz([]), []),
    ]:
        expected = _ruby(ruby_env, "-rzlib", "-e", RUBY_SPECS, stdin=json.dumps(_rows(rows)).encode())
        assert gzip.decompress(ours) == gzip.decompress(expected)
        # Identical gzip bytes, except that Ruby stamps the current time where we write 0.
        assert ours[:4] + ours[8:] == expected[:4] + expected[8:]
        assert ours[4:8] == b"\0\0\0\0"


def test_specs_load_in_ruby(ruby_env):
    script = "print JSON.dump(Marshal.load(Zlib.gunzip($stdin.binmode.read)).map { |n, v, p| [n, v.class.name, v.to_s, p] })"
    got = json.loads(_ruby(ruby_env, "-rzlib", "-e", script, stdin=specs_gz(ENTRIES)))
    assert got[:3] == [["a", "Gem::Version", "0.2.0", "x86-mingw32"], ["a", "Gem::Version", "0.2.0", "ruby"],
                       ["a", "Gem::Version", "0.2.0", "java"]]
    assert len(got) == 8


def test_marshal_of_empty_index():
    assert specs_marshal([]) == b"\x04\x08[\x00"
    assert gzip.decompress(ruby_gzip(b"abc")) == b"abc"
