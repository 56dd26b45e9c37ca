"""Reading .gem files: real `gem build` output compared with Ruby's own reader, and
every kind of malformed upload refused with a message a person can act on."""

import gzip
import hashlib
import json
import subprocess

import pytest
from tests.rubygems.gemtools import GemSource, RubyEnv, build_gem, gz, ruby_available, tar_bytes

from packyard_rubygems.formats.gem_package import InvalidGem, full_name, read_gem

VALID_YAML = """\
--- !ruby/object:Gem::Specification
name: {name}
version: !ruby/object:Gem::Version
  version: {version}
platform: ruby
authors:
- Ann
date: 2024-07-09 00:00:00.000000000 Z
dependencies: []
summary: Demo
specification_version: 4
rubygems_version: 3.3.15
"""


@pytest.fixture(scope="module")
def ruby_env(tmp_path_factory):
    if not ruby_available():
        pytest.fail("ruby, gem and bundle are required for the RubyGems tests (apt-get install ruby ruby-bundler)")
    return RubyEnv(tmp_path_factory.mktemp("ruby"))


SOURCES = [
    GemSource("plain", "1.0.0"),
    GemSource("with-deps", "2.1.0.pre.1", runtime=[("dep-a", [">= 0.1", "< 2"]), ("dep_b", ["~> 1.0"])],
              development=[("rake", ["~> 13.0"])], required_ruby_version=">= 2.7"),
    GemSource("native", "0.3", platform="x86_64-linux"),
    GemSource("uni", "1.0", summary="Ünïcode summary", extra='  s.email = ["a@example.invalid", "b@example.invalid"]'
              '\n  s.executables = []\n  s.required_rubygems_version = ">= 3.0"'),
]

RUBY_DUMP = """
spec = Gem::Package.new(ARGV[0]).spec
puts JSON.dump(
  name: spec.name, version: spec.version.to_s, platform: spec.platform.to_s,
  original_platform: spec.original_platform.to_s, full_name: spec.full_name, original_name: spec.original_name,
  authors: spec.authors, email: spec.email, summary: spec.summary, description: spec.description,
  homepage: spec.homepage, licenses: spec.licenses, metadata: spec.metadata,
  runtime: spec.runtime_dependencies.map { |d| [d.name, d.requirement.to_s] },
  development: spec.development_dependencies.map { |d| [d.name, d.requirement.to_s] },
  required_ruby_version: spec.required_ruby_version.to_s,
  required_rubygems_version: spec.required_rubygems_version.to_s,
  date: spec.date.utc.strftime("%Y-%m-%d"), files: spec.files, prerelease: spec.version.prerelease?)
"""


@pytest.mark.parametrize("src", SOURCES, ids=lambda s: s.full_name)
def test_reads_what_ruby_reads(src, ruby_env, tmp_path):
    path = build_gem(src, tmp_path, ruby_env.env())
    want = json.loads(ruby_env.run(["ruby", "-rjson", "-rrubygems/package", "-e", RUBY_DUMP, str(path)]).stdout)
    spec = read_gem(str(path))
    got = {
        "name": spec.name, "version": spec.version, "platform": spec.platform,
        "original_platform": spec.original_platform, "full_name": spec.full_name,
        "original_name": spec.original_name, "authors": spec.authors, "email": spec.email,
        "summary": spec.summary, "description": spec.description, "homepage": spec.homepage,
        "licenses": spec.licenses, "metadata": spec.metadata,
        "runtime": [list(d) for d in spec.runtime_dependencies],
        "development": [list(d) for d in spec.development_dependencies],
        "required_ruby_version": spec.required_ruby_version,
        "required_rubygems_version": spec.required_rubygems_version,
        "date": spec.date.strftime("%Y-%m-%d"), "files": spec.files, "prerelease": spec.prerelease,
    }
    assert got == want


def test_full_name():
    assert full_name("a", "1.0") == "a-1.0"
    assert full_name("a", "1.0", "ruby") == "a-1.0"
    assert full_name("a", "1.0", "x86_64-linux") == "a-1.0-x86_64-linux"


# -- malformed uploads --------------------------------------------------------

def craft_gem(path, yaml_text, *, checksums=True, tamper=False, members=None):
    """A .gem made by hand, so each part can be broken on purpose."""
    metadata = gz(yaml_text.encode() if isinstance(yaml_text, str) else yaml_text)
    data = gz(tar_bytes({}))
    parts = {"metadata.gz": metadata, "data.tar.gz": data}
    if checksums:
        sums = {n: hashlib.sha256(b).hexdigest() for n, b in parts.items()}
        if tamper:
            sums["data.tar.gz"] = "0" * 64
        text = "---\nSHA256:\n" + "".join(f"  {n}: {h}\n" for n, h in sums.items())
        parts["checksums.yaml.gz"] = gz(text.encode())
    if members is not None:
        parts = members(parts)
    path.write_bytes(tar_bytes(parts))
    return str(path)


def test_crafted_valid_gem_is_accepted(tmp_path):
    spec = read_gem(craft_gem(tmp_path / "ok.gem", VALID_YAML.format(name="ok", version="'1.0'")))
    assert (spec.name, spec.version, spec.platform) == ("ok", "1.0", "ruby")


def _refused(tmp_path, match, **kwargs):
    yaml_text = kwargs.pop("yaml_text", VALID_YAML.format(name="demo", version="'1.0'"))
    limit = kwargs.pop("limit", None)
    path = craft_gem(tmp_path / "bad.gem", yaml_text, **kwargs)
    with pytest.raises(InvalidGem, match=match):
        read_gem(path, **({"max_metadata_bytes": limit} if limit else {}))


def test_not_a_tar(tmp_path):
    for body in (b"", b"hello world", gzip.compress(b"x" * 1000)):
        (tmp_path / "x.gem").write_bytes(body)
        with pytest.raises(InvalidGem, match="not a valid .gem file"):
            read_gem(str(tmp_path / "x.gem"))


def test_missing_metadata(tmp_path):
    _refused(tmp_path, "no metadata.gz", members=lambda p: {k: v for k, v in p.items() if k != "metadata.gz"},
             checksums=False)


def test_missing_data(tmp_path):
    _refused(tmp_path, "no data.tar.gz", members=lambda p: {k: v for k, v in p.items() if k != "data.tar.gz"},
             checksums=False)


def test_bad_gzip(tmp_path):
    _refused(tmp_path, "not gzip", members=lambda p: {**p, "metadata.gz": b"plain text"}, checksums=False)
    _refused(tmp_path, "corrupt gzip|truncated",
             members=lambda p: {**p, "metadata.gz": p["metadata.gz"][:-12]}, checksums=False)


def test_bad_yaml_unknown_tag_and_alias(tmp_path):
    _refused(tmp_path, "not valid YAML", yaml_text="--- !ruby/object:Gem::Specification\nname: [x\n")
    _refused(tmp_path, "!ruby/object:Gem::Installer",
             yaml_text="--- !ruby/object:Gem::Installer\nname: x\n")
    _refused(tmp_path, "anchors are not allowed",
             yaml_text=VALID_YAML.format(name="demo", version="'1.0'") + "licenses: &a [x]\nfiles: *a\n")
    _refused(tmp_path, "not a gem specification", yaml_text="--- {name: demo}\n")


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "-lead", ".dot", "_x", "123", "a b", "ä", "a:b", ""])
def test_invalid_names(tmp_path, name):
    _refused(tmp_path, "invalid gem name|no name", yaml_text=VALID_YAML.format(name=json.dumps(name), version="'1.0'"))


@pytest.mark.parametrize("version", ["'1..0'", "'1.0-'", "'abc'", "''", "'1.0-rc1'", "' 1.0'"])
def test_invalid_versions(tmp_path, version):
    _refused(tmp_path, "invalid version|malformed version", yaml_text=VALID_YAML.format(name="demo", version=version))


def test_checksum_mismatch(tmp_path):
    _refused(tmp_path, "SHA256 checksum mismatch for data.tar.gz", tamper=True)


def test_oversized_metadata(tmp_path):
    big = VALID_YAML.format(name="demo", version="'1.0'") + "description: " + "x" * 5000 + "\n"
    _refused(tmp_path, "limit is 1000 bytes", yaml_text=big, limit=1000)


def test_ruby_agrees_the_crafted_gem_is_valid(tmp_path, ruby_env):
    """Our hand-made container is one Ruby reads, so the refusals above test the right thing."""
    path = craft_gem(tmp_path / "ok.gem", VALID_YAML.format(name="ok", version="'1.0'"))
    out = subprocess.run(["ruby", "-rrubygems/package", "-e", "s = Gem::Package.new(ARGV[0]); s.verify; print s.spec.full_name", path],
                         capture_output=True, text=True, env=ruby_env.env(), check=True).stdout
    assert out == "ok-1.0"


def test_platform_normalized_as_ruby_does(tmp_path, ruby_env):
    """A gem whose YAML keeps an odd platform spelling: full_name uses Gem::Platform's form."""
    text = VALID_YAML.format(name="odd", version="'1.0'").replace("platform: ruby", "platform: i686-linux-gnu")
    path = craft_gem(tmp_path / "odd.gem", text)
    out = subprocess.run(["ruby", "-rrubygems/package", "-e",
                          "s = Gem::Package.new(ARGV[0]).spec; print [s.full_name, s.original_name].join(' ')", path],
                         capture_output=True, text=True, env=ruby_env.env(), check=True).stdout
    spec = read_gem(path)
    assert f"{spec.full_name} {spec.original_name}" == out == "odd-1.0-x86-linux odd-1.0-i686-linux-gnu"


def test_dependency_with_unexpected_value_is_refused(tmp_path):
    dep = ("dependencies:\n- !ruby/object:Gem::Dependency\n  name: x\n  requirement: !ruby/object:Gem::Requirement\n"
           "    requirements:\n    - - '>='\n      - !ruby/object:Gem::Version\n        version: '0'\n"
           "  type: :runtime\n  prerelease: 1.5\n")
    text = VALID_YAML.format(name="demo", version="'1.0'").replace("dependencies: []\n", dep)
    _refused(tmp_path, "invalid value for prerelease", yaml_text=text)
